//! Command-line syntax of `kc-certs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kc_certs::authority::KeyType;

/// Creates and inspects the certificates of a kc installation: a CA in the
/// `demoCA` layout of KC's ssl-certificates.sh, server and client certificates,
/// DER and combined files.
#[derive(Debug, Parser)]
#[command(name = "kc-certs", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

fn parse_key_type(s: &str) -> Result<KeyType, String> {
    KeyType::parse(s)
        .ok_or_else(|| format!("unknown key type {s:?} (use ec, rsa2048, rsa3072 or rsa4096)"))
}

/// Options shared by the commands that create keys.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Where demoCA/ and the outputs go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Validity in days [default: 1095 for certificates, 3650 for a CA].
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Key algorithm: ec (ECDSA P-256), rsa2048, rsa3072 or rsa4096.
    #[arg(long, value_name = "TYPE", value_parser = parse_key_type, default_value = "ec")]
    pub key_type: KeyType,
    /// Encrypt the new private key with this passphrase (PKCS#8; visible in `ps`, prefer --pass-file).
    #[arg(long, value_name = "PASS", conflicts_with = "pass_file")]
    pub pass: Option<String>,
    /// Read the new key's passphrase from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub pass_file: Option<PathBuf>,
    /// Passphrase of the CA key (to sign, or for a new CA).
    #[arg(long, value_name = "PASS", conflicts_with = "ca_pass_file")]
    pub ca_pass: Option<String>,
    /// Read the CA passphrase from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub ca_pass_file: Option<PathBuf>,
    /// Replace existing outputs (an existing CA is moved aside, never deleted).
    #[arg(long)]
    pub force: bool,
}

/// The subject of a CA created on first use.
#[derive(Debug, Clone, Args)]
pub struct CaArgs {
    /// Common name of the CA, if one has to be created.
    #[arg(long, value_name = "NAME")]
    pub ca_cn: Option<String>,
    /// Organisation (O) of a new CA.
    #[arg(long, value_name = "ORG")]
    pub ca_org: Option<String>,
    /// Organisational unit (OU) of a new CA [default: Certificate Authority].
    #[arg(long, value_name = "OU")]
    pub ca_ou: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PurposeArg {
    /// serverAuth unless the certificate is for clientAuth only.
    Auto,
    Server,
    Client,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the CA: DIR/demoCA/cacert.pem, private/cakey.pem, serial, index.txt.
    Ca {
        #[command(flatten)]
        common: Common,
        /// Common name of the CA (e.g. the organisation's name).
        #[arg(long, value_name = "NAME")]
        cn: Option<String>,
        /// Organisation (O).
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        /// Organisational unit (OU); server and client certificates must use another one.
        #[arg(long, value_name = "OU", default_value = "Certificate Authority")]
        ou: String,
    },
    /// Create server.pem (private key, then certificate) signed by the CA.
    Server {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        ca: CaArgs,
        /// The server's FQDN (multi-server: the value of ldap_server_address_attribute).
        #[arg(long, value_name = "FQDN")]
        cn: Option<String>,
        /// subjectAltName: a DNS name or IP address; repeatable [default: the CN].
        #[arg(long = "san", value_name = "DNS-or-IP")]
        sans: Vec<String>,
        /// Organisation (O).
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        /// Organisational unit (OU); must differ from the CA's.
        #[arg(long, value_name = "OU", default_value = "Server")]
        ou: String,
        /// Output file [default: DIR/server.pem]; relative paths are inside DIR.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Create client.pem (key and certificate) and client-public.pem (for sslkeys_path).
    Client {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        ca: CaArgs,
        /// A name for the client (not checked by the server; e.g. the service name).
        #[arg(long, value_name = "NAME")]
        cn: Option<String>,
        /// Organisation (O).
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        /// Organisational unit (OU); must differ from the CA's.
        #[arg(long, value_name = "OU", default_value = "Client")]
        ou: String,
        /// Output file [default: DIR/client.pem]; the public key goes next to it as NAME-public.pem.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also put the public key into this sslkeys_path directory.
        #[arg(long, value_name = "DIR")]
        install: Option<PathBuf>,
    },
    /// Convert the first certificate of a PEM file to DER (Windows Mobile / Phone).
    Der {
        input: PathBuf,
        output: PathBuf,
        /// Replace OUTPUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Write KEY, CERT and any CHAIN certificates into one PEM file OUT (mode 0600).
    Combine {
        /// KEY CERT [CHAIN...] OUT
        #[arg(num_args = 3.., required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Passphrase of an encrypted KEY, to check that it matches CERT.
        #[arg(long, value_name = "PASS")]
        pass: Option<String>,
        /// Replace OUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Show subject, issuer, SANs, validity, key, CA flag and SHA-256 fingerprint.
    Inspect { file: PathBuf },
    /// Check CERT against a CA with the verifier the kc services use.
    Verify {
        /// CA file (PEM) or directory of PEM CA certificates.
        #[arg(long, value_name = "CA")]
        ca: PathBuf,
        /// The certificate (PEM, leaf first; a combined file is fine).
        cert: PathBuf,
        /// Also check that the certificate is valid for this host name or IP address.
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
        /// Which use to check the certificate for.
        #[arg(long, value_enum, default_value = "auto")]
        purpose: PurposeArg,
    },
}
