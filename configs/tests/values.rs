//! Every value kind, good and bad, through the public API.

use std::path::Path;
use std::time::Duration;

use kc_configs::{schemas, Config, ListenAddr, TimeUnit, Value, ValueKind};

fn tcp(host: Option<&str>, port: u16, iface: Option<&str>) -> ListenAddr {
    ListenAddr::Tcp {
        host: host.map(str::to_owned),
        port,
        iface: iface.map(str::to_owned),
    }
}

#[test]
fn bools() {
    for t in ["yes", "YES", "true", "True", "1"] {
        assert_eq!(ValueKind::Bool.parse(t), Ok(Value::Bool(true)), "{t}");
    }
    for f in ["no", "No", "false", "FALSE", "0"] {
        assert_eq!(ValueKind::Bool.parse(f), Ok(Value::Bool(false)), "{f}");
    }
    for bad in ["", "y", "on", "2", "yes please"] {
        assert!(ValueKind::Bool.parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn integers() {
    assert_eq!(ValueKind::Int.parse("42"), Ok(Value::Int(42)));
    assert_eq!(ValueKind::Int.parse("-7"), Ok(Value::Int(-7)));
    for bad in ["", "4 2", "0x10", "1e3", "ten"] {
        assert!(ValueKind::Int.parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn sizes_in_megabytes() {
    let mb = 1024 * 1024;
    assert_eq!(ValueKind::SizeMb.parse("100"), Ok(Value::Bytes(100 * mb)));
    assert_eq!(ValueKind::SizeMb.parse("128M"), Ok(Value::Bytes(128 * mb)));
    assert_eq!(
        ValueKind::SizeMb.parse("2g"),
        Ok(Value::Bytes(2 * 1024 * mb))
    );
    assert_eq!(ValueKind::SizeMb.parse("64k"), Ok(Value::Bytes(64 * 1024)));
    assert_eq!(ValueKind::SizeMb.parse("64KB"), Ok(Value::Bytes(64 * 1024)));
    assert_eq!(ValueKind::SizeMb.parse("0"), Ok(Value::Bytes(0)));
    for bad in ["", "M", "12x", "-1", "1.5", "99999999999999999999"] {
        assert!(ValueKind::SizeMb.parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn durations() {
    let d = |s| ValueKind::Duration.parse(s);
    assert_eq!(d("30"), Ok(Value::Duration(Duration::from_secs(30))));
    assert_eq!(d("30s"), Ok(Value::Duration(Duration::from_secs(30))));
    assert_eq!(d("5m"), Ok(Value::Duration(Duration::from_secs(300))));
    assert_eq!(d("2h"), Ok(Value::Duration(Duration::from_secs(7200))));
    assert_eq!(d("1d"), Ok(Value::Duration(Duration::from_secs(86400))));
    assert_eq!(d("250ms"), Ok(Value::Duration(Duration::from_millis(250))));
    let days = ValueKind::DurationIn(TimeUnit::Days);
    assert_eq!(
        days.parse("30"),
        Ok(Value::Duration(Duration::from_secs(30 * 86400)))
    );
    assert_eq!(
        days.parse("12h"),
        Ok(Value::Duration(Duration::from_secs(12 * 3600)))
    );
    for bad in ["", "s", "5 fortnights", "1w", "-3", "1.5h"] {
        assert!(d(bad).is_err(), "{bad}");
    }
    let cfg = Config::parse(
        "softdelete_lifetime = 7\n",
        Path::new("s.cfg"),
        schemas::server(),
    )
    .unwrap();
    assert_eq!(
        cfg.duration("softdelete_lifetime"),
        Duration::from_secs(7 * 86400)
    );
    assert_eq!(cfg.duration("session_timeout"), Duration::from_secs(300));
}

#[test]
fn listen_addresses() {
    let l = |s| ValueKind::Listen.parse(s);
    assert_eq!(l("*:237"), Ok(Value::Listen(vec![tcp(None, 237, None)])));
    assert_eq!(
        l("0.0.0.0:143"),
        Ok(Value::Listen(vec![tcp(Some("0.0.0.0"), 143, None)]))
    );
    assert_eq!(
        l("[::]:993"),
        Ok(Value::Listen(vec![tcp(Some("::"), 993, None)]))
    );
    assert_eq!(
        l("*%lo:236"),
        Ok(Value::Listen(vec![tcp(None, 236, Some("lo"))]))
    );
    assert_eq!(
        l("[fe80::1%eth0]:236"),
        Ok(Value::Listen(vec![tcp(Some("fe80::1"), 236, Some("eth0"))]))
    );
    assert_eq!(
        l("localhost:2003"),
        Ok(Value::Listen(vec![tcp(Some("localhost"), 2003, None)]))
    );
    assert_eq!(
        l("unix:/run/kc/x.sock"),
        Ok(Value::Listen(vec![ListenAddr::Unix(
            "/run/kc/x.sock".into()
        )]))
    );
    assert_eq!(l(""), Ok(Value::Listen(vec![])));
    assert_eq!(
        l("*:443   *:237 unix:/s"),
        Ok(Value::Listen(vec![
            tcp(None, 443, None),
            tcp(None, 237, None),
            ListenAddr::Unix("/s".into())
        ]))
    );
    for bad in [
        "abc",
        "*",
        "*:",
        "*:99999",
        "*:-1",
        "[::1]",
        "::1:236",
        "unix:",
        "a b:1",
        "*%:236",
        "host name:1",
        "[zz]:1",
    ] {
        assert!(l(bad).is_err(), "{bad}");
    }
    for s in [
        "*:237",
        "0.0.0.0:143",
        "[::]:993",
        "*%lo:236",
        "unix:/run/kc/x.sock",
        "[fe80::1%eth0]:1",
    ] {
        assert_eq!(ListenAddr::parse(s).unwrap().to_string(), s);
    }
}

#[test]
fn listen_socket_addrs() {
    let a = ListenAddr::parse("127.0.0.1:0")
        .unwrap()
        .to_socket_addrs()
        .unwrap();
    assert_eq!(a, vec!["127.0.0.1:0".parse().unwrap()]);
    let a = ListenAddr::parse("[::1]:5")
        .unwrap()
        .to_socket_addrs()
        .unwrap();
    assert_eq!(a, vec!["[::1]:5".parse().unwrap()]);
    let any = ListenAddr::parse("*:236")
        .unwrap()
        .to_socket_addrs()
        .unwrap();
    assert_eq!(any.len(), 1);
    assert!(any[0].ip().is_unspecified());
    assert_eq!(any[0].port(), 236);
    let local = ListenAddr::parse("localhost:7")
        .unwrap()
        .to_socket_addrs()
        .unwrap();
    assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 7));
    assert!(ListenAddr::parse("unix:/x")
        .unwrap()
        .to_socket_addrs()
        .is_err());
    assert_eq!(ListenAddr::parse("unix:/x").unwrap().port(), None);
}

#[test]
fn uri_lists() {
    let u = |s| ValueKind::UriList.parse(s);
    assert_eq!(
        u("ldap://s1:389 ldaps://s2:636/"),
        Ok(Value::Uris(vec![
            "ldap://s1:389".into(),
            "ldaps://s2:636/".into()
        ]))
    );
    assert_eq!(u(""), Ok(Value::Uris(vec![])));
    for bad in ["s1:389", "ldap:/x", "://x", "1dap://x"] {
        assert!(u(bad).is_err(), "{bad}");
    }
    let cfg = Config::parse(
        "ldap_uri = ldap://a ldap://b:3268\n",
        Path::new("l.cfg"),
        schemas::ldap(),
    )
    .unwrap();
    assert_eq!(
        cfg.uris("ldap_uri"),
        vec!["ldap://a".to_owned(), "ldap://b:3268".to_owned()]
    );
    let cfg = Config::parse(
        "server_socket = https://h:237/kopano\n",
        Path::new("g.cfg"),
        schemas::gateway(),
    )
    .unwrap();
    assert_eq!(
        cfg.uris("server_socket"),
        vec!["https://h:237/kopano".to_owned()]
    );
}

#[test]
fn masks() {
    let m = |s| ValueKind::HexMask.parse(s);
    assert_eq!(m("0x00020003"), Ok(Value::Mask(0x0002_0003)));
    assert_eq!(m("0XfF"), Ok(Value::Mask(255)));
    assert_eq!(m("6"), Ok(Value::Mask(6)));
    for bad in ["", "0x", "0xZZ", "-1", "0x100000000", "six"] {
        assert!(m(bad).is_err(), "{bad}");
    }
    let cfg = Config::parse(
        "log_level = 0x00020003\n",
        Path::new("s.cfg"),
        schemas::server(),
    )
    .unwrap();
    assert_eq!(cfg.mask("log_level"), 0x0002_0003);
    assert_eq!(cfg.int("log_level"), 0x0002_0003);
}

#[test]
fn one_of_is_case_insensitive_and_canonical() {
    let cfg = Config::parse(
        "log_method = SYSLOG\nuser_plugin = LDAP\n",
        Path::new("s.cfg"),
        schemas::server(),
    )
    .unwrap();
    assert_eq!(cfg.str("log_method"), "syslog");
    assert_eq!(cfg.str("user_plugin"), "ldap");
    let e = Config::parse(
        "log_method = journald\n",
        Path::new("s.cfg"),
        schemas::server(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "s.cfg:1: invalid value 'journald' for option 'log_method': expected one of file, syslog, stderr or auto"
    );
}

#[test]
fn paths() {
    let cfg = Config::parse(
        "attachment_path = rel/att\nsqlite_path = /abs/kc.db\nserver_ssl_ca_path =\n",
        Path::new("/etc/kopano/server.cfg"),
        schemas::server(),
    )
    .unwrap();
    assert_eq!(
        cfg.path("attachment_path"),
        Some("/etc/kopano/rel/att".into())
    );
    assert_eq!(cfg.path("sqlite_path"), Some("/abs/kc.db".into()));
    assert_eq!(cfg.path("server_ssl_ca_path"), None);
    assert_eq!(
        cfg.path("pid_file"),
        Some("/var/run/kopano/server.pid".into())
    );
}

#[test]
fn sizes_through_config() {
    let cfg = Config::parse(
        "quota_warn = 100\nquota_hard = 1g\n",
        Path::new("s.cfg"),
        schemas::server(),
    )
    .unwrap();
    assert_eq!(cfg.size_bytes("quota_warn"), 100 << 20);
    assert_eq!(cfg.size_bytes("quota_hard"), 1 << 30);
    assert_eq!(cfg.size_bytes("quota_soft"), 0);
    let g = Config::defaults(schemas::gateway());
    assert_eq!(g.size_bytes("imap_max_messagesize"), 128 << 20);
}

#[test]
fn set_overrides_and_validates() {
    let mut cfg = Config::defaults(schemas::proxy());
    assert!(!cfg.is_set("https_listen"));
    cfg.set("https_listen", "127.0.0.1:0").unwrap();
    assert_eq!(
        cfg.listen("https_listen"),
        vec![tcp(Some("127.0.0.1"), 0, None)]
    );
    assert!(cfg.is_set("https_listen"));
    let e = cfg.set("https_listen", "nope").unwrap_err();
    assert_eq!(
        e.to_string(),
        "<set>: invalid value 'nope' for option 'https_listen': expected a listen address like *:236, 0.0.0.0:143, [::]:993, *%lo:236 or unix:/path"
    );
    let e = cfg.set("htps_listen", "*:1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "<set>: unknown option 'htps_listen' (did you mean 'https_listen'?)"
    );
    // The failed set left the old value in place.
    assert_eq!(cfg.str("https_listen"), "127.0.0.1:0");
}

#[test]
fn secrets_are_masked_in_effective() {
    let cfg = Config::parse(
        "server_ssl_key_pass = hunter2\nmysql_password =\n",
        Path::new("s.cfg"),
        schemas::server(),
    )
    .unwrap();
    let eff = cfg.effective();
    let get = |k: &str| {
        eff.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("server_ssl_key_pass"), "********");
    assert_eq!(get("mysql_password"), "");
    assert_eq!(get("server_name"), "");
    assert_eq!(cfg.str("server_ssl_key_pass"), "hunter2");
    assert!(!eff.iter().any(|(_, v)| v.contains("hunter2")));
    assert_eq!(eff.len(), schemas::server().options.len());
    let mut l = Config::defaults(schemas::ldap());
    l.set("ldap_bind_passwd", "s3cret").unwrap();
    assert!(l
        .effective()
        .iter()
        .any(|(n, v)| *n == "ldap_bind_passwd" && v == "********"));
}

#[test]
fn reload_diff_names_changed_and_restart_options() {
    let old = Config::parse(
        "log_level = 3\nserver_name = a\n",
        Path::new("s.cfg"),
        schemas::server(),
    )
    .unwrap();
    let new = Config::parse(
        "log_level = 6\nserver_name = a\nserver_listen = *:1236\nproxy_header = kopano_proxy\n",
        Path::new("s.cfg"),
        schemas::server(),
    )
    .unwrap();
    let changed: Vec<_> = old.changed(&new).iter().map(|o| o.name).collect();
    assert_eq!(changed, vec!["server_listen", "proxy_header", "log_level"]);
    assert_eq!(old.restart_required(&new), vec!["server_listen"]);
    assert!(old.changed(&old.clone()).is_empty());
    assert_eq!(new.value("log_level"), &Value::Mask(6));
}

static SECRET_OPTS: &[kc_configs::OptionSpec] =
    &[kc_configs::opt("pin", "0", ValueKind::Int, "a secret number").secret()];
static SECRET_SCHEMA: kc_configs::Schema = kc_configs::Schema {
    component: "test",
    default_path: "/dev/null",
    options: SECRET_OPTS,
    legacy_listen: &[],
    legacy_uri: None,
};

#[test]
fn invalid_secret_values_are_not_echoed() {
    let e = Config::parse(
        "pin = 12ab34
",
        Path::new("t.cfg"),
        &SECRET_SCHEMA,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.cfg:1: invalid value '********' for option 'pin': expected an integer"
    );
    let cfg = Config::parse(
        "pin = 1234
",
        Path::new("t.cfg"),
        &SECRET_SCHEMA,
    )
    .unwrap();
    assert_eq!(cfg.int("pin"), 1234);
    assert_eq!(cfg.effective(), vec![("pin", "********".to_owned())]);
}
