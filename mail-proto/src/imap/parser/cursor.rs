//! Byte cursor with the RFC 3501 lexical primitives (atoms, strings,
//! literals, numbers). Literals arrive framed by the receiver as
//! `{n}\r\n` + `n` bytes.

use super::ParseErrorKind as K;

/// Atom characters: any CHAR except atom-specials (`( ) { SP CTL % * " \ ]`).
pub fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// ASTRING-CHAR: atom characters plus `]`.
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// list-char: ASTRING-CHAR plus the wildcards `%` and `*`.
fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

pub(crate) type PResult<T> = Result<T, K>;

pub(crate) struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Cursor { b, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub(crate) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, c: u8, what: &'static str) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(K::Expected(what))
        }
    }

    pub(crate) fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "space")
    }

    pub(crate) fn end(&mut self) -> PResult<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(K::TrailingData)
        }
    }

    /// Consumes `word` case-insensitively if it is next and not followed by
    /// another atom character.
    pub(crate) fn keyword(&mut self, word: &str) -> bool {
        let w = word.as_bytes();
        let end = self.pos + w.len();
        if end <= self.b.len()
            && self.b[self.pos..end].eq_ignore_ascii_case(w)
            && !self
                .b
                .get(end)
                .is_some_and(|&c| is_atom_char(c) && c != b'[' && c != b'<')
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// Takes bytes while `f` holds.
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        &self.b[start..self.pos]
    }

    pub(crate) fn atom(&mut self) -> PResult<&'a [u8]> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() {
            Err(K::Expected("atom"))
        } else {
            Ok(a)
        }
    }

    /// An atom returned upper-cased (command names, options).
    pub(crate) fn atom_upper(&mut self) -> PResult<String> {
        Ok(String::from_utf8_lossy(self.atom()?).to_ascii_uppercase())
    }

    pub(crate) fn number(&mut self) -> PResult<u32> {
        let n = self.number64()?;
        u32::try_from(n).map_err(|_| K::NumberTooBig)
    }

    pub(crate) fn nz_number(&mut self) -> PResult<u32> {
        match self.number()? {
            0 => Err(K::Expected("non-zero number")),
            n => Ok(n),
        }
    }

    /// A 63-bit number (RFC 7162 `mod-sequence-value`).
    pub(crate) fn number64(&mut self) -> PResult<u64> {
        let digits = self.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err(K::Expected("number"));
        }
        let mut n: u64 = 0;
        for &d in digits {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .filter(|n| *n <= i64::MAX as u64)
                .ok_or(K::NumberTooBig)?;
        }
        Ok(n)
    }

    pub(crate) fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'"', "quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(K::Expected("closing quote")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => return Err(K::Expected("quoted-special after backslash")),
                    }
                }
                Some(b'\r' | b'\n' | 0) => return Err(K::Expected("closing quote")),
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `{n}` / `{n+}` (and `~{n}` when `allow8` for literal8) followed by
    /// CRLF and exactly `n` bytes, as framed by the receiver.
    pub(crate) fn literal(&mut self, allow8: bool) -> PResult<&'a [u8]> {
        let is8 = allow8 && self.eat(b'~');
        self.expect(b'{', "literal")?;
        let n = self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "literal closing brace")?;
        if !(self.eat(b'\r') && self.eat(b'\n')) {
            return Err(K::Expected("CRLF after literal count"));
        }
        let n = usize::try_from(n).map_err(|_| K::NumberTooBig)?;
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(K::Expected("literal data"))?;
        let data = &self.b[self.pos..end];
        self.pos = end;
        if !is8 && data.contains(&0) {
            return Err(K::NulInLiteral);
        }
        Ok(data)
    }

    pub(crate) fn string(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => Ok(self.literal(false)?.to_vec()),
            _ => Err(K::Expected("string")),
        }
    }

    pub(crate) fn astring(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let a = self.take_while(is_astring_char);
                if a.is_empty() {
                    Err(K::Expected("astring"))
                } else {
                    Ok(a.to_vec())
                }
            }
        }
    }

    /// `nstring`: a string or NIL.
    pub(crate) fn nstring(&mut self) -> PResult<Option<Vec<u8>>> {
        if self.keyword("NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// `list-mailbox`: a LIST pattern, wildcards allowed unquoted.
    pub(crate) fn list_mailbox(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let a = self.take_while(is_list_char);
                if a.is_empty() {
                    Err(K::Expected("mailbox pattern"))
                } else {
                    Ok(a.to_vec())
                }
            }
        }
    }

    /// Parses `( item *(SP item) )`, or `()` when `allow_empty`.
    pub(crate) fn paren_list<T>(
        &mut self,
        allow_empty: bool,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect(b'(', "(")?;
        let mut out = Vec::new();
        if self.eat(b')') {
            return if allow_empty {
                Ok(out)
            } else {
                Err(K::Expected("list item"))
            };
        }
        loop {
            out.push(item(self)?);
            if self.eat(b')') {
                return Ok(out);
            }
            self.sp()?;
        }
    }
}
