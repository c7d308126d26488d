//! The `application/x-kc-bodies` wire format of a bulk message fetch
//! (`POST {store}/folders/{id}/bodies`, `store-api/API.md`): one frame per
//! message, `<uid> <length>\r\n<length bytes>\r\n`, in the requested order.
//!
//! Pure and shared: the node encodes frame heads while it streams bodies from
//! storage, the client decodes a whole answer. The decoder trusts nothing: a
//! malformed head, a length beyond the data, a missing frame end, too many
//! frames or too many bytes are errors, never a panic or a short body.

use bytes::Bytes;

/// Content type of a bulk body answer.
pub const CONTENT_TYPE: &str = "application/x-kc-bodies";
/// Most UIDs in one bulk body request (the node refuses more with 400).
pub const MAX_UIDS: usize = 1000;
/// Longest frame head, CRLF included: `4294967295 18446744073709551615\r\n`.
pub const MAX_HEAD: usize = 10 + 1 + 20 + 2;
/// What follows every frame's bytes.
pub const FRAME_END: &[u8] = b"\r\n";

/// The head of a frame carrying `len` bytes of message `uid`.
pub fn frame_head(uid: u32, len: u64) -> String {
    format!("{uid} {len}\r\n")
}

/// Bounds of one decoded answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Most frames.
    pub max_frames: usize,
    /// Most message bytes, all frames together (frame heads not counted).
    pub max_total: u64,
}

/// Why an answer is not a valid frame sequence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A frame head is not `<uid> <length>\r\n` (at byte `0`).
    #[error("malformed frame head at byte {0}")]
    BadHead(usize),
    /// The answer ends inside a frame.
    #[error("answer ends inside a frame")]
    Truncated,
    /// The bytes after a frame's data are not CRLF (at byte `0`).
    #[error("frame not terminated by CRLF at byte {0}")]
    MissingEnd(usize),
    /// More frames than [`FrameLimits::max_frames`].
    #[error("too many frames")]
    TooManyFrames,
    /// More message bytes than [`FrameLimits::max_total`].
    #[error("answer too large")]
    TooLarge,
}

/// A decimal number of ASCII digits only (no sign, no spaces), at most 20 digits.
fn number(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Parses a frame head at the start of `b`: `(uid, length, head length)`;
/// `Ok(None)` when `b` ends before the head does.
fn parse_head(b: &[u8]) -> Result<Option<(u32, u64, usize)>, ()> {
    let window = &b[..b.len().min(MAX_HEAD)];
    let Some(cr) = window.windows(2).position(|w| w == b"\r\n") else {
        return if b.len() >= MAX_HEAD {
            Err(())
        } else {
            Ok(None)
        };
    };
    let line = &window[..cr];
    let sp = line.iter().position(|c| *c == b' ').ok_or(())?;
    let uid = number(&line[..sp])
        .and_then(|u| u32::try_from(u).ok())
        .filter(|u| *u > 0)
        .ok_or(())?;
    let len = number(&line[sp + 1..]).ok_or(())?;
    Ok(Some((uid, len, cr + 2)))
}

/// Decodes a whole answer into `(uid, message)` pairs (slices of `buf`, no copies).
pub fn decode(buf: &Bytes, limits: FrameLimits) -> Result<Vec<(u32, Bytes)>, FrameError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut total = 0u64;
    while pos < buf.len() {
        let (uid, len, head) = match parse_head(&buf[pos..]) {
            Ok(Some(h)) => h,
            Ok(None) => return Err(FrameError::Truncated),
            Err(()) => return Err(FrameError::BadHead(pos)),
        };
        if out.len() >= limits.max_frames {
            return Err(FrameError::TooManyFrames);
        }
        total = total.saturating_add(len);
        if total > limits.max_total {
            return Err(FrameError::TooLarge);
        }
        let start = pos + head;
        let left = (buf.len() - start) as u64;
        if len > left {
            return Err(FrameError::Truncated);
        }
        // len <= left, which fits in usize.
        let end = start + len as usize;
        match buf.get(end..end + FRAME_END.len()) {
            Some(e) if e == FRAME_END => {}
            Some(_) => return Err(FrameError::MissingEnd(end)),
            // The answer ends within the frame end (a prefix of CRLF).
            None if FRAME_END.starts_with(&buf[end..]) => return Err(FrameError::Truncated),
            None => return Err(FrameError::MissingEnd(end)),
        }
        out.push((uid, buf.slice(start..end)));
        pos = end + FRAME_END.len();
    }
    Ok(out)
}

