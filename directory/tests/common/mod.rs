//! Test harness: a private slapd (mdb backend, our schema, the test data)
//! on free loopback ports, started from a generated slapd.conf in a temp dir.
//! A missing slapd/slapadd makes the test FAIL with a clear message.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kc_directory::{CacheConfig, DirectorySettings, LdapSettings, Mapping, SourceSettings};

pub const BASE: &str = "dc=example,dc=com";
pub const BIND_DN: &str = "cn=admin,dc=example,dc=com";
pub const BIND_PW: &str = "admin-secret";

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn data_ldif() -> PathBuf {
    crate_dir().join("testdata/directory.ldif")
}

/// Finds a required tool or panics with an install hint (never skips).
pub fn require_tool(path: &str, package: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(
        p.exists(),
        "required tool {path} is missing: install the Debian package '{package}' \
         (apt-get install -y {package}); these tests never skip"
    );
    p
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Test CA and server certificate for 127.0.0.1 / localhost (PEM files).
pub struct TestPki {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

pub fn make_pki(dir: &Path) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "kc test CA");
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca, ca_key);
    let mut srv = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    srv.distinguished_name.push(DnType::CommonName, "localhost");
    let srv_key = KeyPair::generate().expect("server key");
    let srv_cert = srv.signed_by(&srv_key, &issuer).expect("server cert");
    let pki = TestPki {
        ca_file: dir.join("ca.pem"),
        cert_file: dir.join("server.pem"),
        key_file: dir.join("server.key"),
    };
    std::fs::write(&pki.ca_file, ca_cert.pem()).expect("write ca");
    std::fs::write(&pki.cert_file, srv_cert.pem()).expect("write cert");
    // PKCS#8, unencrypted: GnuTLS (Debian's slapd) reads it.
    std::fs::write(&pki.key_file, srv_key.serialize_pem()).expect("write key");
    pki
}

/// A running private slapd. Killed on drop.
pub struct Slapd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub tls_port: Option<u16>,
    pub pki: Option<TestPki>,
    /// `-f slapd.conf` or `-F slapd.d` (cn=config).
    conf_args: Vec<std::ffi::OsString>,
    child: Option<Child>,
}

impl Slapd {
    /// Starts slapd with the test data; `tls` adds an ldaps listener and
    /// StartTLS support with a fresh test CA.
    pub fn start(tls: bool) -> Slapd {
        Self::start_with(tls, &data_ldif())
    }

    pub fn start_with(tls: bool, data: &Path) -> Slapd {
        let slapd = require_tool("/usr/sbin/slapd", "slapd");
        let _ = slapd;
        let slapadd = require_tool("/usr/sbin/slapadd", "slapd");
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        std::fs::create_dir_all(&db).expect("db dir");
        let pki = tls.then(|| make_pki(dir.path()));
        let schema = crate_dir().join("schema/kopano.schema");
        let mut conf = String::new();
        for s in ["core", "cosine", "inetorgperson", "nis"] {
            conf.push_str(&format!("include /etc/ldap/schema/{s}.schema\n"));
        }
        conf.push_str(&format!("include {}\n", schema.display()));
        conf.push_str(&format!(
            "pidfile {0}/slapd.pid\nargsfile {0}/slapd.args\n",
            dir.path().display()
        ));
        conf.push_str("modulepath /usr/lib/ldap\nmoduleload back_mdb\n");
        if let Some(p) = &pki {
            conf.push_str(&format!(
                "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                p.ca_file.display(),
                p.cert_file.display(),
                p.key_file.display()
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
        let out = Command::new(&slapadd)
            .arg("-f")
            .arg(&conf_path)
            .arg("-l")
            .arg(data)
            .output()
            .expect("run slapadd");
        assert!(
            out.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut s = Slapd {
            port: free_port(),
            tls_port: tls.then(free_port),
            pki,
            conf_args: vec!["-f".into(), conf_path.into()],
            child: None,
            dir,
        };
        s.spawn();
        s
    }

    /// Like [`Slapd::start`] without TLS, but configured through cn=config
    /// built with slapadd from the LDIF schema files (ours: schema/kopano.ldif).
    pub fn start_cn_config() -> Slapd {
        require_tool("/usr/sbin/slapd", "slapd");
        let slapadd = require_tool("/usr/sbin/slapadd", "slapd");
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
        schemas.push(crate_dir().join("schema/kopano.ldif"));
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
        let run = |args: &[&std::ffi::OsStr]| {
            let out = Command::new(&slapadd)
                .args(args)
                .output()
                .expect("run slapadd");
            assert!(
                out.status.success(),
                "slapadd {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "-n".as_ref(),
            "0".as_ref(),
            "-F".as_ref(),
            confdir.as_os_str(),
            "-l".as_ref(),
            config_ldif.as_os_str(),
        ]);
        let data = data_ldif();
        run(&[
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
            child: None,
            dir,
        };
        s.spawn();
        s
    }

    pub fn uri(&self) -> String {
        format!("ldap://127.0.0.1:{}/", self.port)
    }

    pub fn ldaps_uri(&self) -> String {
        format!("ldaps://127.0.0.1:{}/", self.tls_port.expect("tls port"))
    }

    fn spawn(&mut self) {
        let mut urls = self.uri();
        if self.tls_port.is_some() {
            urls.push(' ');
            urls.push_str(&self.ldaps_uri());
        }
        let log = std::fs::File::create(self.dir.path().join("slapd.log")).expect("log file");
        // -d keeps slapd in the foreground so the test owns the process.
        let child = Command::new("/usr/sbin/slapd")
            .args(&self.conf_args)
            .arg("-h")
            .arg(&urls)
            .arg("-d")
            .arg("0")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn slapd");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().expect("addr");
        for _ in 0..400 {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return;
            }
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("slapd exited early ({st}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("slapd did not start listening: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// Stops slapd (SIGTERM, then waits) so the database is closed cleanly.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            for _ in 0..200 {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            let _ = c.kill();
            let _ = c.wait();
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

/// The mapping the test data needs on top of the OpenLDAP preset.
pub fn test_mapping() -> Mapping {
    Mapping {
        search_base: BASE.into(),
        user_search_filter: "(kopanoAccount=1)".into(),
        company_type_value: "kopano-company".into(),
        server_type_value: "kopano-server".into(),
        ..Mapping::openldap()
    }
}

pub fn ldap_settings(uris: Vec<String>) -> LdapSettings {
    LdapSettings {
        bind_dn: BIND_DN.into(),
        bind_password: BIND_PW.into(),
        search_base: BASE.into(),
        network_timeout: Duration::from_secs(5),
        page_size: 2,
        pool_size: 4,
        ..LdapSettings::new(uris)
    }
}

pub fn ldap_directory_settings(uris: Vec<String>) -> DirectorySettings {
    DirectorySettings {
        source: SourceSettings::Ldap(ldap_settings(uris)),
        mapping: test_mapping(),
        cache: CacheConfig::default(),
        auth_method: Default::default(),
    }
}

pub fn ldif_directory_settings(path: PathBuf) -> DirectorySettings {
    DirectorySettings {
        source: SourceSettings::Ldif {
            path,
            limits: Default::default(),
        },
        mapping: test_mapping(),
        cache: CacheConfig::default(),
        auth_method: Default::default(),
    }
}

pub fn tls_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    kc_certs::tls::ClientTls {
        ca_file: Some(ca.to_path_buf()),
        ..Default::default()
    }
    .build()
    .expect("client TLS config")
}
