//! Parser, includes, aliases, legacy options and error messages.

use std::fs;
use std::path::{Path, PathBuf};

use kc_configs::{schemas, Config, ConfigError, ListenAddr};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&p, text).unwrap();
    p
}

fn server(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/kopano/server.cfg"), schemas::server())
}

#[test]
fn key_value_syntax_comments_and_blank_lines() {
    let cfg = server(
        "# comment\n\n   # indented comment\nserver_name=node1\nserver_hostname   =   mail.example.com   \r\nlocal_admin_users = root  kopano apache \t\nproxy_header = # not a comment\n",
    )
    .unwrap();
    assert_eq!(cfg.str("server_name"), "node1");
    assert_eq!(cfg.str("server_hostname"), "mail.example.com");
    assert_eq!(cfg.str("local_admin_users"), "root  kopano apache");
    assert_eq!(cfg.str("proxy_header"), "# not a comment");
    assert_eq!(
        cfg.origin("server_hostname").unwrap().to_string(),
        "/etc/kopano/server.cfg:5"
    );
}

#[test]
fn later_assignment_wins_and_keeps_its_origin() {
    let cfg = server("server_name = a\nserver_name = b\n").unwrap();
    assert_eq!(cfg.str("server_name"), "b");
    assert_eq!(cfg.origin("server_name").unwrap().line, 2);
    assert!(cfg.is_set("server_name"));
    assert!(!cfg.is_set("server_hostname"));
    assert_eq!(cfg.origin("server_hostname"), None);
}

#[test]
fn empty_value_and_defaults() {
    let cfg = server("server_listen_tls =\n").unwrap();
    assert!(cfg.listen("server_listen_tls").is_empty());
    assert_eq!(cfg.opt_str("server_listen_tls"), None);
    assert_eq!(cfg.str("server_listen"), "*:236");
    assert_eq!(
        cfg.listen("server_listen"),
        vec![ListenAddr::Tcp {
            host: None,
            port: 236,
            iface: None
        }]
    );
    assert_eq!(cfg.str("server_pipe_name"), "/var/run/kopano/server.sock");
}

#[test]
fn syntax_error_without_equals() {
    let e = server("server_name = a\nthis line has no equals sign\n").unwrap_err();
    assert!(matches!(e, ConfigError::Syntax { line: 2, .. }));
    assert_eq!(
        e.to_string(),
        "/etc/kopano/server.cfg:2: syntax error: expected 'option = value', found 'this line has no equals sign'"
    );
    let e = server("!frobnicate x\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/etc/kopano/server.cfg:1: syntax error: unknown directive '!frobnicate'"),
        "{e}"
    );
    let e = server(" = value\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/etc/kopano/server.cfg:1: syntax error:"),
        "{e}"
    );
}

#[test]
fn unknown_option_with_and_without_suggestion() {
    let e = server("\n\nservr_listen = *:236\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/kopano/server.cfg:3: unknown option 'servr_listen' (did you mean 'server_listen'?)"
    );
    match &e {
        ConfigError::UnknownOption {
            name,
            suggestion,
            line,
            ..
        } => {
            assert_eq!(name, "servr_listen");
            assert_eq!(suggestion.as_deref(), Some("server_listen"));
            assert_eq!(*line, 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    let e = server("completely_unrelated_thing = 1\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/kopano/server.cfg:1: unknown option 'completely_unrelated_thing'"
    );
}

#[test]
fn invalid_listen_value_message() {
    let e = server("server_listen = abc\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/kopano/server.cfg:1: invalid value 'abc' for option 'server_listen': expected a listen address like *:236, 0.0.0.0:143, [::]:993, *%lo:236 or unix:/path"
    );
}

#[test]
fn invalid_values_name_option_and_expectation() {
    let cases = [
        (
            "session_ip_check = maybe",
            "session_ip_check",
            "expected yes, no, true, false, 1 or 0",
        ),
        (
            "server_max_keep_alive_requests = lots",
            "server_max_keep_alive_requests",
            "expected an integer",
        ),
        (
            "quota_warn = 12x",
            "quota_warn",
            "expected a size in megabytes",
        ),
        (
            "session_timeout = 5 fortnights",
            "session_timeout",
            "expected a duration in seconds",
        ),
        (
            "softdelete_lifetime = soon",
            "softdelete_lifetime",
            "expected a duration in days",
        ),
        (
            "log_level = 0xZZ",
            "log_level",
            "expected a decimal number or a hex mask like 0x00020003",
        ),
        (
            "user_plugin = ldapp",
            "user_plugin",
            "expected one of db, ldap or unix",
        ),
        (
            "kcoidc_issuer_identifier = not a uri",
            "kcoidc_issuer_identifier",
            "expected a URI",
        ),
    ];
    for (line, option, expected) in cases {
        let e = server(line).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("/etc/kopano/server.cfg:1: invalid value '"),
            "{text}"
        );
        assert!(
            text.contains(&format!("for option '{option}': {expected}")),
            "{text}"
        );
    }
}

#[test]
fn includes_relative_nested_and_origins() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "server.cfg",
        "server_name = main\n!include conf.d/local.cfg\nserver_hostname = after\n",
    );
    write(
        dir.path(),
        "conf.d/local.cfg",
        "# in conf.d\nserver_name = included\n!include deeper/more.cfg\nattachment_path = att\n",
    );
    write(
        dir.path(),
        "conf.d/deeper/more.cfg",
        "server_hostname = nested\nsqlite_path = db/kc.db\n",
    );
    let cfg = Config::load(&main, schemas::server()).unwrap();
    assert_eq!(cfg.str("server_name"), "included");
    assert_eq!(cfg.str("server_hostname"), "after");
    let o = cfg.origin("server_name").unwrap();
    assert_eq!(o.file, dir.path().join("conf.d/local.cfg"));
    assert_eq!(o.line, 2);
    // Relative paths are resolved against the file that set them.
    assert_eq!(
        cfg.path("attachment_path").unwrap(),
        dir.path().join("conf.d/att")
    );
    assert_eq!(
        cfg.path("sqlite_path").unwrap(),
        dir.path().join("conf.d/deeper/db/kc.db")
    );
    assert_eq!(cfg.files().len(), 3);
    assert_eq!(cfg.source_path(), Some(main.as_path()));
}

