//! `Content-Encoding: deflate | gzip` request bodies, decompressed with a cap
//! so that a small compressed body cannot expand without bound.

use std::io::Read;

use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unsupported Content-Encoding '{0}'")]
    Unsupported(String),
    #[error("decompressed body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("corrupt compressed body")]
    Corrupt,
}

fn read_capped(mut r: impl Read, cap: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut limited = (&mut r).take(cap as u64 + 1);
    limited
        .read_to_end(&mut out)
        .map_err(|_| DecodeError::Corrupt)?;
    if out.len() > cap {
        return Err(DecodeError::TooLarge(cap));
    }
    Ok(out)
}

/// True when `data` starts with a valid zlib header (RFC 1950).
fn looks_like_zlib(data: &[u8]) -> bool {
    data.len() >= 2
        && data[0] & 0x0f == 8
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0
}

/// Undo the `Content-Encoding` (`None` or `identity`: as is). `deflate` accepts
/// both the zlib format (RFC 9110) and raw deflate, since clients send either.
pub fn decode_body(
    encoding: Option<&str>,
    data: Vec<u8>,
    cap: usize,
) -> Result<Vec<u8>, DecodeError> {
    let enc = encoding.map(|e| e.trim().to_ascii_lowercase());
    match enc.as_deref() {
        None | Some("") | Some("identity") => {
            if data.len() > cap {
                return Err(DecodeError::TooLarge(cap));
            }
            Ok(data)
        }
        Some("gzip") | Some("x-gzip") => read_capped(GzDecoder::new(&data[..]), cap),
        Some("deflate") => {
            if looks_like_zlib(&data) {
                read_capped(ZlibDecoder::new(&data[..]), cap)
            } else {
                read_capped(DeflateDecoder::new(&data[..]), cap)
            }
        }
        Some(other) => Err(DecodeError::Unsupported(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    #[test]
    fn all_encodings() {
        let body = b"<x>hello</x>".repeat(10);
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&body).unwrap();
        let z = z.finish().unwrap();
        let mut d = DeflateEncoder::new(Vec::new(), Compression::default());
        d.write_all(&body).unwrap();
        let d = d.finish().unwrap();
        let mut g = GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(&body).unwrap();
        let g = g.finish().unwrap();
        assert_eq!(decode_body(Some("deflate"), z, 1000).unwrap(), body);
        assert_eq!(decode_body(Some("Deflate"), d, 1000).unwrap(), body);
        assert_eq!(decode_body(Some("gzip"), g, 1000).unwrap(), body);
        assert_eq!(decode_body(None, body.clone(), 1000).unwrap(), body);
        assert!(matches!(
            decode_body(Some("br"), body.clone(), 1000),
            Err(DecodeError::Unsupported(_))
        ));
        assert!(decode_body(Some("gzip"), b"garbage".to_vec(), 1000).is_err());
    }

    #[test]
    fn bomb_is_capped() {
        let zeros = vec![0u8; 10 << 20];
        let mut g = GzEncoder::new(Vec::new(), Compression::best());
        g.write_all(&zeros).unwrap();
        let g = g.finish().unwrap();
        assert!(g.len() < 100_000);
        assert_eq!(
            decode_body(Some("gzip"), g, 1 << 20),
            Err(DecodeError::TooLarge(1 << 20))
        );
    }
}
