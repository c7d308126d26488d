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
