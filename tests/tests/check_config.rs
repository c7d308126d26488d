//! Every daemon validates its configuration the same way: `--check-config` accepts the
//! annotated example file shipped in `configs/`, and a misspelt option is refused with
//! `FILE:LINE` and the closest known option, with a non-zero exit.

use std::process::Command;

use kc_tests::{bin, workspace_root};

/// (binary, flag that names the config file, example file, a real option of that file)
const DAEMONS: &[(&str, &str, &str, &str)] = &[
    ("kc-server", "-c", "server.cfg", "server_listen"),
    ("kc-proxy", "-c", "proxy.cfg", "https_listen"),
    ("kc-gateway", "-c", "gateway.cfg", "imap_listen"),
    ("kc-admin", "--config", "admin.cfg", "server_socket"),
];

#[test]
fn example_configs_pass_check_config() {
    for (name, flag, file, _) in DAEMONS {
        let example = workspace_root().join("configs").join(file);
        let out = Command::new(bin(name))
            .args([
                *flag,
                example.to_str().unwrap_or_default(),
                "--check-config",
            ])
            .output()
            .unwrap_or_else(|e| panic!("run {name}: {e}"));
        assert!(
            out.status.success(),
            "{name} --check-config {file} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("OK"), "{name}: no OK line in {stdout}");
    }
}

#[test]
fn misspelt_option_is_refused_with_file_line_and_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, flag, _, option) in DAEMONS {
        // Drop one letter from the middle of a real option name.
        let mut typo = option.to_string();
        typo.remove(option.len() / 2);
        let cfg = dir.path().join(format!("{name}.cfg"));
        std::fs::write(&cfg, format!("# comment\n\n{typo} = x\n")).expect("write config");
        let out = Command::new(bin(name))
            .args([*flag, cfg.to_str().unwrap_or_default(), "--check-config"])
            .output()
            .unwrap_or_else(|e| panic!("run {name}: {e}"));
        assert!(!out.status.success(), "{name} accepted '{typo}'");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!(
            "{}:3: unknown option '{typo}' (did you mean '{option}'?)",
            cfg.display()
        );
        assert!(
            stderr.contains(&expected),
            "{name}: expected `{expected}` in: {stderr}"
        );
    }
}

#[test]
fn invalid_value_names_file_line_and_option() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("server.cfg");
    std::fs::write(&cfg, "server_listen = not-an-address\n").expect("write config");
    let out = Command::new(bin("kc-server"))
        .args(["-c", cfg.to_str().unwrap_or_default(), "--check-config"])
        .output()
        .expect("run kc-server");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:1: invalid value 'not-an-address' for option 'server_listen'",
            cfg.display()
        )),
        "{stderr}"
    );
}

#[test]
fn version_flag_works_everywhere() {
    for name in [
        "kc-server",
        "kc-proxy",
        "kc-gateway",
        "kc-admin",
        "kc-certs",
    ] {
        let out = Command::new(bin(name))
            .arg("--version")
            .output()
            .expect("run --version");
        assert!(out.status.success(), "{name} --version failed");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.starts_with(name),
            "{name} --version printed {stdout}"
        );
    }
}
