//! A bounded XML reader: request body bytes in, a small namespace-resolved
//! element tree out.
//!
//! WebDAV bodies are small (a PROPFIND lists a few dozen property names), so
//! the request parsers work on a tree rather than on events. Building the
//! tree is where every limit is enforced, once, before any DAV meaning is
//! given to the document:
//!
//! - the body must be UTF-8 and at most [`Limits::max_body`] bytes;
//! - nesting at most [`Limits::max_depth`] elements deep (the tree is built
//!   with an explicit stack, so a deep body cannot overflow the call stack);
//! - at most [`Limits::max_elements`] elements in all;
//! - a `<!DOCTYPE ...>` is refused outright, so no entity can be declared and
//!   an entity bomb costs one scan of its bytes; references other than the
//!   five predefined entities and character references are refused too;
//! - every prefix must be declared; names are kept as (namespace, local).

use std::fmt;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// Size limits applied while reading a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted body, in bytes.
    pub max_body: usize,
    /// Deepest accepted element nesting (the root is depth 1). It also
    /// bounds the recursion of everything that walks the tree afterwards
    /// (dropping it, reading nested comp-filters), so keep it small.
    pub max_depth: usize,
    /// Most elements accepted in one document.
    pub max_elements: usize,
}

impl Default for Limits {
    /// 1 MiB, 48 levels, 20,000 elements: far above what any client sends
    /// (a multiget of 5,000 hrefs fits) and far below what hurts a node.
    fn default() -> Self {
        Limits {
            max_body: 1024 * 1024,
            max_depth: 48,
            max_elements: 20_000,
        }
    }
}

/// Why a body is not an acceptable XML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The body is longer than [`Limits::max_body`].
    #[error("request body exceeds {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// Elements nest deeper than [`Limits::max_depth`].
    #[error("XML nesting exceeds {limit} levels")]
    TooDeep {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The document has more than [`Limits::max_elements`] elements.
    #[error("XML document has more than {limit} elements")]
    TooManyElements {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// A document type declaration: refused, since it is the only way to
    /// declare entities and nothing in WebDAV needs one.
    #[error("DOCTYPE declarations are not accepted")]
    DoctypeRefused,
    /// A reference to an entity other than the five predefined ones.
    #[error("entity reference &{0}; is not accepted")]
    EntityRefused(String),
    /// The body is not UTF-8.
    #[error("request body is not UTF-8")]
    NotUtf8,
    /// An element or attribute uses a prefix that was never declared.
    #[error("undeclared namespace prefix {0:?}")]
    UnknownPrefix(String),
    /// A character XML 1.0 does not allow (most C0 controls, U+FFFE,
    /// U+FFFF), literally or as a character reference.
    #[error("character not allowed in XML")]
    ForbiddenChar,
    /// An element name that is not an XML name (with at most one colon).
    #[error("invalid element name {0:?}")]
    BadName(String),
    /// The body holds no element at all.
    #[error("request body holds no XML element")]
    Empty,
    /// Text or a second element after the root element.
    #[error("content after the root element")]
    TrailingContent,
    /// The body is not well-formed XML.
    #[error("malformed XML: {0}")]
    Malformed(String),
}

/// An expanded XML name: namespace URI (empty when unbound) and local name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct XmlName {
    /// Namespace URI, or the empty string for a name in no namespace.
    pub ns: String,
    /// Local part of the name.
    pub local: String,
}

impl XmlName {
    /// Builds a name from its namespace URI and local part.
    pub fn new(ns: &str, local: &str) -> Self {
        XmlName {
            ns: ns.to_owned(),
            local: local.to_owned(),
        }
    }

    /// True when this is `local` in namespace `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }
}

impl fmt::Display for XmlName {
    /// Clark notation, `{ns}local`, as used in logs and error texts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}{}", self.ns, self.local)
    }
}

/// One element of a parsed request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The element's expanded name.
    pub name: XmlName,
    /// Unprefixed attributes as (local name, unescaped value); namespace
    /// declarations and prefixed attributes are left out, since no DAV
    /// request attribute is namespaced.
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The element's own character data (text and CDATA), concatenated.
    pub text: String,
}

