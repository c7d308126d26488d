//! Incremental IMAP command receiver: bytes in, complete commands out.
//!
//! The receiver only frames commands; [`super::parser`] gives them meaning.
//! It understands just enough syntax to find where a command ends: lines end
//! in LF (CRLF or bare LF), and a line that ends in `{n}` (synchronising) or
//! `{n+}` (non-synchronising, RFC 7888 LITERAL+) is followed by `n` raw bytes
//! and then the rest of the command. Several pipelined commands in one read
//! come out one by one.
//!
//! Every quantity has a limit ([`Limits`]): line length, literal size, total
//! command size and literals per command. When one is exceeded the receiver
//! reports a [`ReceiverError`] carrying the tag (when the start of the line
//! held a valid one) and then resynchronises by itself: it drops the rest of
//! the offending line, discards the data of any non-synchronising literal the
//! client will send regardless, and continues with the next command. Memory
//! held is bounded by `max_line` plus the current command.
//!
//! ```text
//! feed(bytes) ──► [Line] ──LF, no literal──► Event::Command
//!                   │ LF after {n}  ──► Event::Continue (send "+ ") ──► [Literal n] ──► [Line]
//!                   │ LF after {n+} ──────────────────────────────────► [Literal n] ──► [Line]
//!                   └ limit exceeded ──► Event::Error ──► [Skip to LF] / [Discard n] ──► [Line]
//! ```

use thiserror::Error;

/// Size limits enforced while framing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, in bytes, excluding literal data (KC caps lines at 256
    /// bytes before authentication; set this accordingly per state).
    pub max_line: usize,
    /// Largest literal accepted (APPEND message size).
    pub max_literal: u64,
    /// Largest whole command, lines plus literal data.
    pub max_command: usize,
    /// Most literals in one command.
    pub max_literals: usize,
    /// Largest non-synchronising literal the receiver will skip over after
    /// rejecting it; beyond this the error is fatal (the caller closes the
    /// connection, as RFC 7888 §4 allows).
    pub max_discard: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 65_536,
            max_literal: 64 * 1024 * 1024,
            max_command: 64 * 1024 * 1024 + 1024 * 1024,
            max_literals: 64,
            max_discard: 128 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Limits for a connection that has not authenticated yet: short lines
    /// and small literals, so an anonymous peer cannot make us buffer much.
    pub fn unauthenticated() -> Self {
        Limits {
            max_line: 8192,
            max_literal: 8192,
            max_command: 16_384,
            max_literals: 4,
            max_discard: 1024 * 1024,
        }
    }
}

/// A complete command as received, ready for [`super::parser::parse_command`].
///
/// `bytes` holds the command without its final line ending; every line that
/// announced a literal ends in `{n}\r\n` / `{n+}\r\n` followed by the `n`
/// literal bytes, whatever line ending the client used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCommand {
    /// The command text including the tag.
    pub bytes: Vec<u8>,
}

impl RawCommand {
    /// The tag, when the command starts with a valid one.
    pub fn tag(&self) -> Option<String> {
        extract_tag(&self.bytes)
    }
}

/// What kind of limit a command broke.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReceiverErrorKind {
    /// A line (excluding literal data) exceeded `max_line`.
    #[error("command line too long")]
    LineTooLong,
    /// A literal announced more than `max_literal` bytes; `None` when the
    /// count does not even fit in 64 bits.
    #[error("literal too big")]
    LiteralTooBig {
        /// The announced size.
        size: Option<u64>,
    },
    /// Lines plus literals exceeded `max_command`.
    #[error("command too big")]
    CommandTooBig,
    /// More than `max_literals` literals in one command.
    #[error("too many literals")]
    TooManyLiterals,
}

/// A command rejected while framing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}")]
pub struct ReceiverError {
    /// The tag to answer with (`None`: answer untagged `* BAD`).
    pub tag: Option<String>,
    /// Which limit was broken.
    pub kind: ReceiverErrorKind,
    /// The receiver cannot resynchronise (a huge non-synchronising literal
    /// would follow): send the reply, then close the connection.
    pub fatal: bool,
}

impl ReceiverError {
    /// Whether the reply should be `NO [TOOBIG]` (RFC 4469/7888 practice for
    /// oversized literals) rather than `BAD`.
    pub fn is_too_big(&self) -> bool {
        matches!(
            self.kind,
            ReceiverErrorKind::LiteralTooBig { .. } | ReceiverErrorKind::CommandTooBig
        )
    }
}

