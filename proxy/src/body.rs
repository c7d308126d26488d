//! Bounded buffering and content-coding of the SOAP replies the edge may
//! rewrite (see [`crate::soap`]).
//!
//! Only SOAP replies are held back, and only up to a limit: a reply that
//! grows past it is released unchanged and the rest streams through. gSOAP
//! compresses replies with `deflate` (zlib framing; raw deflate is accepted
//! too) or `gzip`; a rewritten body is re-encoded with the coding it came in.

use std::io::{Read, Write};

use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::Compression;

/// A response content coding the edge can undo and redo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// No `Content-Encoding`.
    Identity,
    /// `deflate` in zlib framing (RFC 9110).
    Zlib,
    /// `deflate` sent as a raw deflate stream (seen from some gSOAP builds).
    RawDeflate,
    /// `gzip` or `x-gzip`.
    Gzip,
}

impl Coding {
    /// Maps a `Content-Encoding` value to a coding; `None` for codings the
    /// edge does not touch (the body then streams through unchanged).
    pub fn from_header(value: Option<&str>) -> Option<Coding> {
        match value.map(str::trim) {
            None | Some("") => Some(Coding::Identity),
            Some(v) if v.eq_ignore_ascii_case("identity") => Some(Coding::Identity),
            Some(v) if v.eq_ignore_ascii_case("deflate") => Some(Coding::Zlib),
            Some(v) if v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("x-gzip") => {
                Some(Coding::Gzip)
            }
            Some(_) => None,
        }
    }
}

fn read_limited(mut r: impl Read, limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    r.by_ref().take(cap).read_to_end(&mut out).ok()?;
    (out.len() <= limit).then_some(out)
}

/// Decodes `data`, refusing results larger than `limit` bytes. A `deflate`
/// body that is not zlib-framed is retried as raw deflate; the returned
/// coding says which one it was, so that [`encode`] can match it.
pub fn decode(coding: Coding, data: &[u8], limit: usize) -> Option<(Vec<u8>, Coding)> {
    match coding {
        Coding::Identity => (data.len() <= limit).then(|| (data.to_vec(), Coding::Identity)),
        Coding::Gzip => read_limited(GzDecoder::new(data), limit).map(|d| (d, Coding::Gzip)),
        Coding::Zlib | Coding::RawDeflate => read_limited(ZlibDecoder::new(data), limit)
            .map(|d| (d, Coding::Zlib))
            .or_else(|| {
                read_limited(DeflateDecoder::new(data), limit).map(|d| (d, Coding::RawDeflate))
            }),
    }
}

/// Encodes `data` with `coding`.
pub fn encode(coding: Coding, data: &[u8]) -> Option<Vec<u8>> {
    fn finish<W: Write>(
        mut w: W,
        data: &[u8],
        done: impl FnOnce(W) -> std::io::Result<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        w.write_all(data).ok()?;
        done(w).ok()
    }
    let level = Compression::default();
    match coding {
        Coding::Identity => Some(data.to_vec()),
        Coding::Zlib => finish(ZlibEncoder::new(Vec::new(), level), data, |w| w.finish()),
        Coding::RawDeflate => finish(DeflateEncoder::new(Vec::new(), level), data, |w| w.finish()),
        Coding::Gzip => finish(GzEncoder::new(Vec::new(), level), data, |w| w.finish()),
    }
}

/// Decodes a held-back reply, applies `rewrite` and re-encodes it. Returns
/// `None` when the body could not be decoded within `limit` or `rewrite`
/// changed nothing; the caller then sends the original bytes.
pub fn transform(
    coding: Coding,
    raw: &[u8],
    limit: usize,
    rewrite: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let (plain, actual) = decode(coding, raw, limit)?;
    let changed = rewrite(&plain)?;
    encode(actual, &changed)
}

/// A reply body held back until it is complete or too large.
#[derive(Debug, Default)]
pub struct Held {
    buf: Vec<u8>,
    released: bool,
}

/// What to do with the bytes handed to [`Held::push`].
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    /// Keep holding; send nothing yet.
    Hold,
    /// The limit was passed: send these bytes (everything held so far plus
    /// the new chunk) and stream the rest through.
    Release(Vec<u8>),
    /// Holding is over; pass the chunk on unchanged.
    Pass,
}

impl Held {
    /// Adds a chunk. `limit` bounds the held bytes.
    pub fn push(&mut self, chunk: &[u8], limit: usize) -> Push {
        if self.released {
            return Push::Pass;
        }
        if self.buf.len() + chunk.len() > limit {
            self.released = true;
            let mut out = std::mem::take(&mut self.buf);
            out.extend_from_slice(chunk);
            return Push::Release(out);
        }
        self.buf.extend_from_slice(chunk);
        Push::Hold
    }

    /// Whether the body was released because it grew too large.
    pub fn released(&self) -> bool {
        self.released
    }

    /// Takes the complete held body.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_coding() {
        let data = b"<er>2147483688</er>".repeat(50);
        for c in [
            Coding::Identity,
            Coding::Zlib,
            Coding::RawDeflate,
            Coding::Gzip,
        ] {
            let enc = encode(c, &data).unwrap();
            let (dec, actual) = decode(c, &enc, 1 << 20).unwrap();
            assert_eq!(dec, data);
            assert_eq!(actual, c);
        }
        // A raw-deflate body announced as plain `deflate`.
        let raw = encode(Coding::RawDeflate, &data).unwrap();
        assert_eq!(
            decode(Coding::Zlib, &raw, 1 << 20).unwrap().1,
            Coding::RawDeflate
        );
    }

    #[test]
    fn decoding_is_bounded() {
        let data = vec![b'a'; 100_000];
        let enc = encode(Coding::Gzip, &data).unwrap();
        assert!(decode(Coding::Gzip, &enc, 1000).is_none());
        assert!(decode(Coding::Gzip, b"not gzip", 1000).is_none());
    }

    #[test]
    fn holds_then_releases() {
        let mut h = Held::default();
        assert_eq!(h.push(b"abc", 5), Push::Hold);
        assert_eq!(h.push(b"def", 5), Push::Release(b"abcdef".to_vec()));
        assert_eq!(h.push(b"g", 5), Push::Pass);
        assert!(h.released());
        let mut h = Held::default();
        assert_eq!(h.push(b"ab", 5), Push::Hold);
        assert_eq!(h.take(), b"ab");
    }

    #[test]
    fn codings_from_headers() {
        assert_eq!(Coding::from_header(None), Some(Coding::Identity));
        assert_eq!(Coding::from_header(Some("Deflate")), Some(Coding::Zlib));
        assert_eq!(Coding::from_header(Some("x-gzip")), Some(Coding::Gzip));
        assert_eq!(Coding::from_header(Some("br")), None);
    }
}
