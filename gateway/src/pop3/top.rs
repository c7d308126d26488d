//! The part of a message POP3 TOP sends (RFC 1939 §7): message content,
//! so it lives beside the MIME code rather than in the protocol crate.

use crate::mime::header::split_header;

/// The part of a message TOP sends: the header, the blank line and the
/// first `lines` lines of the body (RFC 1939 §7).
pub fn top(msg: &[u8], lines: u32) -> &[u8] {
    let (_, body_start) = split_header(msg, 0..msg.len());
    let mut end = body_start;
    for _ in 0..lines {
        if end >= msg.len() {
            break;
        }
        end = msg[end..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(msg.len(), |i| end + i + 1);
    }
    &msg[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_lines() {
        let m = b"Subject: x\r\nFrom: y\r\n\r\nl1\r\nl2\r\nl3\r\n";
        assert_eq!(top(m, 0), b"Subject: x\r\nFrom: y\r\n\r\n");
        assert_eq!(top(m, 2), b"Subject: x\r\nFrom: y\r\n\r\nl1\r\nl2\r\n");
        assert_eq!(top(m, 99), &m[..]);
        assert_eq!(top(b"Subject: no body", 3), b"Subject: no body");
    }
}