/// One step of output from [`Receiver::next_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete command.
    Command(RawCommand),
    /// A synchronising literal was announced and accepted: send a `+ `
    /// continuation request before reading more.
    Continue,
    /// A command broke a limit; answer it and keep calling `next_event`.
    Error(ReceiverError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a line of the current command.
    Line,
    /// Copying literal data into the current command.
    Literal(u64),
    /// Dropping the rest of a rejected line.
    Skip,
    /// Dropping the data of a rejected non-synchronising literal.
    Discard(u64),
}

/// How many trailing bytes of a skipped line are kept to spot `{n+}`.
const TAIL: usize = 32;

/// The incremental framer; see the module docs.
#[derive(Debug)]
pub struct Receiver {
    limits: Limits,
    buf: Vec<u8>,
    pos: usize,
    state: State,
    cmd: Vec<u8>,
    line_start: usize,
    literals: usize,
    /// Last bytes of a skipped line, to detect a trailing `{n+}`.
    tail: Vec<u8>,
    /// Blank lines come out as empty commands instead of being skipped.
    report_blank: bool,
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver::new(Limits::default())
    }
}

impl Receiver {
    /// A receiver with the given limits.
    pub fn new(limits: Limits) -> Self {
        Receiver {
            limits,
            buf: Vec::new(),
            pos: 0,
            state: State::Line,
            cmd: Vec::new(),
            line_start: 0,
            literals: 0,
            tail: Vec::new(),
            report_blank: false,
        }
    }

    /// Makes a blank line between commands come out as an empty command
    /// (which the parser rejects for its missing tag) instead of being
    /// skipped. kc-proxy counts blank lines as invalid commands before
    /// login; kc-gateway skips them.
    pub fn report_blank_lines(mut self) -> Self {
        self.report_blank = true;
        self
    }

    /// Replaces the limits (e.g. after authentication); applies to the next
    /// line or literal.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Adds bytes read from the connection.
    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether a command is partly received (useful to decide whether a
    /// closed connection lost data).
    pub fn in_command(&self) -> bool {
        !self.cmd.is_empty() || self.state != State::Line
    }

    /// Hands out every byte received but not framed yet (a partly received
    /// command included) and starts afresh. Meant for between commands:
    /// kc-proxy calls it after relaying a login, since whatever the client
    /// pipelined behind LOGIN belongs to the node now.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.cmd);
        out.extend_from_slice(&self.buf[self.pos..]);
        self.buf.clear();
        self.pos = 0;
        self.state = State::Line;
        self.line_start = 0;
        self.literals = 0;
        self.tail.clear();
        out
    }