impl Element {
    /// True when this element is `local` in namespace `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.name.is(ns, local)
    }

    /// The value of the unprefixed attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child named `local` in namespace `ns`.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, local))
    }

    /// All children named `local` in namespace `ns`, in document order.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, local))
    }

    /// The element's text with surrounding XML whitespace removed.
    pub fn trimmed_text(&self) -> &str {
        self.text
            .trim_matches(|c: char| matches!(c, ' ' | '\t' | '\r' | '\n'))
    }
}

/// Reads `body` into an element tree, enforcing `limits`.
pub fn parse_document(body: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    if body.len() > limits.max_body {
        return Err(XmlError::TooLarge {
            limit: limits.max_body,
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    if text.chars().any(is_forbidden_char) {
        return Err(XmlError::ForbiddenChar);
    }
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;

    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        let ns = match resolved {
            ResolveResult::Bound(ns) => Some(namespace_value(ns.as_ref())?),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(XmlError::UnknownPrefix(
                    String::from_utf8_lossy(&prefix).into_owned(),
                ))
            }
        };
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(XmlError::TrailingContent);
            }
            Event::Start(start) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements {
                        limit: limits.max_elements,
                    });
                }
                if stack.len() + 1 > limits.max_depth {
                    return Err(XmlError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                stack.push(new_element(&start, element_ns(ns)?)?);
            }
            Event::Empty(start) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements {
                        limit: limits.max_elements,
                    });
                }
                if stack.len() + 1 > limits.max_depth {
                    return Err(XmlError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                let element = new_element(&start, element_ns(ns)?)?;
                close(&mut stack, &mut root, element);
            }
            Event::End(_) => match stack.pop() {
                Some(element) => close(&mut stack, &mut root, element),
                None => return Err(XmlError::Malformed("unmatched end tag".into())),
            },
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|_| XmlError::NotUtf8)?;
                push_text(&mut stack, &root, &s)?;
            }
            Event::CData(t) => {
                let s = t.xml10_content().map_err(|_| XmlError::NotUtf8)?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None => return Err(XmlError::TrailingContent),
                }
            }
            Event::GeneralRef(r) => {
                let c = resolve_reference(&r)?;
                let mut buf = [0u8; 4];
                push_text(&mut stack, &root, c.encode_utf8(&mut buf))?;
            }
            Event::DocType(_) => return Err(XmlError::DoctypeRefused),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("unexpected end of document".into()));
    }
    root.ok_or(XmlError::Empty)
}

/// An element's namespace: none is the empty string; the two reserved
/// namespaces of XML itself cannot name elements of a request (and could
/// not be declared again when a name is written back).
fn element_ns(ns: Option<String>) -> Result<String, XmlError> {
    match ns {
        None => Ok(String::new()),
        Some(n)
            if n == "http://www.w3.org/2000/xmlns/"
                || n == "http://www.w3.org/XML/1998/namespace" =>
        {
            Err(XmlError::BadName(format!("{{{n}}}")))
        }
        Some(n) => Ok(n),
    }
}

