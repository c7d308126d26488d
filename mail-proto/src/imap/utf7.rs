//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3).
//!
//! IMAP4rev1 mailbox names travel as 7-bit ASCII: printable ASCII other than
//! `&` stands for itself, `&-` is a literal `&`, and `&…-` wraps UTF-16BE in a
//! base64 variant whose 63rd character is `,` instead of `/`, with no padding.
//!
//! [`decode`] is strict, because two spellings of the same name would let a
//! client create mailboxes that look identical but are distinct in the store:
//! it rejects raw 8-bit or control bytes, printable ASCII hidden inside a
//! base64 run, null shifts (`&-` inside base64 is fine, but `-&` joining two
//! runs is not), leftover non-zero bits, and unpaired UTF-16 surrogates.

use thiserror::Error;

/// Why a mailbox name is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Utf7Error {
    /// A byte outside printable ASCII appeared outside a base64 run.
    #[error("byte 0x{0:02x} is not allowed in a mailbox name")]
    InvalidByte(u8),
    /// A base64 run contained a character outside the modified alphabet or
    /// was not closed with `-`.
    #[error("unterminated or malformed base64 run")]
    BadBase64,
    /// The base64 run ended with non-zero bits, or with 6 or more spare bits.
    #[error("base64 run has stray bits")]
    StrayBits,
    /// The UTF-16 inside a base64 run was ill-formed (unpaired surrogate or an
    /// odd number of bytes).
    #[error("ill-formed UTF-16 in base64 run")]
    BadUtf16,
    /// A base64 run encoded a character that must be written as itself.
    #[error("printable ASCII must not be base64-encoded")]
    EncodedAscii,
    /// Two base64 runs were adjacent (`-&`), or a run was empty other than `&-`.
    #[error("null shift in mailbox name")]
    NullShift,
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b',' => Some(63),
        _ => None,
    }
}

fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c) && c != '&'
}

/// Decodes a modified UTF-7 mailbox name into UTF-8.
pub fn decode(input: &[u8]) -> Result<String, Utf7Error> {
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    // Position right after the `-` that closed the previous base64 run, to
    // detect the forbidden `-&` null shift.
    let mut last_run_end: Option<usize> = None;
    while i < input.len() {
        let c = input[i];
        if c == b'&' {
            if input.get(i + 1) == Some(&b'-') {
                out.push('&');
                i += 2;
                continue;
            }
            if last_run_end == Some(i) {
                return Err(Utf7Error::NullShift);
            }
            let start = i + 1;
            let end = input[start..]
                .iter()
                .position(|&b| b == b'-')
                .map(|p| start + p)
                .ok_or(Utf7Error::BadBase64)?;
            decode_run(&input[start..end], &mut out)?;
            i = end + 1;
            last_run_end = Some(i);
        } else if (0x20..=0x7e).contains(&c) {
            out.push(char::from(c));
            i += 1;
        } else {
            return Err(Utf7Error::InvalidByte(c));
        }
    }
    Ok(out)
}

fn decode_run(run: &[u8], out: &mut String) -> Result<(), Utf7Error> {
    if run.is_empty() {
        return Err(Utf7Error::NullShift);
    }
    let mut units: Vec<u16> = Vec::with_capacity(run.len() * 6 / 16);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in run {
        let v = b64_value(c).ok_or(Utf7Error::BadBase64)?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 16 {
            bits -= 16;
            // Truncation keeps the 16 bits just completed.
            units.push(((acc >> bits) & 0xffff) as u16);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 || acc != 0 {
        return Err(Utf7Error::StrayBits);
    }
    for ch in char::decode_utf16(units.iter().copied()) {
        let ch = ch.map_err(|_| Utf7Error::BadUtf16)?;
        if is_direct(ch) || ch == '&' {
            return Err(Utf7Error::EncodedAscii);
        }
        out.push(ch);
    }
    Ok(())
}

/// Encodes a UTF-8 mailbox name as modified UTF-7 (always succeeds).
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for ch in name.chars() {
        if is_direct(ch) {
            flush_run(&mut pending, &mut out);
            out.push(ch);
        } else if ch == '&' {
            flush_run(&mut pending, &mut out);
            out.push_str("&-");
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush_run(&mut pending, &mut out);
    out
}

fn flush_run(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &u in units.iter() {
        acc = (acc << 16) | u32::from(u);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(ALPHABET[((acc >> bits) & 0x3f) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (6 - bits)) & 0x3f) as usize]));
    }
    out.push('-');
    units.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example() {
        let wire = b"~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        let name = decode(wire).unwrap();
        assert_eq!(
            name,
            "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}"
        );
        assert_eq!(encode(&name).as_bytes(), wire);
    }

    #[test]
    fn ampersand_and_plain() {
        assert_eq!(decode(b"Tom &- Jerry").unwrap(), "Tom & Jerry");
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode(b"INBOX").unwrap(), "INBOX");
    }

    #[test]
    fn round_trips() {
        for s in [
            "Entwürfe",
            "Gelöschte Elemente",
            "😀 smile",
            "a&b",
            "日本語/テスト",
            "x\u{7f}y",
        ] {
            assert_eq!(decode(encode(s).as_bytes()).unwrap(), s, "{s}");
        }
    }

    #[test]
    fn rejects_invalid() {
        assert_eq!(decode(b"&Jjo!"), Err(Utf7Error::BadBase64));
        assert_eq!(decode(b"&U,BTFw"), Err(Utf7Error::BadBase64));
        assert_eq!(
            decode("Entwürfe".as_bytes()),
            Err(Utf7Error::InvalidByte(0xc3))
        );
        assert_eq!(decode(b"a\tb"), Err(Utf7Error::InvalidByte(b'\t')));
        // "a" (U+0061) hidden in base64.
        assert_eq!(decode(b"&AGE-"), Err(Utf7Error::EncodedAscii));
        // Unpaired high surrogate D83D.
        assert_eq!(decode(b"&2D0-"), Err(Utf7Error::BadUtf16));
        // Two runs joined by a null shift.
        assert_eq!(decode(b"&U,A-&U,A-"), Err(Utf7Error::NullShift));
        // Stray bits: "&U,B-" leaves 2 data bits set.
        assert!(decode(b"&U,B-").is_err());
        assert_eq!(decode(b"&-&-"), Ok("&&".to_string()));
    }
}
