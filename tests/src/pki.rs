//! The one test PKI, made in-process with rcgen: two CAs (`ca`, and
//! `other-ca` whose certificates nobody trusts), server and client
//! certificates written as PEM files, and rustls client settings.
//!
//! rcgen rather than the `openssl` command line: it needs no external tool
//! and no process per certificate, and the results are ordinary PEM files
//! (PKCS#8 keys, X.509 v3 certificates with the usual extensions) that
//! OpenSSL, GnuTLS (slapd), curl, Python and rustls all read, so interop
//! tests lose nothing.
//!
//! Files in the folder given to [`Pki::new`], every certificate EC P-256:
//!
//! | file | what |
//! |---|---|
//! | `ca.pem`, `ca.key` | the trusted CA |
//! | `other-ca.pem`, `other-ca.key` | a CA nobody trusts |
//! | `node.pem`, `node.key` | server certificate for `localhost` / 127.0.0.1 |
//! | `server.pem` | `node`'s key, certificate and the CA in one file (kc-server's `server_ssl_key_file`) |
//! | `edge.pem`, `edge.key` | the edge: `edge.test`, `localhost`, 127.0.0.1 |
//! | `other-edge.pem`, `other-edge.key` | a second edge name: `other.test` |
//! | `edge-client.pem`, `edge-client.key` | the edge's client identity towards nodes |
//! | `client.pem`, `client.key` | a client certificate from `ca` |
//! | `stranger.pem`, `stranger.key` | a client certificate from `other-ca` |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA that signs.
struct Ca(CertifiedIssuer<'static, KeyPair>);

impl Ca {
    fn new(cn: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, cn);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        Ca(CertifiedIssuer::self_signed(p, key).expect("self-signed CA"))
    }

    /// A leaf certificate for `cn` with `names` (DNS names or IP
    /// addresses), usable for server and client authentication.
    fn issue(&self, cn: &str, names: &[&str]) -> Leaf {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("leaf parameters");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*n).try_into().expect("DNS name")),
            })
            .collect();
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        p.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("leaf key");
        let cert = p.signed_by(&key, &self.0).expect("sign leaf");
        Leaf {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
            public_pem: key.public_key_pem(),
        }
    }
}

struct Leaf {
    cert_pem: String,
    cert: CertificateDer<'static>,
    key_pem: String,
    key_der: Vec<u8>,
    public_pem: String,
}

/// A client certificate kept in memory (for rustls clients and sslkeys).
pub struct ClientCert {
    /// The certificate.
    pub cert: CertificateDer<'static>,
    /// Its PKCS#8 key.
    pub key_der: Vec<u8>,
    /// The public key in PEM (what kc-server's `sslkeys_path` holds).
    pub public_pem: String,
    /// Key and certificate in one PEM (what `sslkey_file` expects).
    pub combined_pem: String,
}

/// The test PKI (see the module documentation for its files).
pub struct Pki {
    /// The folder holding every file.
    pub dir: PathBuf,
    /// The trusted CA certificate in PEM.
    pub ca_pem: String,
    /// `ca.pem`.
    pub ca_file: PathBuf,
    /// `server.pem`: key, certificate for localhost/127.0.0.1, and the CA.
    pub server_pem: PathBuf,
    ca: Ca,
}

impl Pki {
    /// Creates every file under `dir` (created if missing).
    pub fn new(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).expect("create the PKI folder");
        let ca = Ca::new("kc test ca");
        let other = Ca::new("kc test other-ca");
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"))
        };
        let ca_pem = ca.0.pem();
        write("ca.pem", &ca_pem);
        write("ca.key", &ca.0.key().serialize_pem());
        write("other-ca.pem", &other.0.pem());
        write("other-ca.key", &other.0.key().serialize_pem());
        let leaves: [(&str, &Ca, &[&str]); 6] = [
            ("node", &ca, &["localhost", "127.0.0.1"]),
            ("edge", &ca, &["edge.test", "localhost", "127.0.0.1"]),
            ("other-edge", &ca, &["other.test"]),
            ("edge-client", &ca, &["edge-client"]),
            ("client", &ca, &["client"]),
            ("stranger", &other, &["stranger"]),
        ];
        for (name, issuer, names) in leaves {
            let cn = if name == "node" { "localhost" } else { name };
            let leaf = issuer.issue(cn, names);
            write(&format!("{name}.pem"), &leaf.cert_pem);
            write(&format!("{name}.key"), &leaf.key_pem);
            if name == "node" {
                write(
                    "server.pem",
                    &format!("{}{}{}", leaf.key_pem, leaf.cert_pem, ca_pem),
                );
            }
        }
        Pki {
            dir: dir.to_path_buf(),
            ca_file: dir.join("ca.pem"),
            server_pem: dir.join("server.pem"),
            ca_pem,
            ca,
        }
    }

    /// Path of a file of the PKI, e.g. `edge.pem`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Issues `NAME.pem` / `NAME.key` from the trusted CA for `names`
    /// (DNS names or IP addresses) and returns their paths.
    pub fn issue_files(&self, name: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let leaf = self.ca.issue(name, names);
        let (cert, key) = (
            self.file(&format!("{name}.pem")),
            self.file(&format!("{name}.key")),
        );
        std::fs::write(&cert, &leaf.cert_pem).expect("write certificate");
        std::fs::write(&key, &leaf.key_pem).expect("write key");
        (cert, key)
    }

    /// A client certificate from the trusted CA, in memory.
    pub fn client(&self, cn: &str) -> ClientCert {
        let leaf = self.ca.issue(cn, &[]);
        ClientCert {
            combined_pem: format!("{}{}", leaf.key_pem, leaf.cert_pem),
            cert: leaf.cert,
            key_der: leaf.key_der,
            public_pem: leaf.public_pem,
        }
    }

    /// rustls client settings that trust the CA, presenting `client` if given.
    pub fn client_config(&self, client: Option<&ClientCert>) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.ca.0.der().clone())
            .expect("CA certificate into the root store");
        let b = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("default protocol versions")
        .with_root_certificates(roots);
        let cfg = match client {
            Some(c) => b
                .with_client_auth_cert(
                    vec![c.cert.clone()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key_der.clone())),
                )
                .expect("client certificate"),
            None => b.with_no_client_auth(),
        };
        Arc::new(cfg)
    }
}
