//! A private OpenLDAP slapd (mdb backend, the standard schemas plus
//! KC's `directory/schema/kopano.*`) on free loopback ports, loaded with an
//! LDIF file, configured either by slapd.conf or by cn=config. A missing
//! slapd/slapadd fails the test with a hint (tests never skip).

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::pki::Pki;
use crate::process::{free_port, require_tool, workspace_root, Proc};

/// The suffix every test LDIF uses.
pub const BASE: &str = "dc=example,dc=com";
/// The root DN.
pub const BIND_DN: &str = "cn=admin,dc=example,dc=com";
/// The root DN's password.
pub const BIND_PW: &str = "admin-secret";

/// KC's LDAP schema files (`kopano.schema`, `kopano.ldif`).
pub fn kopano_schema_dir() -> PathBuf {
    workspace_root().join("directory/schema")
}

/// A running slapd; stopped (SIGTERM, so the database closes cleanly) on drop.
pub struct Slapd {
    /// Configuration, database, PKI and log.
    pub dir: tempfile::TempDir,
    /// The ldap:// port (127.0.0.1).
    pub port: u16,
    /// The ldaps:// port, when started with TLS.
    pub tls_port: Option<u16>,
    /// The PKI whose `node.pem` slapd serves, when started with TLS.
    pub pki: Option<Pki>,
    /// `-f slapd.conf` or `-F slapd.d` (cn=config).
    conf_args: Vec<std::ffi::OsString>,
    proc: Option<Proc>,
}

