//! The DATA body reader (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing and
//! finds the `CRLF . CRLF` terminator, fed in chunks of any size. Pure.
//!
//! Byte exactness: the body is kept as the MTA sent it, minus the leading dot
//! of stuffed lines and minus the terminating `.CRLF`; the CRLF ending the
//! last line belongs to the message. Line structure is recognised on CRLF
//! only: a bare LF or bare CR is ordinary data, never a line start, so
//! `LF . LF` neither ends the data nor is unstuffed. Accepting a bare-LF
//! terminator would let one message smuggle a second one past the MTA (the
//! 2023 "SMTP smuggling" class), and normalising bare LFs would change the
//! bytes the sender signed (DKIM). Data lines have no length limit of their
//! own; the whole body is bounded by the message size limit.

/// Where the reader is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line (right after CRLF, or at the start of DATA).
    LineStart,
    /// After a dot at the start of a line; the dot is held back.
    Dot,
    /// After `.CR` at the start of a line; both are held back.
    DotCr,
    /// Inside a line.
    Mid,
    /// Right after a CR inside a line (already emitted).
    Cr,
    /// The terminator has been seen.
    Done,
}

/// What one [`DataReader::feed`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Input bytes used; the rest, if any, follows the terminator and is the
    /// next pipelined command.
    pub consumed: usize,
    /// Whether the terminator was reached.
    pub done: bool,
}

/// Incremental DATA reader with a size limit.
#[derive(Debug, Clone)]
pub struct DataReader {
    state: State,
    max_size: u64,
    size: u64,
}

impl DataReader {
    /// A reader positioned at the start of the body, keeping at most
    /// `max_size` body bytes. Larger bodies are read to their end and
    /// discarded, so the session can answer 552 and carry on.
    pub fn new(max_size: u64) -> DataReader {
        DataReader {
            state: State::LineStart,
            max_size,
            size: 0,
        }
    }

    /// Body size so far after unstuffing, counting discarded bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the body exceeded the limit; output stopped at the limit.
    pub fn overflowed(&self) -> bool {
        self.size > self.max_size
    }

    /// Whether the terminator has been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Reads `input`, appending body bytes to `out` (never more than the
    /// limit in total), and stops right after the terminator.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Progress {
        let mut i = 0;
        while i < input.len() && self.state != State::Done {
            if self.state == State::Mid {
                // Fast path: copy up to the next CR in one piece.
                let run = input[i..]
                    .iter()
                    .position(|&b| b == b'\r')
                    .unwrap_or(input.len() - i);
                self.emit(&input[i..i + run], out);
                i += run;
                if i == input.len() {
                    break;
                }
            }
            let b = input[i];
            i += 1;
            self.state = match (self.state, b) {
                (State::LineStart, b'.') => State::Dot,
                (State::DotCr, b'\n') => State::Done,
                (State::DotCr, _) => {
                    // `.CR` then something else: an ordinary stuffed line
                    // whose CR was not part of a CRLF.
                    self.emit(b"\r", out);
                    self.step(b, out)
                }
                (State::Dot, b'\r') => State::DotCr,
                // A line starting with a dot loses that dot (§4.5.2).
                (State::Dot | State::LineStart | State::Mid | State::Cr, _) => self.step(b, out),
                (State::Done, _) => State::Done,
            };
        }
        Progress {
            consumed: i,
            done: self.state == State::Done,
        }
    }

    /// Emits `b` as an ordinary byte and returns the following state.
    fn step(&mut self, b: u8, out: &mut Vec<u8>) -> State {
        let was_cr = self.state == State::Cr || self.state == State::DotCr;
        self.emit(&[b], out);
        match b {
            b'\r' => State::Cr,
            b'\n' if was_cr => State::LineStart,
            _ => State::Mid,
        }
    }

    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let room = self.max_size.saturating_sub(self.size);
        let take = usize::try_from(room).map_or(bytes.len(), |r| r.min(bytes.len()));
        out.extend_from_slice(&bytes[..take]);
        self.size = self.size.saturating_add(bytes.len() as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `chunk` bytes; returns body, bytes consumed.
    fn read(input: &[u8], chunk: usize, max: u64) -> (Vec<u8>, usize, bool, DataReader) {
        let mut r = DataReader::new(max);
        let mut out = Vec::new();
        let mut used = 0;
        for piece in input.chunks(chunk) {
            let p = r.feed(piece, &mut out);
            used += p.consumed;
            if p.done {
                break;
            }
        }
        let done = r.is_done();
        (out, used, done, r)
    }

    fn body_all_chunkings(input: &[u8]) -> Vec<u8> {
        let (whole, used, done, _) = read(input, input.len().max(1), u64::MAX);
        assert!(done, "{input:?} not terminated");
        for chunk in 1..input.len().min(9) {
            let (b, u, d, _) = read(input, chunk, u64::MAX);
            assert_eq!((&b, u, d), (&whole, used, true), "chunk {chunk}");
        }
        whole
    }

    #[test]
    fn unstuffing_and_terminator() {
        assert_eq!(body_all_chunkings(b".\r\n"), b"");
        assert_eq!(body_all_chunkings(b"a\r\n.\r\n"), b"a\r\n");
        assert_eq!(
            body_all_chunkings(b"..x\r\n.y\r\n..\r\n.\r\n"),
            b".x\r\ny\r\n.\r\n"
        );
        // A dot not at a line start stays.
        assert_eq!(body_all_chunkings(b"a.b\r\n a\r\n.\r\n"), b"a.b\r\n a\r\n");
    }

    #[test]
    fn bare_lf_and_cr_are_data() {
        assert_eq!(
            body_all_chunkings(b"a\n.\nb\n..c\r\n.\r\n"),
            b"a\n.\nb\n..c\r\n"
        );
        assert_eq!(body_all_chunkings(b"a\r.\r\n.\r\n"), b"a\r.\r\n");
        // `.CR` not followed by LF: the dot goes, the CR stays.
        assert_eq!(body_all_chunkings(b".\rx\r\n.\r\n"), b"\rx\r\n");
        assert_eq!(body_all_chunkings(b".\r\r\n.\r\n"), b"\r\r\n");
        assert_eq!(body_all_chunkings(b"\r\r\n..\r\n.\r\n"), b"\r\r\n.\r\n");
    }

    #[test]
    fn stops_at_terminator() {
        let input = b"hi\r\n.\r\nQUIT\r\n";
        let (body, used, done, _) = read(input, input.len(), u64::MAX);
        assert!(done);
        assert_eq!(body, b"hi\r\n");
        assert_eq!(&input[used..], b"QUIT\r\n");
        let (_, used, _, _) = read(input, 3, u64::MAX);
        assert_eq!(&input[used..], b"QUIT\r\n");
    }

    #[test]
    fn unterminated() {
        let (body, used, done, _) = read(b"abc\r\n.\r", 2, u64::MAX);
        assert!(!done);
        assert_eq!((body.as_slice(), used), (&b"abc\r\n"[..], 7));
    }

    #[test]
    fn size_limit() {
        let (body, _, done, r) = read(b"12345\r\n.\r\n", 4, 7);
        assert!(done && !r.overflowed());
        assert_eq!(body, b"12345\r\n");
        let (body, used, done, r) = read(b"123456\r\n..\r\n.\r\nNOOP", 3, 7);
        assert!(done && r.overflowed());
        assert_eq!(body, b"123456\r");
        assert_eq!(r.size(), 11);
        assert_eq!(used, 15);
        let (body, _, done, r) = read(b"x\r\n.\r\n", 1, 0);
        assert!(done && r.overflowed() && body.is_empty());
    }
}
