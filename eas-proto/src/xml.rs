//! An XML form of the document tree, in the dialect of libwbxml's
//! `wbxml2xml -l ACTIVESYNC` and `xml2wbxml`: each code page is the XML
//! namespace `<Page>:` (`AirSync:`, `Gal:`, ...), declared as a default
//! namespace on every element whose page differs from its parent's, and tag
//! names are spelled as libwbxml spells them (see [`crate::codepage`]).
//!
//! This form serves tests (comparing with libwbxml) and diagnostics; the
//! server speaks WBXML only. Two rules follow libwbxml so that trees
//! compare equal:
//! - reading drops whitespace-only text and trims text at both ends;
//! - content of a binary tag ([`crate::codepage::TagDef::binary`]) is base64
//!   in XML and OPAQUE in the tree. Opaque content of any other tag is
//!   written as text when it is UTF-8 (so it reads back as text, as with
//!   libwbxml), else as base64.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use thiserror::Error;

use crate::codepage::{self, TagDef};
use crate::{Document, Element, Node};

/// The prologue libwbxml writes before an ActiveSync document.
pub const PROLOGUE: &str = "<?xml version=\"1.0\"?>\n<!DOCTYPE ActiveSync PUBLIC \
\"-//MICROSOFT//DTD ActiveSync//EN\" \"http://www.microsoft.com/\">\n";

/// Why an XML text could not be read as an EAS document.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum XmlError {
    /// The XML is not well-formed.
    #[error("XML syntax: {0}")]
    Syntax(String),
    /// An element is in no namespace or one that names no code page.
    #[error("element <{name}> is in no known code page namespace ({namespace:?})")]
    UnknownNamespace {
        /// The element's qualified name.
        name: String,
        /// The namespace it resolved to, if any.
        namespace: Option<String>,
    },
    /// A tag name not defined on its code page.
    #[error("no tag <{name}> on code page {page}")]
    UnknownTag {
        /// The local name.
        name: String,
        /// The page of its namespace.
        page: u8,
    },
    /// An attribute other than a namespace declaration.
    #[error("attribute {0} is not supported (EAS uses none)")]
    Attribute(String),
    /// Content of a binary tag is not base64.
    #[error("content of <{0}> is not base64")]
    Base64(String),
    /// No root element, text outside it, or a second root.
    #[error("document structure: {0}")]
    Structure(&'static str),
}

/// Writes `document` in the compact XML form, with libwbxml's prologue.
pub fn to_xml(document: &Document) -> String {
    let mut out = String::from(PROLOGUE);
    write_element(&mut out, &document.root, None);
    out
}

fn write_element(out: &mut String, element: &Element, parent_page: Option<u8>) {
    let def = codepage::tag(element.page, element.token);
    let name = def.map_or("unknown", TagDef::xml_name);
    out.push('<');
    out.push_str(name);
    if parent_page != Some(element.page) {
        let ns = codepage::page(element.page).map_or("", |p| p.xml_namespace);
        out.push_str(" xmlns=\"");
        out.push_str(ns);
        out.push('"');
    }
    if element.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    let binary = def.is_some_and(|d| d.binary);
    for child in &element.children {
        match child {
            Node::Element(e) => write_element(out, e, Some(element.page)),
            Node::Text(t) => out.push_str(&quick_xml::escape::escape(t.as_str())),
            Node::Opaque(bytes) => match std::str::from_utf8(bytes) {
                Ok(t) if !binary => out.push_str(&quick_xml::escape::escape(t)),
                _ => out.push_str(&BASE64.encode(bytes)),
            },
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// One open element while reading, with the namespace declarations it made.
struct Open {
    element: Element,
    binary: bool,
    name: String,
    default_ns: Option<String>,
    prefixes: Vec<(String, String)>,
}

/// Reads the XML form (libwbxml's dialect, or the specification's tag and
/// namespace names; prefixed and default namespaces both work).
///
/// A helper for tests and tools: it applies none of the [`crate::Limits`]
/// (encoding the result does), so it is not meant for untrusted input.
pub fn from_xml(xml: &str) -> Result<Document, XmlError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Element> = None;
    let mut pending = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| XmlError::Syntax(e.to_string()))?;
        match event {
            Event::Start(start) => {
                flush_text(&mut stack, &mut pending)?;
                let open = open_element(&stack, &start, root.is_some())?;
                stack.push(open);
            }
            Event::Empty(start) => {
                flush_text(&mut stack, &mut pending)?;
                let open = open_element(&stack, &start, root.is_some())?;
                close(&mut stack, &mut root, open.element);
            }
            Event::End(_) => {
                flush_text(&mut stack, &mut pending)?;
                let open = stack
                    .pop()
                    .ok_or(XmlError::Structure("end tag without start"))?;
                close(&mut stack, &mut root, open.element);
            }
            Event::Text(text) => {
                let t = text
                    .xml_content()
                    .map_err(|e| XmlError::Syntax(e.to_string()))?;
                pending.push_str(&t);
            }
            Event::CData(data) => {
                let t = data.decode().map_err(|e| XmlError::Syntax(e.to_string()))?;
                pending.push_str(&t);
            }
            Event::GeneralRef(r) => {
                if let Some(c) = r
                    .resolve_char_ref()
                    .map_err(|e| XmlError::Syntax(e.to_string()))?
                {
                    pending.push(c);
                } else {
                    let name = r.decode().map_err(|e| XmlError::Syntax(e.to_string()))?;
                    let value = quick_xml::escape::resolve_xml_entity(&name)
                        .ok_or_else(|| XmlError::Syntax(format!("unknown entity &{name};")))?;
                    pending.push_str(value);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Structure("unclosed element"));
    }
    if !pending.trim().is_empty() {
        return Err(XmlError::Structure("text outside the root element"));
    }
    root.map(|root| Document { root })
        .ok_or(XmlError::Structure("no root element"))
}

fn close(stack: &mut [Open], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.element.children.push(Node::Element(element)),
        None => *root = Some(element),
    }
}

/// Turns the text gathered since the last tag into a child of the current
/// element: trimmed, dropped when blank, base64-decoded for binary tags.
fn flush_text(stack: &mut [Open], pending: &mut String) -> Result<(), XmlError> {
    let text = pending.trim();
    if text.is_empty() {
        pending.clear();
        return Ok(());
    }
    let open = stack
        .last_mut()
        .ok_or(XmlError::Structure("text outside the root element"))?;
    let node = if open.binary {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        Node::Opaque(
            BASE64
                .decode(compact.as_bytes())
                .map_err(|_| XmlError::Base64(open.name.clone()))?,
        )
    } else {
        Node::Text(text.to_owned())
    };
    open.element.children.push(node);
    pending.clear();
    Ok(())
}

fn open_element(stack: &[Open], start: &BytesStart, have_root: bool) -> Result<Open, XmlError> {
    if stack.is_empty() && have_root {
        return Err(XmlError::Structure("second root element"));
    }
    let qname = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut default_ns = None;
    let mut prefixes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError::Syntax(e.to_string()))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .unescape_value()
            .map_err(|e| XmlError::Syntax(e.to_string()))?
            .into_owned();
        if key == "xmlns" {
            default_ns = Some(value);
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            prefixes.push((prefix.to_owned(), value));
        } else {
            return Err(XmlError::Attribute(key));
        }
    }
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname.as_str()),
    };
    let namespace = resolve(stack, &default_ns, &prefixes, prefix);
    let page = namespace
        .as_deref()
        .and_then(codepage::page_by_namespace)
        .ok_or_else(|| XmlError::UnknownNamespace {
            name: qname.clone(),
            namespace: namespace.clone(),
        })?;
    let def = page
        .tag_by_name(local)
        .ok_or_else(|| XmlError::UnknownTag {
            name: local.to_owned(),
            page: page.number,
        })?;
    Ok(Open {
        element: Element::new(page.number, def.token),
        binary: def.binary,
        name: local.to_owned(),
        default_ns,
        prefixes,
    })
}

