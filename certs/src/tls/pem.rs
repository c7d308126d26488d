//! A small, pure PEM (RFC 7468, with RFC 1421 headers) reader and writer.
//!
//! It exists (instead of `rustls-pemfile`) because kc must see every block, including
//! `ENCRYPTED PRIVATE KEY`, `PUBLIC KEY` and the legacy `Proc-Type` headers, so it can
//! say precisely why a file is unusable. Text outside BEGIN/END lines is ignored, as
//! OpenSSL does (e.g. the output of `openssl x509 -text` before the block).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The most blocks one input may hold; a CA bundle has a few hundred.
pub const MAX_BLOCKS: usize = 10_000;

/// The longest label accepted between `-----BEGIN ` and `-----`.
const MAX_LABEL: usize = 64;

/// One decoded `-----BEGIN LABEL-----` ... `-----END LABEL-----` section.
#[derive(Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label, e.g. `CERTIFICATE` or `ENCRYPTED PRIVATE KEY`.
    pub label: String,
    /// RFC 1421 headers (`Proc-Type`, `DEK-Info`) in file order.
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub der: Vec<u8>,
}

impl std::fmt::Debug for PemBlock {
    // Key material must not end up in logs via `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemBlock")
            .field("label", &self.label)
            .field("headers", &self.headers)
            .field("len", &self.der.len())
            .finish()
    }
}

impl PemBlock {
    /// True for OpenSSL's legacy encrypted PEM (`Proc-Type: 4,ENCRYPTED`).
    pub fn is_legacy_encrypted(&self) -> bool {
        self.headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("Proc-Type") && v.contains("ENCRYPTED"))
    }
}

/// Why a PEM input could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// A BEGIN line without its END line.
    #[error("\"-----BEGIN {label}-----\" at line {line} has no END line")]
    Unterminated { label: String, line: usize },
    /// An END line whose label differs from the BEGIN line.
    #[error("line {line}: \"-----END {end}-----\" closes \"-----BEGIN {begin}-----\"")]
    MismatchedEnd {
        begin: String,
        end: String,
        line: usize,
    },
    /// The body is not valid base64.
    #[error("block \"{label}\" starting at line {line} is not valid base64")]
    Base64 { label: String, line: usize },
    /// A BEGIN line with an unreasonable label.
    #[error("line {line}: malformed BEGIN line")]
    BadBegin { line: usize },
    /// More than [`MAX_BLOCKS`] blocks.
    #[error("more than {MAX_BLOCKS} PEM blocks")]
    TooManyBlocks,
}

fn marker<'a>(line: &'a str, kind: &str) -> Option<&'a str> {
    line.strip_prefix("-----")
        .and_then(|l| l.strip_prefix(kind))
        .and_then(|l| l.strip_prefix(' '))
        .and_then(|l| l.strip_suffix("-----"))
}

/// Decodes every PEM block in `input`, in order.
///
/// Non-UTF-8 bytes outside blocks are tolerated (lossy decoding); inside a block they
/// fail the base64 decoding.
pub fn parse(input: &[u8]) -> Result<Vec<PemBlock>, PemError> {
    let text = String::from_utf8_lossy(input);
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((idx, raw)) = lines.next() {
        let line = raw.trim();
        if !line.starts_with("-----BEGIN") {
            continue;
        }
        let begin_line = idx + 1;
        let label = match marker(line, "BEGIN") {
            Some(l) if l.len() <= MAX_LABEL && !l.contains("-----") => l.to_string(),
            _ => return Err(PemError::BadBegin { line: begin_line }),
        };
        if blocks.len() >= MAX_BLOCKS {
            return Err(PemError::TooManyBlocks);
        }
        let mut headers = Vec::new();
        let mut body = String::new();
        let mut in_headers = true;
        let mut closed = false;
        for (jdx, raw) in lines.by_ref() {
            let line = raw.trim();
            if let Some(end) = marker(line, "END") {
                if end != label {
                    return Err(PemError::MismatchedEnd {
                        begin: label,
                        end: end.to_string(),
                        line: jdx + 1,
                    });
                }
                closed = true;
                break;
            }
            if in_headers {
                if line.is_empty() {
                    in_headers = headers.is_empty();
                    continue;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                    continue;
                }
                in_headers = false;
            }
            body.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
        if !closed {
            return Err(PemError::Unterminated {
                label,
                line: begin_line,
            });
        }
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|_| PemError::Base64 {
                label: label.clone(),
                line: begin_line,
            })?;
        blocks.push(PemBlock {
            label,
            headers,
            der,
        });
    }
    Ok(blocks)
}

/// Encodes `der` as one PEM block with 64-character lines, as OpenSSL writes it.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // base64 output is ASCII, so byte chunks are valid UTF-8.
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_text_around_blocks() {
        let der: Vec<u8> = (0u8..=200).collect();
        let mut text = String::from("Certificate:\n  Data: junk\n");
        text.push_str(&encode("CERTIFICATE", &der));
        text.push_str("trailing\r\n");
        text.push_str(&encode("PRIVATE KEY", &der[..10]));
        let blocks = parse(text.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "CERTIFICATE");
        assert_eq!(blocks[0].der, der);
        assert_eq!(blocks[1].label, "PRIVATE KEY");
        assert_eq!(blocks[1].der, &der[..10]);
    }

    #[test]
    fn legacy_headers() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let blocks = parse(text.as_bytes()).unwrap();
        assert!(blocks[0].is_legacy_encrypted());
        assert_eq!(blocks[0].der, vec![0, 0, 0]);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse(b"-----BEGIN X-----\nAAAA\n"),
            Err(PemError::Unterminated { .. })
        ));
        assert!(matches!(
            parse(b"-----BEGIN X-----\nAAAA\n-----END Y-----\n"),
            Err(PemError::MismatchedEnd { .. })
        ));
        assert!(matches!(
            parse(b"-----BEGIN X-----\n!!!!\n-----END X-----\n"),
            Err(PemError::Base64 { .. })
        ));
        assert_eq!(parse(b"no pem here").unwrap(), vec![]);
    }

    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let mut seed = 0x1234_5678u32;
        for _ in 0..500 {
            let mut buf = b"-----BEGIN A-----\n".to_vec();
            for _ in 0..64 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                buf.push((seed >> 16) as u8);
            }
            let _ = parse(&buf);
        }
    }
}
