//! Single-instance attachments (KC manual §6.4.1): a message delivered to 30
//! recipients, or copied between folders, keeps its large MIME part bodies in
//! one file per content hash instead of 30 copies in the database.
//!
//! The message stays byte-exact: [`split`] picks byte ranges of part bodies
//! (as the raw, still transfer-encoded bytes), the database keeps the
//! *skeleton* (the raw message with those ranges removed) plus one
//! [`Segment`] per range, and [`assemble`] puts the pieces back in order.
//! Parsing is only used to find the ranges; nothing is re-encoded.

use std::io::Read;
use std::ops::Range;

use bytes::Bytes;
use mail_parser::{MessageParser, PartType};

use super::{Result, StorageError};

/// Part bodies of at least this many (encoded) bytes leave the database.
pub const MIN_SEGMENT: usize = 32 * 1024;
/// Most segments cut from one message (each is an open file while the
/// message is read, so this bounds the descriptors one fetch holds).
pub const MAX_SEGMENTS: usize = 256;

/// A range of the original message kept in an attachment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Offset in the original message.
    pub pos: u64,
    pub len: u64,
    /// SHA-256 of the bytes, hex (the attachment file name).
    pub hash: String,
}

/// The byte ranges of `raw` worth storing as attachment files: bodies of
/// leaf parts (and of attached messages as a whole) of at least
/// [`MIN_SEGMENT`] bytes, sorted, non-overlapping, at most [`MAX_SEGMENTS`].
/// Anything the parser cannot make sense of stays inline.
pub fn split(raw: &[u8]) -> Vec<Range<usize>> {
    if raw.len() < MIN_SEGMENT {
        return Vec::new();
    }
    let Some(m) = MessageParser::default().parse(raw) else {
        return Vec::new();
    };
    let mut ranges: Vec<Range<usize>> = m
        .parts
        .iter()
        .filter(|p| !matches!(p.body, PartType::Multipart(_)))
        .map(|p| p.offset_body as usize..p.offset_end as usize)
        .filter(|r| r.end <= raw.len() && r.end.saturating_sub(r.start) >= MIN_SEGMENT)
        .collect();
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        if out.last().is_none_or(|l| r.start >= l.end) {
            out.push(r);
        }
    }
    out.truncate(MAX_SEGMENTS);
    out
}

/// The skeleton of `raw` without `ranges` (sorted, non-overlapping).
pub fn skeleton(raw: &[u8], ranges: &[Range<usize>]) -> Vec<u8> {
    let cut: usize = ranges.iter().map(|r| r.len()).sum();
    let mut out = Vec::with_capacity(raw.len().saturating_sub(cut));
    let mut at = 0;
    for r in ranges {
        out.extend_from_slice(raw.get(at..r.start).unwrap_or_default());
        at = r.end;
    }
    out.extend_from_slice(raw.get(at..).unwrap_or_default());
    out
}

/// Length of the RFC 5322 header block at the start of `msg`, blank line
/// included (a line that is empty or just CRLF ends it), or `None` when
/// `msg` holds no such line. Only a blank line that lies wholly inside
/// `msg` counts, so a prefix of a message gives `None`, never a wrong end.
pub fn header_end(msg: &[u8]) -> Option<usize> {
    let mut pos = 0;
    while pos < msg.len() {
        // `pos` is at the start of a line.
        match msg.get(pos..) {
            Some([b'\n', ..]) => return Some(pos + 1),
            Some([b'\r', b'\n', ..]) => return Some(pos + 2),
            _ => {}
        }
        pos += msg.get(pos..)?.iter().position(|&b| b == b'\n')? + 1;
    }
    None
}

/// The header block of a stored message: `skeleton` with the `first`
/// segment cut out at that offset of the original (the header lies before
/// any segment, since segments are part bodies). `None` when the blank line
/// is not found before the first segment (the caller then reads the whole
/// message and takes its header).
pub fn stored_header(skeleton: &[u8], first: Option<u64>) -> Option<&[u8]> {
    let limit = match first {
        Some(p) => usize::try_from(p).unwrap_or(usize::MAX).min(skeleton.len()),
        None => skeleton.len(),
    };
    let head = skeleton.get(..limit)?;
    match header_end(head) {
        Some(end) => head.get(..end),
        // No blank line: the whole message is header (nothing was cut).
        None if first.is_none() => Some(skeleton),
        None => None,
    }
}

/// One piece of a stored body, in order.
#[derive(Debug)]
pub enum Piece {
    Bytes(Bytes),
    /// An attachment file opened while the database lock was held, so that a
    /// concurrent purge unlinking it cannot cut a read short; `len` bytes.
    File(std::fs::File, u64),
}

/// A stored body as pieces, read without first copying it into one buffer.
#[derive(Debug)]
pub struct ItemBody {
    /// Total length (the original message size).
    pub len: u64,
    pub pieces: Vec<Piece>,
}

impl ItemBody {
    pub fn inline(b: impl Into<Bytes>) -> ItemBody {
        let b: Bytes = b.into();
        ItemBody {
            len: b.len() as u64,
            pieces: vec![Piece::Bytes(b)],
        }
    }

