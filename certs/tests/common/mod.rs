//! Shared helpers for the kc-certs integration tests. They stay in this
//! crate because they run the kc-certs binary under test
//! (`CARGO_BIN_EXE_kc-certs`, known only to this crate's tests) and make the
//! PKI with it; generic helpers come from kc-tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The kc-certs binary under test.
pub const KC_CERTS: &str = env!("CARGO_BIN_EXE_kc-certs");

/// Fails the test loudly when an external tool is missing (tests must not skip).
pub fn require_tool(tool: &str) {
    kc_tests::require_tool(tool);
}

/// Runs kc-certs with stdin closed (never a terminal, so it never prompts).
pub fn kc(args: &[&str]) -> Output {
    Command::new(KC_CERTS)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawn kc-certs")
}

/// Runs kc-certs and asserts success, returning stdout.
pub fn kc_ok(args: &[&str]) -> String {
    let out = kc(args);
    assert!(
        out.status.success(),
        "kc-certs {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs kc-certs and asserts failure, returning stderr.
pub fn kc_err(args: &[&str]) -> String {
    let out = kc(args);
    assert!(
        !out.status.success(),
        "kc-certs {args:?} unexpectedly succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs an external tool, returning its output.
pub fn tool(program: &str, args: &[&str]) -> Output {
    require_tool(program);
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"))
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// A CA plus server and client certificates made by kc-certs in a temp dir.
pub struct Pki {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Pki {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("demoCA/cacert.pem")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("demoCA/private/cakey.pem")
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Creates a CA ("Test CA"), `server.pem` for localhost/127.0.0.1 and `client.pem`.
pub fn make_pki(key_type: &str) -> Pki {
    make_pki_named(key_type, "Test CA")
}

/// Like [`make_pki`] with a CA common name of choice.
pub fn make_pki_named(key_type: &str, ca_cn: &str) -> Pki {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("ssl");
    let d = s(&dir).to_string();
    kc_ok(&["ca", "--dir", &d, "--cn", ca_cn, "--key-type", key_type]);
    kc_ok(&[
        "server",
        "--dir",
        &d,
        "--cn",
        "localhost",
        "--san",
        "localhost",
        "--san",
        "127.0.0.1",
        "--key-type",
        key_type,
    ]);
    kc_ok(&[
        "client",
        "--dir",
        &d,
        "--cn",
        "dagent",
        "--key-type",
        key_type,
    ]);
    Pki { tmp, dir }
}