/// Whether `got` lists UIDs of `requested` in the requested order (the node
/// skips unknown and expunged UIDs but never reorders or invents one).
pub fn in_request_order(requested: &[u32], got: &[u32]) -> bool {
    let mut r = requested.iter();
    got.iter().all(|g| r.any(|u| u == g))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: FrameLimits = FrameLimits {
        max_frames: 1000,
        max_total: 1 << 20,
    };

    fn encode(frames: &[(u32, &[u8])]) -> Bytes {
        let mut v = Vec::new();
        for (u, b) in frames {
            v.extend_from_slice(frame_head(*u, b.len() as u64).as_bytes());
            v.extend_from_slice(b);
            v.extend_from_slice(FRAME_END);
        }
        Bytes::from(v)
    }

    #[test]
    fn round_trip() {
        let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let frames: Vec<(u32, &[u8])> = vec![
            (7, b"Subject: a\r\n\r\nx\r\n"),
            (3, b""),
            (4_294_967_295, &big),
            (9, b"\r\n5 3\r\nabc\r\n"),
        ];
        let buf = encode(&frames);
        let got = decode(&buf, LIM).unwrap();
        assert_eq!(got.len(), frames.len());
        for ((u, b), (gu, gb)) in frames.iter().zip(&got) {
            assert_eq!(u, gu);
            assert_eq!(*b, &gb[..]);
        }
        assert_eq!(decode(&Bytes::new(), LIM).unwrap(), vec![]);
        assert_eq!(frame_head(12, 345), "12 345\r\n");
        assert!(frame_head(u32::MAX, u64::MAX).len() == MAX_HEAD);
    }

    #[test]
    fn malformed_frames_are_errors() {
        let d = |s: &[u8]| decode(&Bytes::copy_from_slice(s), LIM);
        assert_eq!(d(b"1 3\r\nabc"), Err(FrameError::Truncated));
        assert_eq!(d(b"1 3\r\nabc\r"), Err(FrameError::Truncated));
        assert_eq!(d(b"1 3\r\nab"), Err(FrameError::Truncated));
        assert_eq!(d(b"1 3\r\nabcd\r\n"), Err(FrameError::MissingEnd(8)));
        assert_eq!(d(b"1 3"), Err(FrameError::Truncated));
        assert_eq!(d(b"1 3\r\nabc\r\n2"), Err(FrameError::Truncated));
        for bad in [
            &b"0 3\r\nabc\r\n"[..],
            b"x 3\r\nabc\r\n",
            b"1  3\r\nabc\r\n",
            b"+1 3\r\nabc\r\n",
            b"1 -3\r\nabc\r\n",
            b"1 +3\r\nabc\r\n",
            b"13\r\nabc\r\n",
            b"4294967296 1\r\na\r\n",
            b"1 3\nabc\r\n",
            b"\r\n",
            b"1 3 \r\nabc\r\n",
        ] {
            assert_eq!(d(bad), Err(FrameError::BadHead(0)), "{bad:?}");
        }
        let long = format!("1 {}\r\n", "9".repeat(40));
        assert_eq!(d(long.as_bytes()), Err(FrameError::BadHead(0)));
        assert_eq!(d(&[b'1'; 100]), Err(FrameError::BadHead(0)));
        assert_eq!(
            d(b"1 99999999999999999999\r\n"),
            Err(FrameError::BadHead(0))
        );
        assert_eq!(d(b"1 18446744073709551615\r\nx"), Err(FrameError::TooLarge));
        let two = encode(&[(1, b"a"), (2, b"b")]);
        let one = FrameLimits {
            max_frames: 1,
            max_total: 10,
        };
        assert_eq!(decode(&two, one), Err(FrameError::TooManyFrames));
        let small = FrameLimits {
            max_frames: 10,
            max_total: 1,
        };
        assert_eq!(decode(&two, small), Err(FrameError::TooLarge));
    }

    /// Arbitrary bytes never panic (a cheap stand-in for fuzzing).
    #[test]
    fn arbitrary_input_never_panics() {
        let alphabet: &[&[u8]] = &[
            b"1", b"0", b" ", b"\r\n", b"\r", b"\n", b"12 ", b"x", b"3\r\n",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut v = Vec::new();
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.extend_from_slice(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let _ = decode(&Bytes::from(v), LIM);
        }
    }

    #[test]
    fn order_check() {
        assert!(in_request_order(&[5, 1, 9], &[5, 9]));
        assert!(in_request_order(&[5, 1, 9], &[]));
        assert!(!in_request_order(&[5, 1, 9], &[9, 5]));
        assert!(!in_request_order(&[5, 1, 9], &[2]));
        assert!(in_request_order(&[5, 5], &[5, 5]));
        assert!(!in_request_order(&[5], &[5, 5]));
    }
}