    /// The whole body in memory.
    pub fn into_vec(self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        for p in self.pieces {
            match p {
                Piece::Bytes(b) => out.extend_from_slice(&b),
                Piece::File(f, len) => {
                    let start = out.len();
                    f.take(len)
                        .read_to_end(&mut out)
                        .map_err(|source| StorageError::Io {
                            path: "attachment file".into(),
                            source,
                        })?;
                    if (out.len() - start) as u64 != len {
                        return Err(short_file());
                    }
                }
            }
        }
        Ok(out)
    }
}

pub(super) fn short_file() -> StorageError {
    StorageError::Io {
        path: "attachment file".into(),
        source: std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "attachment file shorter than recorded",
        ),
    }
}

/// Interleave `skeleton` with the segment contents (`open` gives each
/// segment's file). Rejects segment lists that do not fit the skeleton.
pub fn assemble(
    skeleton: Vec<u8>,
    segments: &[Segment],
    mut open: impl FnMut(&Segment) -> Result<std::fs::File>,
) -> Result<ItemBody> {
    let sk = Bytes::from(skeleton);
    let mut pieces = Vec::with_capacity(segments.len() * 2 + 1);
    let (mut at, mut cut) = (0u64, 0u64);
    let bad = || StorageError::Io {
        path: "item_segments".into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "inconsistent segments"),
    };
    for s in segments {
        let sk_pos = s.pos.checked_sub(cut).ok_or_else(bad)?;
        if sk_pos < at || sk_pos > sk.len() as u64 {
            return Err(bad());
        }
        if sk_pos > at {
            pieces.push(Piece::Bytes(sk.slice(at as usize..sk_pos as usize)));
        }
        pieces.push(Piece::File(open(s)?, s.len));
        at = sk_pos;
        cut = cut.checked_add(s.len).ok_or_else(bad)?;
    }
    if (at as usize) < sk.len() {
        pieces.push(Piece::Bytes(sk.slice(at as usize..)));
    }
    Ok(ItemBody {
        len: sk.len() as u64 + cut,
        pieces,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn big_message(attachment: &[u8], extra_header: &str) -> Vec<u8> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(attachment);
        let mut body = String::new();
        for chunk in b64.as_bytes().chunks(76) {
            body.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            body.push_str("\r\n");
        }
        format!(
            "From: a@example.org\r\nTo: b@example.org\r\nSubject: report{extra_header}\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
--XX\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n\
--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"r.bin\"\r\n\r\n{body}--XX--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn split_and_reassemble_byte_exact() {
        let att: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let raw = big_message(&att, "");
        let ranges = split(&raw);
        assert_eq!(ranges.len(), 1);
        assert!(ranges[0].len() >= 200_000 * 4 / 3);
        let sk = skeleton(&raw, &ranges);
        assert!(sk.len() < 1000);
        let dir = tempfile::tempdir().unwrap();
        let seg_file = dir.path().join("seg");
        std::fs::write(&seg_file, &raw[ranges[0].clone()]).unwrap();
        let segs = vec![Segment {
            pos: ranges[0].start as u64,
            len: ranges[0].len() as u64,
            hash: String::new(),
        }];
        let body = assemble(sk.clone(), &segs, |_| {
            std::fs::File::open(&seg_file).map_err(|source| StorageError::Io {
                path: String::new(),
                source,
            })
        })
        .unwrap();
        assert_eq!(body.len, raw.len() as u64);
        assert_eq!(body.into_vec().unwrap(), raw);
        // A segment pointing outside the skeleton is refused, not misread.
        let wrong = vec![Segment {
            pos: raw.len() as u64 * 2,
            len: 1,
            hash: String::new(),
        }];
        assert!(assemble(sk, &wrong, |_| Err(StorageError::NotFound)).is_err());
    }

    #[test]
    fn header_ends() {
        assert_eq!(header_end(b"A: 1\r\nB: 2\r\n\r\nbody"), Some(14));
        assert_eq!(header_end(b"A: 1\nB: 2\n\nbody\n\n"), Some(11));
        assert_eq!(header_end(b"\r\nbody"), Some(2));
        assert_eq!(header_end(b"A: 1\r\nB: 2\r\n"), None);
        assert_eq!(header_end(b"A: 1\r\n\r"), None);
        assert_eq!(header_end(b""), None);
        assert_eq!(stored_header(b"A: 1\r\n", None), Some(&b"A: 1\r\n"[..]));
        assert_eq!(
            stored_header(b"A: 1\r\n\r\nx", Some(9)),
            Some(&b"A: 1\r\n\r\n"[..])
        );
        // The blank line would only show after the cut: unknown, not wrong.
        assert_eq!(stored_header(b"A: 1\r\n\r\nx", Some(3)), None);
        assert_eq!(
            stored_header(b"A: 1\r\n\r\n", Some(500)),
            Some(&b"A: 1\r\n\r\n"[..])
        );
        let raw = big_message(&[3u8; 100_000], "");
        let ranges = split(&raw);
        let sk = skeleton(&raw, &ranges);
        let want = &raw[..header_end(&raw).unwrap()];
        assert!(want.ends_with(b"boundary=\"XX\"\r\n\r\n"));
        assert_eq!(stored_header(&sk, Some(ranges[0].start as u64)), Some(want));
    }

    #[test]
    fn small_and_garbage_stay_inline() {
        assert!(split(b"Subject: x\r\n\r\nhello\r\n").is_empty());
        assert!(split(&vec![0xffu8; 100_000]).len() <= 1);
        let raw = big_message(&[1u8; 1000], "");
        assert!(split(&raw).is_empty());
    }
}