    /// Returns the next event, or `None` when more input is needed.
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            match self.state {
                State::Line => match self.step_line() {
                    Step::Event(e) => return Some(e),
                    Step::More => return None,
                    Step::Continue => {}
                },
                State::Literal(remaining) => {
                    let avail = self.buf.len() - self.pos;
                    if avail == 0 {
                        return None;
                    }
                    let take = usize::try_from(remaining).unwrap_or(usize::MAX).min(avail);
                    self.cmd
                        .extend_from_slice(&self.buf[self.pos..self.pos + take]);
                    self.pos += take;
                    let left = remaining - take as u64;
                    if left == 0 {
                        self.state = State::Line;
                        self.line_start = self.cmd.len();
                    } else {
                        self.state = State::Literal(left);
                        return None;
                    }
                }
                State::Discard(remaining) => {
                    let avail = self.buf.len() - self.pos;
                    if avail == 0 {
                        return None;
                    }
                    let take = usize::try_from(remaining).unwrap_or(usize::MAX).min(avail);
                    self.pos += take;
                    let left = remaining - take as u64;
                    if left == 0 {
                        self.state = State::Skip;
                        self.tail.clear();
                    } else {
                        self.state = State::Discard(left);
                        return None;
                    }
                }
                State::Skip => {
                    if let Some(e) = self.step_skip() {
                        return e;
                    }
                }
            }
        }
    }

    /// Reads one raw line outside of command framing: the client's answers
    /// during AUTHENTICATE and the `DONE` that ends IDLE. Returns the line
    /// without its ending; `None` when more input is needed. Must only be
    /// called between commands. A too-long line is dropped and reported
    /// with `tag: None`.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, ReceiverError>> {
        loop {
            if self.state == State::Skip {
                // A previous over-long raw line is still being dropped.
                let rest = &self.buf[self.pos..];
                match rest.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.pos += i + 1;
                        self.state = State::Line;
                        continue;
                    }
                    None => {
                        self.pos = self.buf.len();
                        return None;
                    }
                }
            }
            let rest = &self.buf[self.pos..];
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) if i <= self.limits.max_line + 1 => {
                    let mut line = rest[..i].to_vec();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    self.pos += i + 1;
                    if line.len() > self.limits.max_line {
                        return Some(Err(self.error(None, ReceiverErrorKind::LineTooLong, false)));
                    }
                    return Some(Ok(line));
                }
                Some(i) => {
                    self.pos += i + 1;
                    return Some(Err(self.error(None, ReceiverErrorKind::LineTooLong, false)));
                }
                None if rest.len() > self.limits.max_line + 1 => {
                    self.pos = self.buf.len();
                    self.state = State::Skip;
                    return Some(Err(self.error(None, ReceiverErrorKind::LineTooLong, false)));
                }
                None => return None,
            }
        }
    }

    fn error(&self, tag: Option<String>, kind: ReceiverErrorKind, fatal: bool) -> ReceiverError {
        ReceiverError { tag, kind, fatal }
    }

    /// Aborts the current command: reports `kind` and moves to `next`.
    fn reject(&mut self, kind: ReceiverErrorKind, next: State, fatal: bool) -> Event {
        let tag = extract_tag(&self.cmd);
        self.cmd.clear();
        self.line_start = 0;
        self.literals = 0;
        self.tail.clear();
        self.state = next;
        Event::Error(self.error(tag, kind, fatal))
    }

    fn step_line(&mut self) -> Step {
        let rest = &self.buf[self.pos..];
        let line_len = self.cmd.len() - self.line_start;
        let Some(i) = rest.iter().position(|&b| b == b'\n') else {
            // +1: the CR of a CRLF may already be here.
            if line_len + rest.len() > self.limits.max_line + 1 {
                if self.cmd.is_empty() {
                    // Only for the tag in the error.
                    self.cmd.extend_from_slice(&rest[..rest.len().min(300)]);
                }
                let keep = rest.len().min(TAIL);
                let tail = rest[rest.len() - keep..].to_vec();
                self.pos = self.buf.len();
                let e = self.reject(ReceiverErrorKind::LineTooLong, State::Skip, false);
                self.tail = tail;
                return Step::Event(e);
            }
            self.cmd.extend_from_slice(rest);
            self.pos = self.buf.len();
            return Step::More;
        };
        let mut seg_end = i;
        if seg_end > 0 && rest[seg_end - 1] == b'\r' {
            seg_end -= 1;
        } else if seg_end == 0 && self.cmd.last() == Some(&b'\r') && line_len > 0 {
            self.cmd.pop();
        }
        if line_len + seg_end > self.limits.max_line {
            // The whole line is here: look at its end for a `{n+}` whose
            // data must be skipped.
            if self.cmd.is_empty() {
                // Only for the tag in the error.
                self.cmd.extend_from_slice(&rest[..seg_end.min(300)]);
                self.line_start = self.cmd.len();
            }
            let held = &self.cmd[self.line_start..];
            let mut tail = held[held.len().saturating_sub(TAIL)..].to_vec();
            tail.extend_from_slice(&rest[seg_end.saturating_sub(TAIL)..seg_end]);
            self.pos += i + 1;
            let next = self.after_skipped_line(&tail);
            let fatal = next == State::Line && is_non_sync(&tail);
            let e = self.reject(ReceiverErrorKind::LineTooLong, next, fatal);
            return Step::Event(e);
        }
        self.cmd.extend_from_slice(&rest[..seg_end]);
        self.pos += i + 1;
        if self.cmd.len() > self.limits.max_command {
            let line = &self.cmd[self.line_start..];
            let tail = line[line.len().saturating_sub(TAIL)..].to_vec();
            let next = self.after_skipped_line(&tail);
            let fatal = next == State::Line && is_non_sync(&tail);
            return Step::Event(self.reject(ReceiverErrorKind::CommandTooBig, next, fatal));
        }
        let line = &self.cmd[self.line_start..];
        match literal_suffix(line) {
            None => {
                if !self.report_blank && self.cmd.iter().all(|b| *b == b' ' || *b == b'\t') {
                    // Blank lines between commands are ignored.
                    self.cmd.clear();
                    self.line_start = 0;
                    return Step::Continue;
                }
                let bytes = std::mem::take(&mut self.cmd);
                self.line_start = 0;
                self.literals = 0;
                Step::Event(Event::Command(RawCommand { bytes }))
            }
            Some(lit) => self.start_literal(lit),
        }
    }

    fn start_literal(&mut self, lit: LiteralSpec) -> Step {
        let too_big_next = |lim: &Limits, size: Option<u64>| -> (State, bool) {
            if !lit.non_sync {
                // The client waits for "+" that will not come: the command
                // simply ends here.
                return (State::Line, false);
            }
            match size {
                Some(n) if n <= lim.max_discard => (State::Discard(n), false),
                _ => (State::Line, true),
            }
        };
        let size = match lit.size {
            Some(n) if n <= self.limits.max_literal => n,
            other => {
                let (next, fatal) = too_big_next(&self.limits, other);
                return Step::Event(self.reject(
                    ReceiverErrorKind::LiteralTooBig { size: other },
                    next,
                    fatal,
                ));
            }
        };
        if (self.cmd.len() as u64).saturating_add(size) > self.limits.max_command as u64 {
            let (next, fatal) = too_big_next(&self.limits, Some(size));
            return Step::Event(self.reject(ReceiverErrorKind::CommandTooBig, next, fatal));
        }
        self.literals += 1;
        if self.literals > self.limits.max_literals {
            let (next, fatal) = too_big_next(&self.limits, Some(size));
            return Step::Event(self.reject(ReceiverErrorKind::TooManyLiterals, next, fatal));
        }
        self.cmd.extend_from_slice(b"\r\n");
        self.line_start = self.cmd.len();
        self.state = if size == 0 {
            State::Line
        } else {
            State::Literal(size)
        };
        if lit.non_sync {
            Step::Continue
        } else {
            Step::Event(Event::Continue)
        }
    }

    /// After dropping a line that ended in `tail`: skip the data of a
    /// non-synchronising literal the client sends anyway.
    fn after_skipped_line(&self, tail: &[u8]) -> State {
        match literal_suffix(tail) {
            Some(LiteralSpec {
                non_sync: true,
                size: Some(n),
            }) if n <= self.limits.max_discard => {
                if n == 0 {
                    State::Skip
                } else {
                    State::Discard(n)
                }
            }
            _ => State::Line,
        }
    }

    /// Drops bytes up to the end of the line; `Some` when an event results.
    fn step_skip(&mut self) -> Option<Option<Event>> {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let mut end = i;
                if end > 0 && rest[end - 1] == b'\r' {
                    end -= 1;
                }
                let mut tail = std::mem::take(&mut self.tail);
                tail.extend_from_slice(&rest[end.saturating_sub(TAIL)..end]);
                if i == 0 && tail.last() == Some(&b'\r') {
                    tail.pop();
                }
                self.pos += i + 1;
                self.state = self.after_skipped_line(&tail);
                if self.state == State::Line && is_non_sync(&tail) {
                    let size = literal_suffix(&tail).and_then(|l| l.size);
                    // A huge non-synchronising literal follows a dropped
                    // line: there is no way to find the next command.
                    return Some(Some(Event::Error(self.error(
                        None,
                        ReceiverErrorKind::LiteralTooBig { size },
                        true,
                    ))));
                }
                None
            }
            None => {
                self.tail
                    .extend_from_slice(&rest[rest.len().saturating_sub(TAIL)..]);
                let excess = self.tail.len().saturating_sub(TAIL);
                self.tail.drain(..excess);
                self.pos = self.buf.len();
                Some(None)
            }
        }
    }
}

