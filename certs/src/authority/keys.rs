//! Key generation (ECDSA P-256 with ring, RSA with the RustCrypto `rsa` crate because
//! rcgen cannot generate RSA keys on ring) and PKCS#8 (optionally encrypted) output.

use pkcs8::der::Decode;
use rcgen::KeyPair;
use ring::rand::{SecureRandom, SystemRandom};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::EncodePrivateKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::AuthorityError;
use crate::tls::pem;

/// PBKDF2-HMAC-SHA256 rounds for encrypted keys (OpenSSL 3 uses 2048; more is cheap
/// once per service start).
const PBKDF2_ROUNDS: u32 = 100_000;

/// The key algorithms kc-certs generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256 (the default: fast, small, universally supported).
    #[default]
    Ec,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl KeyType {
    /// Parses the `--key-type` spelling (`ec`, `rsa2048`, `rsa3072`, `rsa4096`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ec" | "ecdsa" | "p256" | "p-256" => Some(KeyType::Ec),
            "rsa2048" | "rsa" => Some(KeyType::Rsa2048),
            "rsa3072" => Some(KeyType::Rsa3072),
            "rsa4096" => Some(KeyType::Rsa4096),
            _ => None,
        }
    }

    fn rsa_bits(self) -> Option<usize> {
        match self {
            KeyType::Ec => None,
            KeyType::Rsa2048 => Some(2048),
            KeyType::Rsa3072 => Some(3072),
            KeyType::Rsa4096 => Some(4096),
        }
    }
}

/// A freshly generated key: the rcgen signer plus its PKCS#8 encoding.
pub struct NewKey {
    /// The key as rcgen uses it for signing.
    pub pair: KeyPair,
}

impl NewKey {
    /// Generates a key of `kind`.
    pub fn generate(kind: KeyType) -> Result<Self, AuthorityError> {
        let pair = match kind.rsa_bits() {
            None => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .map_err(|e| AuthorityError::KeyGeneration(e.to_string()))?,
            Some(bits) => {
                let mut rng = rsa::rand_core::OsRng;
                let key = rsa::RsaPrivateKey::new(&mut rng, bits)
                    .map_err(|e| AuthorityError::KeyGeneration(e.to_string()))?;
                let der = key
                    .to_pkcs8_der()
                    .map_err(|e| AuthorityError::KeyGeneration(e.to_string()))?;
                let pkcs8 = PrivatePkcs8KeyDer::from(der.as_bytes());
                KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
                    .map_err(|e| AuthorityError::KeyGeneration(e.to_string()))?
            }
        };
        Ok(Self { pair })
    }

    /// The PKCS#8 DER of the private key.
    pub fn pkcs8_der(&self) -> &[u8] {
        self.pair.serialized_der()
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        rcgen::PublicKeyData::subject_public_key_info(&self.pair)
    }

    /// The `-----BEGIN PUBLIC KEY-----` form (what `openssl pkey -pubout` writes and
    /// KC's `sslkeys_path` expects).
    pub fn public_key_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki_der())
    }
}

/// Writes a PKCS#8 key as PEM: `ENCRYPTED PRIVATE KEY` (PBES2, PBKDF2-HMAC-SHA256,
/// AES-256-CBC: what `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes) when `pass` is
/// given, plain `PRIVATE KEY` otherwise.
pub fn encode_private_key(pkcs8_der: &[u8], pass: Option<&str>) -> Result<String, AuthorityError> {
    let Some(pass) = pass.filter(|p| !p.is_empty()) else {
        return Ok(pem::encode("PRIVATE KEY", pkcs8_der));
    };
    let info = pkcs8::PrivateKeyInfo::from_der(pkcs8_der)
        .map_err(|e| AuthorityError::Encryption(e.to_string()))?;
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rng.fill(&mut salt)
        .and_then(|()| rng.fill(&mut iv))
        .map_err(|_| AuthorityError::Encryption("no system randomness".into()))?;
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ROUNDS, &salt, &iv)
            .map_err(|e| AuthorityError::Encryption(e.to_string()))?;
    let doc = info
        .encrypt_with_params(params, pass.as_bytes())
        .map_err(|e| AuthorityError::Encryption(e.to_string()))?;
    Ok(pem::encode("ENCRYPTED PRIVATE KEY", doc.as_bytes()))
}

/// Turns a loaded private key into an rcgen signer.
///
/// rcgen on ring only reads PKCS#8, so PKCS#1 RSA keys (older OpenSSL CAs) are
/// re-encoded first; SEC1 EC keys must be converted by the administrator.
pub fn key_pair_from_der(key: &PrivateKeyDer<'_>) -> Result<KeyPair, AuthorityError> {
    let pkcs8: Vec<u8> =
        match key {
            PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
            PrivateKeyDer::Pkcs1(k) => rsa::RsaPrivateKey::from_pkcs1_der(k.secret_pkcs1_der())
                .and_then(|r| r.to_pkcs8_der().map_err(rsa::pkcs1::Error::Pkcs8))
                .map_err(|e| AuthorityError::UnsupportedKey(format!("PKCS#1 RSA key: {e}")))?
                .as_bytes()
                .to_vec(),
            PrivateKeyDer::Sec1(_) => return Err(AuthorityError::UnsupportedKey(
                "SEC1 \"EC PRIVATE KEY\"; convert it with `openssl pkcs8 -topk8 -in KEY -out KEY8`"
                    .into(),
            )),
            _ => {
                return Err(AuthorityError::UnsupportedKey(
                    "unknown key encoding".into(),
                ))
            }
        };
    KeyPair::try_from(&PrivatePkcs8KeyDer::from(pkcs8.as_slice()))
        .map_err(|e| AuthorityError::UnsupportedKey(e.to_string()))
}