#[test]
fn include_cycle_is_reported_with_chain() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.cfg", "server_name = a\n!include b.cfg\n");
    write(dir.path(), "b.cfg", "\n!include sub/../a.cfg\n");
    fs::create_dir(dir.path().join("sub")).unwrap();
    let e = Config::load(&a, schemas::server()).unwrap_err();
    let b = dir.path().join("b.cfg");
    match &e {
        ConfigError::IncludeCycle { file, line, chain } => {
            assert_eq!(file, &b);
            assert_eq!(*line, 2);
            assert_eq!(chain.len(), 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = e.to_string();
    assert_eq!(
        text,
        format!(
            "{}:2: include cycle: {} -> {} -> {}",
            b.display(),
            a.display(),
            b.display(),
            dir.path().join("sub/../a.cfg").display()
        )
    );
    let selfinc = write(dir.path(), "self.cfg", "!include self.cfg\n");
    let e = Config::load(&selfinc, schemas::server()).unwrap_err();
    assert!(
        matches!(e, ConfigError::IncludeCycle { line: 1, .. }),
        "{e}"
    );
}

#[test]
fn same_file_included_twice_is_not_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "m.cfg",
        "!include x.cfg\nserver_name = m\n!include x.cfg\n",
    );
    write(dir.path(), "x.cfg", "server_name = x\n");
    let cfg = Config::load(&main, schemas::server()).unwrap();
    assert_eq!(cfg.str("server_name"), "x");
    assert_eq!(cfg.origin("server_name").unwrap().line, 1);
}

#[test]
fn missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.cfg");
    let e = Config::load(&missing, schemas::server()).unwrap_err();
    assert!(matches!(e, ConfigError::Io { line: 0, .. }));
    assert!(
        e.to_string().starts_with(&format!(
            "{}: cannot read '{}': ",
            missing.display(),
            missing.display()
        )),
        "{e}"
    );
    let main = write(dir.path(), "m.cfg", "\n\n!include gone.cfg\n");
    let e = Config::load(&main, schemas::server()).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "{}:3: cannot read '{}': ",
            main.display(),
            dir.path().join("gone.cfg").display()
        )),
        "{e}"
    );
}

#[test]
fn error_position_inside_included_file() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(dir.path(), "m.cfg", "server_name = x\n!include inc.cfg\n");
    let inc = write(dir.path(), "inc.cfg", "# ok\nserver_listen = 1.2.3.4\n");
    let e = Config::load(&main, schemas::server()).unwrap_err();
    assert_eq!(e.location(), (inc.as_path(), 2));
    assert!(e
        .to_string()
        .starts_with(&format!("{}:2: invalid value '1.2.3.4'", inc.display())));
}