enum Step {
    Event(Event),
    More,
    Continue,
}

/// A literal announced at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LiteralSpec {
    /// `None` when the count overflows `u64`.
    size: Option<u64>,
    non_sync: bool,
}

/// Recognises `{digits}` or `{digits+}` at the very end of `line`.
fn literal_suffix(line: &[u8]) -> Option<LiteralSpec> {
    let inner = line.strip_suffix(b"}")?;
    let (digits_end, non_sync) = match inner.strip_suffix(b"+") {
        Some(d) => (d, true),
        None => (inner, false),
    };
    let open = digits_end.iter().rposition(|&b| b == b'{')?;
    let digits = &digits_end[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut size: Option<u64> = Some(0);
    for &d in digits {
        size = size
            .and_then(|s| s.checked_mul(10))
            .and_then(|s| s.checked_add(u64::from(d - b'0')));
    }
    Some(LiteralSpec { size, non_sync })
}

fn is_non_sync(line: &[u8]) -> bool {
    matches!(
        literal_suffix(line),
        Some(LiteralSpec { non_sync: true, .. })
    )
}

/// Tag characters: ASTRING-CHAR except `+` (RFC 3501 `tag`).
pub fn is_tag_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
}

/// The tag at the start of a command, if it is valid and followed by a space.
pub(crate) fn extract_tag(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == b' ')?;
    let tag = &bytes[..end];
    if tag.is_empty() || tag.len() > 256 || !tag.iter().all(|&b| is_tag_char(b)) {
        return None;
    }
    Some(String::from_utf8_lossy(tag).into_owned())
}

#[cfg(test)]
mod tests;