/// Starts an element from a start tag, collecting its unprefixed attributes.
fn new_element(start: &BytesStart<'_>, ns: String) -> Result<Element, XmlError> {
    let qname = std::str::from_utf8(start.name().into_inner()).map_err(|_| XmlError::NotUtf8)?;
    if !is_qname(qname) {
        return Err(XmlError::BadName(qname.chars().take(64).collect()));
    }
    let local = std::str::from_utf8(start.local_name().into_inner())
        .map_err(|_| XmlError::NotUtf8)?
        .to_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
        let key = attr.key.as_ref();
        if key.contains(&b':') || key == b"xmlns" {
            continue;
        }
        let key = std::str::from_utf8(key)
            .map_err(|_| XmlError::NotUtf8)?
            .to_owned();
        let value = attr.unescape_value().map_err(|e| match e {
            quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, n)) => {
                XmlError::EntityRefused(n)
            }
            other => XmlError::Malformed(other.to_string()),
        })?;
        if value.chars().any(is_forbidden_char) {
            return Err(XmlError::ForbiddenChar);
        }
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        name: XmlName { ns, local },
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// True for the characters outside XML 1.0's `Char` production (the
/// surrogates cannot occur in a `str`).
fn is_forbidden_char(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// True for `NCName` or `NCName:NCName`. Letters are approximated by
/// Unicode alphanumerics, which is stricter than XML for a few marks and
/// looser for nothing a client sends.
fn is_qname(q: &str) -> bool {
    let ncname = |n: &str| {
        let mut chars = n.chars();
        chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
            && chars.all(|c| matches!(c, '_' | '-' | '.' | '\u{b7}') || c.is_alphanumeric())
    };
    match q.split_once(':') {
        Some((prefix, local)) => ncname(prefix) && ncname(local),
        None => ncname(q),
    }
}

/// A namespace URI as declared: the attribute value with its references
/// resolved (predefined entities and character references only), so the
/// name compares and writes back the same however it was escaped.
fn namespace_value(raw: &[u8]) -> Result<String, XmlError> {
    let raw = std::str::from_utf8(raw).map_err(|_| XmlError::NotUtf8)?;
    let value = quick_xml::escape::unescape(raw).map_err(|e| match e {
        quick_xml::escape::EscapeError::UnrecognizedEntity(_, n) => XmlError::EntityRefused(n),
        other => XmlError::Malformed(other.to_string()),
    })?;
    if value.chars().any(is_forbidden_char) {
        return Err(XmlError::ForbiddenChar);
    }
    Ok(value.into_owned())
}

/// Attaches a finished element to its parent, or makes it the root.
fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Adds character data to the open element; outside the root only
/// whitespace is allowed.
fn push_text(stack: &mut [Element], root: &Option<Element>, s: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(top) => {
            top.text.push_str(s);
            Ok(())
        }
        None if s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) => Ok(()),
        None if root.is_some() => Err(XmlError::TrailingContent),
        None => Err(XmlError::Malformed("text before the root element".into())),
    }
}

