//! CRLF line framing with a hard length limit, shared by the IMAP and POP3
//! pre-authentication readers and the backend dialogue. Pure: bytes in,
//! lines out; the I/O loops feed it whatever the socket returned.

/// One framed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete line without its line ending (CRLF or a bare LF).
    Line(Vec<u8>),
    /// The line exceeded the limit; its bytes up to the next line ending
    /// are dropped (the reader resynchronises on its own).
    TooLong,
}

/// Buffers received bytes and hands out lines and fixed-size blocks
/// (IMAP literals).
#[derive(Debug)]
pub struct LineReader {
    buf: Vec<u8>,
    max: usize,
    // Dropping the rest of an over-long line.
    discarding: bool,
}

impl LineReader {
    /// A reader that refuses lines longer than `max` bytes (line ending
    /// not counted).
    pub fn new(max: usize) -> LineReader {
        LineReader {
            buf: Vec::new(),
            max,
            discarding: false,
        }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes held and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Takes every held byte (the rest of a pipeline, handed on verbatim).
    pub fn take_all(&mut self) -> Vec<u8> {
        self.discarding = false;
        std::mem::take(&mut self.buf)
    }

    /// Drops every held byte (after STARTTLS: plaintext sent ahead of the
    /// handshake must not be executed inside the TLS session).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.discarding = false;
    }

    /// The next complete line, `None` when more bytes are needed.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            let nl = memchr::memchr(b'\n', &self.buf);
            if self.discarding {
                match nl {
                    Some(i) => {
                        self.buf.drain(..=i);
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        self.buf.clear();
                        return None;
                    }
                }
            }
            return match nl {
                Some(i) => {
                    let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if line.len() > self.max {
                        Some(Line::TooLong)
                    } else {
                        Some(Line::Line(line))
                    }
                }
                None if self.buf.len() > self.max + 1 => {
                    // +1: a CR may be waiting for its LF.
                    self.buf.clear();
                    self.discarding = true;
                    Some(Line::TooLong)
                }
                None => None,
            };
        }
    }

    /// Exactly `n` bytes (an IMAP literal), `None` until they are all here.
    pub fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        if self.buf.len() < n {
            return None;
        }
        Some(self.buf.drain(..n).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_lines_and_blocks() {
        let mut r = LineReader::new(10);
        r.feed(b"a1 NOOP\r\nb");
        assert_eq!(r.next_line(), Some(Line::Line(b"a1 NOOP".to_vec())));
        assert_eq!(r.next_line(), None);
        r.feed(b"c\nxyz");
        assert_eq!(r.next_line(), Some(Line::Line(b"bc".to_vec())));
        assert_eq!(r.take(4), None);
        assert_eq!(r.take(3), Some(b"xyz".to_vec()));
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn over_long_lines_are_dropped_and_reading_resumes() {
        let mut r = LineReader::new(4);
        r.feed(b"0123456789");
        assert_eq!(r.next_line(), Some(Line::TooLong));
        r.feed(b"more junk\r\nok\r\n");
        assert_eq!(r.next_line(), Some(Line::Line(b"ok".to_vec())));
        r.feed(b"12345\r\nab\r\n");
        assert_eq!(r.next_line(), Some(Line::TooLong));
        assert_eq!(r.next_line(), Some(Line::Line(b"ab".to_vec())));
        // Exactly the limit plus a pending CR is still fine.
        r.feed(b"1234\r");
        assert_eq!(r.next_line(), None);
        r.feed(b"\n");
        assert_eq!(r.next_line(), Some(Line::Line(b"1234".to_vec())));
    }
}