fn slapadd(args: &[&OsStr]) {
    let out = Command::new(require_tool("slapadd"))
        .args(args)
        .output()
        .expect("run slapadd");
    assert!(
        out.status.success(),
        "slapadd {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Slapd {
    /// Starts slapd (slapd.conf) with `data` loaded; `tls` adds an ldaps
    /// listener and StartTLS with a fresh [`Pki`].
    pub fn start(tls: bool, data: &Path) -> Slapd {
        require_tool("slapd");
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        std::fs::create_dir_all(&db).expect("db dir");
        let pki = tls.then(|| Pki::new(&dir.path().join("pki")));
        let mut conf = String::new();
        for s in ["core", "cosine", "inetorgperson", "nis"] {
            conf.push_str(&format!("include /etc/ldap/schema/{s}.schema\n"));
        }
        conf.push_str(&format!(
            "include {}\n",
            kopano_schema_dir().join("kopano.schema").display()
        ));
        conf.push_str(&format!(
            "pidfile {0}/slapd.pid\nargsfile {0}/slapd.args\n",
            dir.path().display()
        ));
        conf.push_str("modulepath /usr/lib/ldap\nmoduleload back_mdb\n");
        if let Some(p) = &pki {
            // PKCS#8, unencrypted: GnuTLS (Debian's slapd) reads it.
            conf.push_str(&format!(
                "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                p.ca_file.display(),
                p.file("node.pem").display(),
                p.file("node.key").display()
            ));
        }
        conf.push_str(
            "access to attrs=userPassword by anonymous auth by self read by * none\n\
             access to * by * read\n\
             database mdb\nmaxsize 67108864\n",
        );
        conf.push_str(&format!(
            "suffix \"{BASE}\"\nrootdn \"{BIND_DN}\"\nrootpw {BIND_PW}\ndirectory {}\n",
            db.display()
        ));
        conf.push_str("index objectClass eq\nindex uid eq\nindex cn eq\nindex kopanoAccount eq\n");
        let conf_path = dir.path().join("slapd.conf");
        std::fs::write(&conf_path, conf).expect("write slapd.conf");
        slapadd(&[
            "-f".as_ref(),
            conf_path.as_os_str(),
            "-l".as_ref(),
            data.as_os_str(),
        ]);
        let mut s = Slapd {
            port: free_port(),
            tls_port: tls.then(free_port),
            pki,
            conf_args: vec!["-f".into(), conf_path.into()],
            proc: None,
            dir,
        };
        s.spawn();
        s
    }

    /// Like [`Slapd::start`] without TLS, but configured through cn=config
    /// built with slapadd from the LDIF schema files (ours: `kopano.ldif`).
    pub fn start_cn_config(data: &Path) -> Slapd {
        require_tool("slapd");
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        let confdir = dir.path().join("slapd.d");
        std::fs::create_dir_all(&db).expect("db dir");
        std::fs::create_dir_all(&confdir).expect("config dir");
        let mut ldif = format!(
            "dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: {0}/slapd.pid\n\n\
             dn: cn=module{{0}},cn=config\nobjectClass: olcModuleList\ncn: module{{0}}\n\
             olcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\n\n\
             dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n",
            dir.path().display()
        );
        let mut schemas: Vec<PathBuf> = ["core", "cosine", "inetorgperson", "nis"]
            .iter()
            .map(|s| PathBuf::from(format!("/etc/ldap/schema/{s}.ldif")))
            .collect();
        schemas.push(kopano_schema_dir().join("kopano.ldif"));
        for s in schemas {
            let text = std::fs::read_to_string(&s).expect("schema ldif");
            ldif.push_str(text.trim());
            ldif.push_str("\n\n");
        }
        ldif.push_str(&format!(
            "dn: olcDatabase={{1}}mdb,cn=config\nobjectClass: olcDatabaseConfig\n\
             objectClass: olcMdbConfig\nolcDatabase: {{1}}mdb\nolcSuffix: {BASE}\n\
             olcRootDN: {BIND_DN}\nolcRootPW: {BIND_PW}\nolcDbDirectory: {}\n\
             olcDbMaxSize: 67108864\n\
             olcAccess: to attrs=userPassword by anonymous auth by self read by * none\n\
             olcAccess: to * by * read\n",
            db.display()
        ));
        let config_ldif = dir.path().join("config.ldif");
        std::fs::write(&config_ldif, ldif).expect("write config.ldif");
        slapadd(&[
            "-n".as_ref(),
            "0".as_ref(),
            "-F".as_ref(),
            confdir.as_os_str(),
            "-l".as_ref(),
            config_ldif.as_os_str(),
        ]);
        slapadd(&[
            "-F".as_ref(),
            confdir.as_os_str(),
            "-b".as_ref(),
            BASE.as_ref(),
            "-l".as_ref(),
            data.as_os_str(),
        ]);
        let mut s = Slapd {
            port: free_port(),
            tls_port: None,
            pki: None,
            conf_args: vec!["-F".into(), confdir.into()],
            proc: None,
            dir,
        };
        s.spawn();
        s
    }

    /// `ldap://127.0.0.1:PORT/`.
    pub fn uri(&self) -> String {
        format!("ldap://127.0.0.1:{}/", self.port)
    }

    /// `ldaps://127.0.0.1:PORT/` (started with TLS only).
    pub fn ldaps_uri(&self) -> String {
        format!("ldaps://127.0.0.1:{}/", self.tls_port.expect("tls port"))
    }

    fn spawn(&mut self) {
        let mut urls = self.uri();
        if self.tls_port.is_some() {
            urls.push(' ');
            urls.push_str(&self.ldaps_uri());
        }
        // -d keeps slapd in the foreground so the test owns the process.
        let mut cmd = Command::new(require_tool("slapd"));
        cmd.args(&self.conf_args)
            .arg("-h")
            .arg(&urls)
            .arg("-d")
            .arg("0");
        self.proc = Some(Proc::spawn("slapd", cmd, self.dir.path()));
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        for _ in 0..400 {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return;
            }
            if let Some(st) = self.proc.as_mut().and_then(Proc::exited) {
                panic!("slapd exited early ({st}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("slapd did not start listening: {}", self.log());
    }

    /// What slapd has written so far.
    pub fn log(&self) -> String {
        self.proc.as_ref().map(Proc::log).unwrap_or_default()
    }

    /// Stops slapd (SIGTERM, then waits) so the database is closed cleanly.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.signal_and_wait(libc::SIGTERM, Duration::from_secs(5));
        }
    }

    /// Stops and starts again on the same ports with the same database.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}