#[test]
fn propmap_is_recorded_and_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(dir.path(), "ldap.cfg", "!include presets/p.cfg\n");
    write(
        dir.path(),
        "presets/p.cfg",
        "!propmap ../ldap.propmap.cfg\nldap_page_size = 500\n",
    );
    let cfg = Config::load(&main, schemas::ldap()).unwrap();
    assert_eq!(
        cfg.propmap(),
        Some(dir.path().join("presets/../ldap.propmap.cfg").as_path())
    );
    assert_eq!(cfg.int("ldap_page_size"), 500);
    let cfg = Config::parse(
        "!propmap /etc/kopano/ldap.propmap.cfg\n",
        Path::new("/x/ldap.cfg"),
        schemas::ldap(),
    )
    .unwrap();
    assert_eq!(
        cfg.propmap(),
        Some(Path::new("/etc/kopano/ldap.propmap.cfg"))
    );
}

#[test]
fn option_names_are_case_insensitive() {
    let cfg = server("Server_Name = n1\n").unwrap();
    assert_eq!(cfg.str("server_name"), "n1");
}

#[test]
fn pure_parser_with_in_memory_files() {
    use std::collections::HashMap;
    let files: HashMap<PathBuf, &str> = [
        (
            PathBuf::from("/cfg/inc/a.cfg"),
            "server_name = a\n!include b.cfg\n",
        ),
        (
            PathBuf::from("/cfg/inc/b.cfg"),
            "!propmap map.cfg\nserver_hostname = b\n",
        ),
    ]
    .into_iter()
    .collect();
    let mut read = |p: &Path| {
        files
            .get(p)
            .map(|t| (p.to_path_buf(), t.to_string()))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    let doc = kc_configs::parse_document(
        "x = 1\n!include inc/a.cfg\n",
        Path::new("/cfg/main.cfg"),
        &mut read,
    )
    .unwrap();
    let keys: Vec<_> = doc
        .assignments
        .iter()
        .map(|a| (a.key.as_str(), a.value.as_str(), a.origin.to_string()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("x", "1", "/cfg/main.cfg:1".to_owned()),
            ("server_name", "a", "/cfg/inc/a.cfg:1".to_owned()),
            ("server_hostname", "b", "/cfg/inc/b.cfg:2".to_owned()),
        ]
    );
    assert_eq!(doc.propmap.unwrap().0, PathBuf::from("/cfg/inc/map.cfg"));
    assert_eq!(doc.files.len(), 3);
}

#[test]
fn self_include_with_relative_spelling_is_caught_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.cfg", "!include ./s.cfg\n");
    let e = Config::load(&p, schemas::server()).unwrap_err();
    match e {
        ConfigError::IncludeCycle { chain, .. } => assert_eq!(chain.len(), 2),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn deep_include_chains_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        write(
            dir.path(),
            &format!("{i}.cfg"),
            &format!("!include {}.cfg\n", i + 1),
        );
    }
    write(dir.path(), "40.cfg", "server_name = deep\n");
    let e = Config::load(&dir.path().join("0.cfg"), schemas::server()).unwrap_err();
    assert!(e.to_string().contains("nested deeper than"), "{e}");
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "=",
        "==",
        "= =",
        "!",
        "!include",
        "!propmap",
        "a=b=c",
        "\u{0}=\u{0}",
        "é = ü",
        "[section]",
        "server_listen = [",
        "server_listen = [::",
        "server_listen = *%:1",
        "log_level = 0x",
        "quota_warn = 99999999999999999999g",
        "softdelete_lifetime = 18446744073709551615d",
        "server_listen = unix:",
        "\r\n\r\n",
        "  \t  ",
    ];
    for i in inputs {
        let _ = server(i);
    }
    let long = format!("server_name = {}", "x".repeat(70_000));
    assert!(server(&long).is_err());
}

/// Deterministic pseudo-random inputs (xorshift) through the whole load path
/// of every schema: errors are fine, panics are not.
#[test]
fn random_inputs_never_panic() {
    const ALPHABET: &[&str] = &[
        "server_listen",
        "log_level",
        "imap_port",
        "server_bind",
        "ldap_host",
        "quota_warn",
        "=",
        " ",
        "\t",
        "\n",
        "#",
        "!include",
        "!propmap",
        "*",
        ":",
        "%",
        "[",
        "]",
        "::",
        "0x",
        "unix:",
        "ldap://",
        "yes",
        "0",
        "65536",
        "lo",
        "é",
        "\r",
        "a",
        "_",
        "-1",
        "9999999999999999999",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut read = |_: &Path| Err(std::io::Error::from(std::io::ErrorKind::NotFound));
    for _ in 0..5_000 {
        let len = (next() % 24) as usize;
        let text: String = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        if let Ok(doc) = kc_configs::parse_document(&text, Path::new("/r.cfg"), &mut read) {
            for s in schemas::all() {
                let _ = Config::from_document(doc.clone(), Path::new("/r.cfg"), s);
            }
        }
    }
}