/// Resolves a character reference or one of the five predefined entities;
/// anything else is refused, never looked up.
fn resolve_reference(r: &BytesRef<'_>) -> Result<char, XmlError> {
    let name = r.decode().map_err(|_| XmlError::NotUtf8)?;
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if is_forbidden_char(c) => Err(XmlError::ForbiddenChar),
            Ok(Some(c)) => Ok(c),
            _ => Err(XmlError::Malformed(format!(
                "bad character reference &{name};"
            ))),
        };
    }
    match name.as_ref() {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => Err(XmlError::EntityRefused(name.into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Element, XmlError> {
        parse_document(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn resolves_namespaces_and_text() {
        let e = parse(
            r#"<?xml version="1.0" encoding="utf-8"?>
<D:a xmlns:D="DAV:" xmlns="urn:x"><b k="v &amp; w">x &lt; y&#x263A;<![CDATA[<z>]]></b><D:c/></D:a>"#,
        )
        .unwrap();
        assert!(e.is("DAV:", "a"));
        assert_eq!(e.children[0].name, XmlName::new("urn:x", "b"));
        assert_eq!(e.children[0].attr("k"), Some("v & w"));
        assert_eq!(e.children[0].text, "x < y\u{263A}<z>");
        assert!(e.children[1].is("DAV:", "c"));
        // Line ends are normalised as XML requires.
        let e = parse("<a>1\r\n2\r3</a>").unwrap();
        assert_eq!(e.text, "1\n2\n3");
    }

    #[test]
    fn refuses_entity_bomb_quickly() {
        let mut bomb =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            bomb.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!(
                    "&lol{};",
                    if i == 1 {
                        String::new()
                    } else {
                        (i - 1).to_string()
                    }
                )
                .repeat(10)
            ));
        }
        bomb.push_str("]>\n<D:propfind xmlns:D=\"DAV:\"><D:prop>&lol9;</D:prop></D:propfind>");
        assert_eq!(parse(&bomb), Err(XmlError::DoctypeRefused));
    }

    #[test]
    fn refuses_a_body_sized_doctype_in_one_pass() {
        // Close to the default body limit, all of it entity declarations:
        // refused at the DOCTYPE without building or expanding anything.
        let decl = "<!ENTITY e \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n";
        let body = format!(
            "<!DOCTYPE d [{}]><d:propfind xmlns:d=\"DAV:\">&e;</d:propfind>",
            decl.repeat(1000 * 1024 / decl.len())
        );
        let started = std::time::Instant::now();
        assert_eq!(parse(&body), Err(XmlError::DoctypeRefused));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn refuses_undeclared_entity_without_doctype() {
        assert_eq!(
            parse("<a>&foo;</a>"),
            Err(XmlError::EntityRefused("foo".into()))
        );
        assert_eq!(
            parse("<a b=\"&foo;\"/>"),
            Err(XmlError::EntityRefused("foo".into()))
        );
    }

    #[test]
    fn limits_depth_without_recursion() {
        let deep = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
        let limits = Limits {
            max_body: 10 * 1024 * 1024,
            ..Limits::default()
        };
        assert_eq!(
            parse_document(deep.as_bytes(), &limits),
            Err(XmlError::TooDeep { limit: 48 })
        );
    }

    #[test]
    fn limits_elements_and_size() {
        let many = format!("<a>{}</a>", "<b/>".repeat(30_000));
        assert_eq!(
            parse(&many),
            Err(XmlError::TooManyElements { limit: 20_000 })
        );
        let limits = Limits {
            max_body: 8,
            ..Limits::default()
        };
        assert_eq!(
            parse_document(b"<a>123456</a>", &limits),
            Err(XmlError::TooLarge { limit: 8 })
        );
    }

    #[test]
    fn refuses_malformed_and_odd_documents() {
        assert_eq!(parse(""), Err(XmlError::Empty));
        assert_eq!(parse("  \n"), Err(XmlError::Empty));
        assert_eq!(parse("<a/><b/>"), Err(XmlError::TrailingContent));
        assert_eq!(parse("<a/>junk"), Err(XmlError::TrailingContent));
        assert!(matches!(parse("<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse("<a>"), Err(XmlError::Malformed(_))));
        assert_eq!(parse("<x:a/>"), Err(XmlError::UnknownPrefix("x".into())));
        assert_eq!(
            parse_document(b"<a>\xff</a>", &Limits::default()),
            Err(XmlError::NotUtf8)
        );
    }

    #[test]
    fn refuses_forbidden_characters_and_bad_names() {
        assert_eq!(parse("<a>\u{1}</a>"), Err(XmlError::ForbiddenChar));
        assert_eq!(parse("<a>&#1;</a>"), Err(XmlError::ForbiddenChar));
        assert!(matches!(
            parse("<a>&#xD800;</a>"),
            Err(XmlError::Malformed(_))
        ));
        assert_eq!(parse("<a b=\"&#x1;\"/>"), Err(XmlError::ForbiddenChar));
        assert_eq!(
            parse("<a xmlns:x=\"u&#x2;\"><x:b/></a>"),
            Err(XmlError::ForbiddenChar)
        );
        assert!(matches!(
            parse("<a\"b/>"),
            Err(XmlError::BadName(_) | XmlError::Malformed(_))
        ));
        assert_eq!(parse("<1a/>"), Err(XmlError::BadName("1a".into())));
        assert_eq!(
            parse("<a:b:c xmlns:a=\"u\"/>"),
            Err(XmlError::BadName("a:b:c".into()))
        );
    }

    #[test]
    fn refuses_elements_in_reserved_namespaces() {
        assert!(matches!(parse("<xml:a/>"), Err(XmlError::BadName(_))));
        assert!(parse("<xmlns:a/>").is_err());
        assert!(parse("<a xmlns:x=\"http://www.w3.org/2000/xmlns/\"><x:b/></a>").is_err());
    }

    #[test]
    fn namespace_values_are_unescaped() {
        let e = parse("<x:a xmlns:x=\"urn:a&amp;b&#x263A;\"/>").unwrap();
        assert_eq!(e.name.ns, "urn:a&b\u{263A}");
        assert_eq!(
            parse("<x:a xmlns:x=\"urn:&foo;\"/>"),
            Err(XmlError::EntityRefused("foo".into()))
        );
    }

    #[test]
    fn keeps_non_ascii_names_and_text() {
        let e = parse("<ü:größe xmlns:ü=\"urn:ü\">Grüße 日本</ü:größe>").unwrap();
        assert_eq!(e.name, XmlName::new("urn:ü", "größe"));
        assert_eq!(e.text, "Grüße 日本");
    }
}
