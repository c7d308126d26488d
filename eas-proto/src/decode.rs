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
        // The new element sits at depth stack.len() + 1, with or without content.
        if self.stack.len() >= self.limits.max_depth {
            return Err(WbxmlError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        let element = Element::new(self.page, token);
        if byte & TAG_CONTENT != 0 {
            self.stack.push(element);
        } else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codepage::{AIRSYNC, COMPOSE_MAIL, FOLDER_HIERARCHY};
    use crate::encode;

    /// `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`
    /// as libwbxml and other EAS encoders write it.
    const FOLDER_SYNC: &[u8] = &[
        0x03, 0x01, 0x6a, 0x00, 0x00, 0x07, 0x56, 0x52, 0x03, 0x30, 0x00, 0x01, 0x01,
    ];

    fn body(bytes: &[u8]) -> Vec<u8> {
        let mut v = EAS_HEADER.to_vec();
        v.extend_from_slice(bytes);
        v
    }

    #[test]
    fn decodes_and_encodes_folder_sync() {
        let doc = decode(FOLDER_SYNC).unwrap();
        let expected = Element::new(FOLDER_HIERARCHY, 0x16).child(Element::with_text(
            FOLDER_HIERARCHY,
            0x12,
            "0",
        ));
        assert_eq!(doc.root, expected);
        assert_eq!(encode(&doc).unwrap(), FOLDER_SYNC);
    }

    #[test]
    fn opaque_and_empty_elements() {
        // SendMail { ClientId "1", SaveInSentItems (empty), Mime OPAQUE 3 }
        let bytes = body(&[
            0x00, 0x15, 0x45, 0x51, 0x03, b'1', 0x00, 0x01, 0x08, 0x50, 0xC3, 0x03, 0, 1, 2, 0x01,
            0x01,
        ]);
        let doc = decode(&bytes).unwrap();
        assert_eq!(
            doc.root,
            Element::new(COMPOSE_MAIL, 0x05)
                .child(Element::with_text(COMPOSE_MAIL, 0x11, "1"))
                .child(Element::new(COMPOSE_MAIL, 0x08))
                .child(Element::with_opaque(COMPOSE_MAIL, 0x10, vec![0, 1, 2]))
        );
        assert_eq!(encode(&doc).unwrap(), bytes);
    }

    #[test]
    fn header_is_checked() {
        assert_eq!(decode(&[]), Err(WbxmlError::Truncated { offset: 0 }));
        assert_eq!(
            decode(&[0x02, 0x01, 0x6a, 0x00, 0x05]),
            Err(WbxmlError::UnsupportedVersion(2))
        );
        assert_eq!(
            decode(&[0x03, 0x00, 0x00, 0x6a, 0x00]),
            Err(WbxmlError::PublicIdInStringTable)
        );
        assert_eq!(
            decode(&[0x03, 0x01, 0x04, 0x00, 0x05]),
            Err(WbxmlError::UnsupportedCharset(4))
        );
        assert_eq!(
            decode(&[0x03, 0x01, 0x6a, 0x02, b'a', 0, 0x05]),
            Err(WbxmlError::StringTableNotSupported(2))
        );
        assert_eq!(
            decode(&[0x03, 0x01, 0x6a]),
            Err(WbxmlError::Truncated { offset: 3 })
        );
    }

    #[test]
    fn truncated_input_is_refused_at_every_length() {
        for len in 0..FOLDER_SYNC.len() {
            assert!(
                decode(&FOLDER_SYNC[..len]).is_err(),
                "prefix of {len} bytes decoded"
            );
        }
        assert_eq!(
            decode(&body(&[0x45, 0x03, b'a'])),
            Err(WbxmlError::Truncated { offset: 7 })
        );
        assert_eq!(
            decode(&body(&[0x45, 0xC3, 0x05, 1, 2])),
            Err(WbxmlError::Truncated { offset: 9 })
        );
        assert_eq!(decode(&body(&[0x45])), Err(WbxmlError::Unclosed(1)));
        assert_eq!(
            decode(&body(&[0x00])),
            Err(WbxmlError::Truncated { offset: 5 })
        );
    }

    #[test]
    fn bad_pages_tags_and_tokens() {
        assert_eq!(
            decode(&body(&[0x00, 0x1A, 0x05])),
            Err(WbxmlError::UnknownCodePage {
                page: 26,
                offset: 4
            })
        );
        assert_eq!(
            decode(&body(&[0x7F, 0x01])),
            Err(WbxmlError::UnknownTag {
                page: AIRSYNC,
                token: 0x3F,
                offset: 4
            })
        );
        assert_eq!(
            decode(&body(&[0x83, 0x00])),
            Err(WbxmlError::StringTableReference { offset: 4 })
        );
        assert_eq!(
            decode(&body(&[0x04, 0x00])),
            Err(WbxmlError::LiteralNotSupported { offset: 4 })
        );
        assert_eq!(
            decode(&body(&[0xC4, 0x00])),
            Err(WbxmlError::LiteralNotSupported { offset: 4 })
        );
        assert_eq!(
            decode(&body(&[0xC5, 0x01])),
            Err(WbxmlError::AttributesNotSupported { offset: 4 })
        );
        assert_eq!(
            decode(&body(&[0x85, 0x01])),
            Err(WbxmlError::AttributesNotSupported { offset: 4 })
        );
        for token in [
            0x02, 0x40, 0x41, 0x42, 0x43, 0x80, 0x81, 0x82, 0xC0, 0xC1, 0xC2,
        ] {
            assert_eq!(
                decode(&body(&[0x45, token, 0x01])),
                Err(WbxmlError::UnsupportedToken { token, offset: 5 })
            );
        }
    }

    #[test]
    fn structure_errors() {
        assert!(matches!(
            decode(&body(&[0x01])),
            Err(WbxmlError::Misplaced { .. })
        ));
        assert!(matches!(
            decode(&body(&[0x03, b'a', 0x00])),
            Err(WbxmlError::Misplaced { .. })
        ));
        assert!(matches!(
            decode(&body(&[])),
            Err(WbxmlError::Misplaced { .. })
        ));
        assert_eq!(
            decode(&body(&[0x05, 0x05])),
            Err(WbxmlError::TrailingData(1))
        );
        assert_eq!(
            decode(&body(&[0x45, 0x01, 0x00, 0x00])),
            Err(WbxmlError::TrailingData(2))
        );
        assert_eq!(
            decode(&body(&[0x45, 0x03, 0xFF, 0xFE, 0x00, 0x01])),
            Err(WbxmlError::InvalidUtf8 { offset: 6 })
        );
    }

    #[test]
    fn huge_multibyte_integers_are_refused() {
        assert_eq!(
            decode(&body(&[0x45, 0xC3, 0x90, 0x80, 0x80, 0x80, 0x00, 0x01])),
            Err(WbxmlError::IntegerOverflow { offset: 6 })
        );
        assert_eq!(
            decode(&body(&[
                0x45, 0xC3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01
            ])),
            Err(WbxmlError::IntegerOverflow { offset: 6 })
        );
        // u32::MAX is a valid length but far beyond the input and the limit.
        assert_eq!(
            decode(&body(&[0x45, 0xC3, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F, 0x01])),
            Err(WbxmlError::OpaqueTooLong {
                len: u64::from(u32::MAX),
                limit: Limits::DEFAULT.max_opaque_bytes
            })
        );
    }

    #[test]
    fn deep_nesting_hits_the_depth_limit() {
        let mut nested = vec![0x45u8; 100_000];
        nested.extend(std::iter::repeat_n(0x01u8, 100_000));
        assert_eq!(
            decode(&body(&nested)),
            Err(WbxmlError::TooDeep { limit: 64 })
        );
        let limits = Limits {
            max_depth: 3,
            ..Limits::DEFAULT
        };
        assert!(decode_with_limits(&body(&[0x45, 0x45, 0x45, 0x01, 0x01, 0x01]), &limits).is_ok());
        assert_eq!(
            decode_with_limits(&body(&[0x45, 0x45, 0x45, 0x05, 0x01, 0x01, 0x01]), &limits),
            Err(WbxmlError::TooDeep { limit: 3 })
        );
        assert_eq!(
            decode_with_limits(
                &body(&[0x45, 0x45, 0x45, 0x45, 0x01, 0x01, 0x01, 0x01]),
                &limits
            ),
            Err(WbxmlError::TooDeep { limit: 3 })
        );
    }

    #[test]
    fn size_node_and_length_limits() {
        let small = Limits {
            max_document_bytes: 10,
            ..Limits::DEFAULT
        };
        assert_eq!(
            decode_with_limits(&body(&[0x45, 0x05, 0x05, 0x05, 0x05, 0x05, 0x01]), &small),
            Err(WbxmlError::DocumentTooLarge {
                size: 11,
                limit: 10
            })
        );
        let limits = Limits {
            max_nodes: 3,
            max_string_bytes: 2,
            max_opaque_bytes: 2,
            ..Limits::DEFAULT
        };
        assert_eq!(
            decode_with_limits(&body(&[0x45, 0x05, 0x05, 0x05, 0x01]), &limits),
            Err(WbxmlError::TooManyNodes { limit: 3 })
        );
        assert_eq!(
            decode_with_limits(&body(&[0x45, 0x03, b'a', b'b', b'c', 0x00, 0x01]), &limits),
            Err(WbxmlError::StringTooLong { limit: 2 })
        );
        assert_eq!(
            decode_with_limits(&body(&[0x45, 0xC3, 0x03, 1, 2, 3, 0x01]), &limits),
            Err(WbxmlError::OpaqueTooLong { len: 3, limit: 2 })
        );
        assert!(decode_with_limits(&body(&[0x45, 0x03, b'a', b'b', 0x00, 0x01]), &limits).is_ok());
    }

    #[test]
    fn redundant_page_switches_and_empty_content_decode_to_the_same_tree() {
        let a = decode(&body(&[
            0x00, 0x00, 0x00, 0x07, 0x00, 0x07, 0x56, 0x52, 0x01, 0x01,
        ]))
        .unwrap();
        let b = decode(&body(&[0x00, 0x07, 0x56, 0x12, 0x01])).unwrap();
        assert_eq!(a, b);
        assert_eq!(encode(&a).unwrap(), body(&[0x00, 0x07, 0x56, 0x12, 0x01]));
    }
}
