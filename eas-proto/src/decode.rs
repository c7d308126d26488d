//! WBXML bytes to a [`Document`].
//!
//! The decoder is iterative (an explicit stack of open elements), so the
//! depth limit, not the thread's stack, bounds nesting. Every length read
//! from the input is checked against the bytes left and the [`Limits`]
//! before anything is allocated.

use crate::codepage;
use crate::mb_uint;
use crate::token::*;
use crate::{Document, Element, Limits, Node, WbxmlError};

/// Decodes an EAS WBXML document with [`Limits::DEFAULT`].
pub fn decode(input: &[u8]) -> Result<Document, WbxmlError> {
    decode_with_limits(input, &Limits::DEFAULT)
}

/// Decodes an EAS WBXML document with the given limits.
pub fn decode_with_limits(input: &[u8], limits: &Limits) -> Result<Document, WbxmlError> {
    if input.len() > limits.max_document_bytes {
        return Err(WbxmlError::DocumentTooLarge {
            size: input.len(),
            limit: limits.max_document_bytes,
        });
    }
    let mut pos = read_header(input)?;
    Decoder {
        input,
        limits,
        page: codepage::AIRSYNC,
        stack: Vec::new(),
        root: None,
        nodes: 0,
    }
    .body(&mut pos)
}

/// Checks the header and returns the offset of the body.
fn read_header(input: &[u8]) -> Result<usize, WbxmlError> {
    let version = *input.first().ok_or(WbxmlError::Truncated { offset: 0 })?;
    if version != VERSION_1_3 {
        return Err(WbxmlError::UnsupportedVersion(version));
    }
    let mut pos = 1;
    if mb_uint::read(input, &mut pos)? == 0 {
        return Err(WbxmlError::PublicIdInStringTable);
    }
    let charset = mb_uint::read(input, &mut pos)?;
    if charset != CHARSET_UTF8 {
        return Err(WbxmlError::UnsupportedCharset(charset));
    }
    let strtbl = mb_uint::read(input, &mut pos)?;
    if strtbl != 0 {
        return Err(WbxmlError::StringTableNotSupported(strtbl));
    }
    Ok(pos)
}

struct Decoder<'a> {
    input: &'a [u8],
    limits: &'a Limits,
    /// The current code page (SWITCH_PAGE state; starts at page 0).
    page: u8,
    /// Open elements, innermost last.
    stack: Vec<Element>,
    /// The root once it is closed.
    root: Option<Element>,
    nodes: usize,
}

impl Decoder<'_> {
    fn body(mut self, pos: &mut usize) -> Result<Document, WbxmlError> {
        while *pos < self.input.len() {
            if self.root.is_some() {
                return Err(WbxmlError::TrailingData(self.input.len() - *pos));
            }
            let offset = *pos;
            let byte = self.input[offset];
            *pos += 1;
            match byte {
                SWITCH_PAGE => {
                    let page = *self
                        .input
                        .get(*pos)
                        .ok_or(WbxmlError::Truncated { offset: *pos })?;
                    if codepage::page(page).is_none() {
                        return Err(WbxmlError::UnknownCodePage { page, offset });
                    }
                    self.page = page;
                    *pos += 1;
                }
                END => self.end(offset)?,
                STR_I => {
                    let text = self.inline_string(pos)?;
                    self.content(Node::Text(text), "inline string", offset)?;
                }
                OPAQUE => {
                    let bytes = self.opaque(pos)?;
                    self.content(Node::Opaque(bytes), "opaque data", offset)?;
                }
                STR_T => return Err(WbxmlError::StringTableReference { offset }),
                LITERAL | LITERAL_A | LITERAL_C | LITERAL_AC => {
                    return Err(WbxmlError::LiteralNotSupported { offset })
                }
                ENTITY | PI | EXT_I_0..=EXT_I_2 | EXT_T_0..=EXT_T_2 | EXT_0..=EXT_2 => {
                    return Err(WbxmlError::UnsupportedToken {
                        token: byte,
                        offset,
                    })
                }
                tag => self.tag(tag, offset)?,
            }
        }
        if !self.stack.is_empty() {
            return Err(WbxmlError::Unclosed(self.stack.len()));
        }
        match self.root {
            Some(root) => Ok(Document { root }),
            None => Err(WbxmlError::Misplaced {
                what: "end of document before the root element",
                offset: self.input.len(),
            }),
        }
    }

    fn count_node(&mut self) -> Result<(), WbxmlError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(WbxmlError::TooManyNodes {
                limit: self.limits.max_nodes,
            });
        }
        Ok(())
    }

    fn tag(&mut self, byte: u8, offset: usize) -> Result<(), WbxmlError> {
        if byte & TAG_ATTRIBUTES != 0 {
            return Err(WbxmlError::AttributesNotSupported { offset });
        }
        let token = byte & TAG_MASK;
        if codepage::tag(self.page, token).is_none() {
            return Err(WbxmlError::UnknownTag {
                page: self.page,
                token,
                offset,
            });
        }
        if self.stack.is_empty() && self.root.is_some() {
            return Err(WbxmlError::Misplaced {
                what: "second root element",
                offset,
            });
        }
        self.count_node()?;
        let element = Element::new(self.page, token);
        if byte & TAG_CONTENT != 0 {
            if self.stack.len() >= self.limits.max_depth {
                return Err(WbxmlError::TooDeep {
                    limit: self.limits.max_depth,
                });
            }
            self.stack.push(element);
        } else {
            if self.stack.len() >= self.limits.max_depth {
                return Err(WbxmlError::TooDeep {
                    limit: self.limits.max_depth,
                });
            }
            self.attach(element);
        }
        Ok(())
    }

    /// Puts a finished element into its parent, or makes it the root.
    fn attach(&mut self, element: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(element)),
            None => self.root = Some(element),
        }
    }

    fn end(&mut self, offset: usize) -> Result<(), WbxmlError> {
        let element = self.stack.pop().ok_or(WbxmlError::Misplaced {
            what: "END outside an element",
            offset,
        })?;
        self.attach(element);
        Ok(())
    }

    fn content(&mut self, node: Node, what: &'static str, offset: usize) -> Result<(), WbxmlError> {
        self.count_node()?;
        match self.stack.last_mut() {
            Some(parent) => {
                parent.children.push(node);
                Ok(())
            }
            None => Err(WbxmlError::Misplaced { what, offset }),
        }
    }

    fn inline_string(&self, pos: &mut usize) -> Result<String, WbxmlError> {
        let start = *pos;
        let rest = &self.input[start..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(WbxmlError::Truncated {
                offset: self.input.len(),
            })?;
        if len > self.limits.max_string_bytes {
            return Err(WbxmlError::StringTooLong {
                limit: self.limits.max_string_bytes,
            });
        }
        let text = std::str::from_utf8(&rest[..len])
            .map_err(|_| WbxmlError::InvalidUtf8 { offset: start })?;
        *pos = start + len + 1;
        Ok(text.to_owned())
    }

    fn opaque(&self, pos: &mut usize) -> Result<Vec<u8>, WbxmlError> {
        let len = mb_uint::read(self.input, pos)?;
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        if len_usize > self.limits.max_opaque_bytes {
            return Err(WbxmlError::OpaqueTooLong {
                len: u64::from(len),
                limit: self.limits.max_opaque_bytes,
            });
        }
        let start = *pos;
        let end = start
            .checked_add(len_usize)
            .filter(|&e| e <= self.input.len())
            .ok_or(WbxmlError::Truncated {
                offset: self.input.len(),
            })?;
        *pos = end;
        Ok(self.input[start..end].to_vec())
    }
}
