//! The document tree the codec decodes into and encodes from.

/// A WBXML document: one root element. The header is implied (EAS uses one
/// header only, [`crate::EAS_HEADER`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The root element.
    pub root: Element,
}

/// An element: a tag of a code page and its children in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The code page of the tag (see [`crate::codepage`]).
    pub page: u8,
    /// The tag token on that page, 0x05 to 0x3F, without the content bit.
    pub token: u8,
    /// Child elements, text and opaque data, in document order. Empty for
    /// an element without content.
    pub children: Vec<Node>,
}

/// One child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A nested element.
    Element(Element),
    /// An inline string (STR_I).
    Text(String),
    /// Opaque bytes (OPAQUE), such as a MIME message.
    Opaque(Vec<u8>),
}

impl Element {
    /// An element without content.
    pub fn new(page: u8, token: u8) -> Self {
        Element {
            page,
            token,
            children: Vec::new(),
        }
    }

    /// An element holding one inline string.
    pub fn with_text(page: u8, token: u8, text: impl Into<String>) -> Self {
        Element {
            page,
            token,
            children: vec![Node::Text(text.into())],
        }
    }

    /// An element holding one opaque block.
    pub fn with_opaque(page: u8, token: u8, bytes: impl Into<Vec<u8>>) -> Self {
        Element {
            page,
            token,
            children: vec![Node::Opaque(bytes.into())],
        }
    }

    /// Appends a child element and returns `self`, for building trees.
    pub fn child(mut self, element: Element) -> Self {
        self.children.push(Node::Element(element));
        self
    }

    /// Whether this element is `token` on `page`.
    pub fn is(&self, page: u8, token: u8) -> bool {
        self.page == page && self.token == token
    }

    /// The child elements, skipping text and opaque nodes.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The first child element that is `token` on `page`.
    pub fn find(&self, page: u8, token: u8) -> Option<&Element> {
        self.elements().find(|e| e.is(page, token))
    }

    /// The element's text: its inline strings concatenated, or `None` if it
    /// has element or opaque children.
    pub fn text(&self) -> Option<String> {
        let mut out = String::new();
        for node in &self.children {
            match node {
                Node::Text(t) => out.push_str(t),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The element's content as bytes: opaque data, or the UTF-8 bytes of
    /// its text; `None` if it has element children.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for node in &self.children {
            match node {
                Node::Text(t) => out.extend_from_slice(t.as_bytes()),
                Node::Opaque(b) => out.extend_from_slice(b),
                Node::Element(_) => return None,
            }
        }
        Some(out)
    }
}