/// The namespace of `prefix` (or the default namespace), innermost first.
fn resolve(
    stack: &[Open],
    own_default: &Option<String>,
    own_prefixes: &[(String, String)],
    prefix: Option<&str>,
) -> Option<String> {
    let scopes = std::iter::once((own_default, own_prefixes)).chain(
        stack
            .iter()
            .rev()
            .map(|o| (&o.default_ns, o.prefixes.as_slice())),
    );
    for (default, prefixes) in scopes {
        match prefix {
            None => {
                if let Some(ns) = default {
                    return Some(ns.clone());
                }
            }
            Some(p) => {
                if let Some((_, ns)) = prefixes.iter().find(|(q, _)| q == p) {
                    return Some(ns.clone());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codepage::{AIR_SYNC_BASE, COMPOSE_MAIL, EMAIL, FOLDER_HIERARCHY};

    #[test]
    fn reads_prefixed_and_default_namespaces_alike() {
        let a =
            from_xml("<FolderSync xmlns=\"FolderHierarchy:\"><SyncKey> 0 </SyncKey></FolderSync>")
                .unwrap();
        let b = from_xml("<f:FolderSync xmlns:f=\"FolderHierarchy\">\n <f:SyncKey>0</f:SyncKey>\n</f:FolderSync>")
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.root,
            Element::new(FOLDER_HIERARCHY, 0x16).child(Element::with_text(
                FOLDER_HIERARCHY,
                0x12,
                "0"
            ))
        );
    }

    #[test]
    fn binary_tags_are_base64_and_round_trip() {
        let doc = Document {
            root: Element::new(COMPOSE_MAIL, 0x05)
                .child(Element::with_opaque(
                    COMPOSE_MAIL,
                    0x10,
                    b"a\x00b<".to_vec(),
                ))
                .child(Element::with_text(EMAIL, 0x14, "x < y & z"))
                .child(Element::new(AIR_SYNC_BASE, 0x0A)),
        };
        let xml = to_xml(&doc);
        assert!(xml.contains("<MIME>YQBiPA==</MIME>"), "{xml}");
        assert!(
            xml.contains("<Subject xmlns=\"Email:\">x &lt; y &amp; z</Subject>"),
            "{xml}"
        );
        assert_eq!(from_xml(&xml).unwrap(), doc);
    }

    #[test]
    fn refuses_what_is_not_eas() {
        assert!(matches!(
            from_xml("<Sync/>"),
            Err(XmlError::UnknownNamespace { .. })
        ));
        assert!(matches!(
            from_xml("<Nope xmlns=\"AirSync:\"/>"),
            Err(XmlError::UnknownTag { .. })
        ));
        assert!(matches!(
            from_xml("<Sync xmlns=\"AirSync:\" a=\"1\"/>"),
            Err(XmlError::Attribute(_))
        ));
        assert!(matches!(
            from_xml("<MIME xmlns=\"ComposeMail:\">!!</MIME>"),
            Err(XmlError::Base64(_))
        ));
        assert!(from_xml("<Sync xmlns=\"AirSync:\">").is_err());
    }
}
