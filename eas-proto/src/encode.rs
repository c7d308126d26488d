//! A [`Document`] to WBXML bytes, the way EAS peers (and libwbxml's
//! `xml2wbxml -n -a`) write them: the [`EAS_HEADER`], SWITCH_PAGE only when
//! the page changes, the content bit only on elements with children, text
//! as STR_I and binary data as OPAQUE.

use crate::codepage;
use crate::mb_uint;
use crate::token::*;
use crate::{Document, Element, Limits, Node, WbxmlError};

/// Encodes a document with [`Limits::DEFAULT`].
pub fn encode(document: &Document) -> Result<Vec<u8>, WbxmlError> {
    encode_with_limits(document, &Limits::DEFAULT)
}

/// Encodes a document, refusing one the decoder with `limits` would refuse
/// (unknown tags, too deep, too many nodes, too large, text with NUL).
pub fn encode_with_limits(document: &Document, limits: &Limits) -> Result<Vec<u8>, WbxmlError> {
    let mut encoder = Encoder {
        out: EAS_HEADER.to_vec(),
        limits,
        page: codepage::AIRSYNC,
        nodes: 0,
    };
    encoder.element(&document.root, 1)?;
    Ok(encoder.out)
}

struct Encoder<'a> {
    out: Vec<u8>,
    limits: &'a Limits,
    page: u8,
    nodes: usize,
}

impl Encoder<'_> {
    fn count_node(&mut self) -> Result<(), WbxmlError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(WbxmlError::TooManyNodes {
                limit: self.limits.max_nodes,
            });
        }
        Ok(())
    }

    fn check_size(&self) -> Result<(), WbxmlError> {
        if self.out.len() > self.limits.max_document_bytes {
            return Err(WbxmlError::DocumentTooLarge {
                size: self.out.len(),
                limit: self.limits.max_document_bytes,
            });
        }
        Ok(())
    }

    fn element(&mut self, element: &Element, depth: usize) -> Result<(), WbxmlError> {
        if depth > self.limits.max_depth {
            return Err(WbxmlError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        self.count_node()?;
        if codepage::tag(element.page, element.token).is_none() {
            return Err(WbxmlError::UnknownTag {
                page: element.page,
                token: element.token,
                offset: self.out.len(),
            });
        }
        if element.page != self.page {
            self.out.extend_from_slice(&[SWITCH_PAGE, element.page]);
            self.page = element.page;
        }
        if element.children.is_empty() {
            self.out.push(element.token);
            return Ok(());
        }
        self.out.push(element.token | TAG_CONTENT);
        for child in &element.children {
            match child {
                Node::Element(e) => self.element(e, depth + 1)?,
                Node::Text(text) => {
                    self.count_node()?;
                    if text.len() > self.limits.max_string_bytes {
                        return Err(WbxmlError::StringTooLong {
                            limit: self.limits.max_string_bytes,
                        });
                    }
                    if text.as_bytes().contains(&0) {
                        return Err(WbxmlError::NulInText);
                    }
                    self.out.push(STR_I);
                    self.out.extend_from_slice(text.as_bytes());
                    self.out.push(0);
                }
                Node::Opaque(bytes) => {
                    self.count_node()?;
                    let len = u32::try_from(bytes.len())
                        .ok()
                        .filter(|_| bytes.len() <= self.limits.max_opaque_bytes)
                        .ok_or(WbxmlError::OpaqueTooLong {
                            len: bytes.len() as u64,
                            limit: self.limits.max_opaque_bytes,
                        })?;
                    self.out.push(OPAQUE);
                    mb_uint::write(&mut self.out, len);
                    self.out.extend_from_slice(bytes);
                }
            }
            self.check_size()?;
        }
        self.out.push(END);
        self.check_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codepage::{AIRSYNC, AIR_SYNC_BASE, EMAIL};

    #[test]
    fn switches_page_only_when_it_changes() {
        let doc = Document {
            root: Element::new(AIRSYNC, 0x1D)
                .child(Element::with_text(EMAIL, 0x14, "Hi"))
                .child(Element::new(AIR_SYNC_BASE, 0x0A).child(Element::with_text(
                    AIR_SYNC_BASE,
                    0x06,
                    "1",
                )))
                .child(Element::new(EMAIL, 0x15)),
        };
        assert_eq!(
            encode(&doc).unwrap(),
            [
                0x03, 0x01, 0x6A, 0x00, 0x5D, 0x00, 0x02, 0x54, 0x03, b'H', b'i', 0x00, 0x01, 0x00,
                0x11, 0x4A, 0x46, 0x03, b'1', 0x00, 0x01, 0x01, 0x00, 0x02, 0x15, 0x01
            ]
        );
    }

    #[test]
    fn refuses_what_it_could_not_decode() {
        let unknown = Document {
            root: Element::new(AIRSYNC, 0x3F),
        };
        assert!(matches!(
            encode(&unknown),
            Err(WbxmlError::UnknownTag { .. })
        ));
        let nul = Document {
            root: Element::with_text(AIRSYNC, 0x0B, "a\0b"),
        };
        assert_eq!(encode(&nul), Err(WbxmlError::NulInText));
        let mut deep = Element::new(AIRSYNC, 0x05);
        for _ in 0..70 {
            deep = Element::new(AIRSYNC, 0x05).child(deep);
        }
        assert_eq!(
            encode(&Document { root: deep }),
            Err(WbxmlError::TooDeep { limit: 64 })
        );
        let limits = Limits {
            max_document_bytes: 8,
            ..Limits::DEFAULT
        };
        let big = Document {
            root: Element::with_text(AIRSYNC, 0x0B, "0123456789"),
        };
        assert!(matches!(
            encode_with_limits(&big, &limits),
            Err(WbxmlError::DocumentTooLarge { .. })
        ));
    }
}
