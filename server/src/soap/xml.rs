//! Pure SOAP 1.1 envelope parser: bytes in, one operation element tree out.
//!
//! No I/O, no allocation beyond the limits, no DTD: a `<!DOCTYPE` is rejected
//! before any entity could be declared, and any entity reference other than
//! the five predefined ones and character references is an error, so entity
//! expansion attacks (billion laughs) cannot expand.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace; accepted on input, answers are SOAP 1.1.
pub const SOAP12_ENV_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The service namespace of KC's `KCmd` service.
pub const ZARAFA_NS: &str = "urn:zarafa";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Parser limits; every one of them bounds memory or time.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum input size in bytes.
    pub max_body: usize,
    /// Maximum nesting depth, counting the envelope as 1.
    pub max_depth: usize,
    /// Maximum size in bytes of one element's text or one start tag.
    pub max_element: usize,
    /// Maximum number of elements in the document.
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 16 << 20,
            max_depth: 32,
            max_element: 1 << 20,
            max_elements: 100_000,
        }
    }
}

/// Why an envelope was refused. The `Display` text becomes the Fault string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("request body too large")]
    BodyTooLarge,
    #[error("request is not UTF-8")]
    NotUtf8,
    #[error("DTD/DOCTYPE not allowed")]
    Doctype,
    #[error("entity reference '&{0};' not allowed")]
    Entity(String),
    #[error("element nesting too deep")]
    TooDeep,
    #[error("element too large")]
    ElementTooLarge,
    #[error("too many elements")]
    TooManyElements,
    #[error("malformed XML: {0}")]
    Xml(String),
    #[error("not a SOAP envelope")]
    NotEnvelope,
    #[error("no SOAP Body")]
    NoBody,
    #[error("empty SOAP Body")]
    EmptyBody,
    #[error("unknown namespace '{0}' for the operation")]
    WrongNamespace(String),
    #[error("unbound namespace prefix")]
    UnboundPrefix,
}

/// One element of the request tree; names are local names (prefix stripped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    /// The resolved namespace URI, when the element is qualified.
    pub ns: Option<String>,
    /// The concatenated, unescaped character data directly inside the element.
    pub text: String,
    /// `xsi:nil="true"`.
    pub nil: bool,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// A parsed request: the operation element (in `urn:zarafa`) with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub name: String,
    pub params: Element,
}

fn xml_err(e: impl std::fmt::Display) -> ParseError {
    ParseError::Xml(e.to_string())
}

fn resolve_ns(r: &ResolveResult<'_>) -> Result<Option<String>, ParseError> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.as_ref()).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(_) => Err(ParseError::UnboundPrefix),
    }
}

fn start_element(
    reader: &NsReader<&[u8]>,
    e: &BytesStart<'_>,
    limits: &Limits,
) -> Result<Element, ParseError> {
    if e.len() > limits.max_element {
        return Err(ParseError::ElementTooLarge);
    }
    let (ns, local) = reader.resolver().resolve_element(e.name());
    let ns = resolve_ns(&ns)?;
    let name = std::str::from_utf8(local.as_ref())
        .map_err(|_| ParseError::NotUtf8)?
        .to_owned();
    let mut nil = false;
    for attr in e.attributes() {
        let attr = attr.map_err(xml_err)?;
        let (ans, alocal) = reader.resolver().resolve_attribute(attr.key);
        if alocal.as_ref() == b"nil" {
            if let ResolveResult::Bound(n) = ans {
                if n.as_ref() == XSI_NS.as_bytes() {
                    let v = attr.unescape_value().map_err(xml_err)?;
                    nil = v.trim() == "true" || v.trim() == "1";
                }
            }
        }
    }
    Ok(Element {
        name,
        ns,
        nil,
        ..Default::default()
    })
}

fn push_text(stack: &mut [Element], s: &str, limits: &Limits) -> Result<(), ParseError> {
    // Text outside any element (whitespace around the root) is ignored.
    if let Some(top) = stack.last_mut() {
        if top.text.len() + s.len() > limits.max_element {
            return Err(ParseError::ElementTooLarge);
        }
        top.text.push_str(s);
    }
    Ok(())
}

fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// Parse a whole document into its root element, enforcing every limit.
pub fn parse_document(input: &[u8], limits: &Limits) -> Result<Element, ParseError> {
    if input.len() > limits.max_body {
        return Err(ParseError::BodyTooLarge);
    }
    let text = std::str::from_utf8(input).map_err(|_| ParseError::NotUtf8)?;
    let mut reader = NsReader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let ev = reader.read_event().map_err(xml_err)?;
        match ev {
            Event::DocType(_) => return Err(ParseError::Doctype),
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(ParseError::Xml("content after the root element".into()));
            }
            Event::Start(e) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(ParseError::TooManyElements);
                }
                if stack.len() >= limits.max_depth {
                    return Err(ParseError::TooDeep);
                }
                let el = start_element(&reader, &e, limits)?;
                stack.push(el);
            }
            Event::Empty(e) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(ParseError::TooManyElements);
                }
                if stack.len() >= limits.max_depth {
                    return Err(ParseError::TooDeep);
                }
                let el = start_element(&reader, &e, limits)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| ParseError::Xml("unexpected end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(xml_err)?;
                push_text(&mut stack, &s, limits)?;
            }
            Event::CData(c) => {
                let s = c.decode().map_err(xml_err)?;
                push_text(&mut stack, &s, limits)?;
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(xml_err)?
                } else {
                    let name = r.decode().map_err(xml_err)?;
                    match predefined_entity(&name) {
                        Some(c) => Some(c),
                        None => return Err(ParseError::Entity(name.into_owned())),
                    }
                };
                let ch = ch.ok_or_else(|| ParseError::Xml("invalid character reference".into()))?;
                let mut buf = [0u8; 4];
                push_text(&mut stack, ch.encode_utf8(&mut buf), limits)?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(ParseError::Xml("unexpected end of document".into()));
    }
    root.ok_or_else(|| ParseError::Xml("no root element".into()))
}

/// Parse a SOAP request: the envelope, an optional Header (ignored) and the
/// Body, whose first element must be an operation in `urn:zarafa`.
pub fn parse_request(input: &[u8], limits: &Limits) -> Result<Operation, ParseError> {
    let root = parse_document(input, limits)?;
    let is_env_ns =
        |ns: &Option<String>| matches!(ns.as_deref(), Some(SOAP_ENV_NS) | Some(SOAP12_ENV_NS));
    if root.name != "Envelope" || !is_env_ns(&root.ns) {
        return Err(ParseError::NotEnvelope);
    }
    let body = root
        .children
        .into_iter()
        .find(|c| c.name == "Body" && is_env_ns(&c.ns))
        .ok_or(ParseError::NoBody)?;
    let op = body
        .children
        .into_iter()
        .next()
        .ok_or(ParseError::EmptyBody)?;
    match op.ns.as_deref() {
        Some(ZARAFA_NS) => {}
        other => return Err(ParseError::WrongNamespace(other.unwrap_or("").to_owned())),
    }
    Ok(Operation {
        name: op.name.clone(),
        params: op,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns="urn:zarafa"><SOAP-ENV:Body SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"#
        )
    }

    #[test]
    fn parses_logon() {
        let x = env("<ns:logon><szUsername>jo&amp;hn&#65;</szUsername><szPassword><![CDATA[p<w]]></szPassword><szImpersonateUser xsi:nil=\"true\"/></ns:logon>");
        let op = parse_request(x.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(op.name, "logon");
        assert_eq!(op.params.child("szUsername").unwrap().text, "jo&hnA");
        assert_eq!(op.params.child("szPassword").unwrap().text, "p<w");
        assert!(op.params.child("szImpersonateUser").unwrap().nil);
    }

    #[test]
    fn default_namespace_and_header() {
        let x = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header><x/></Header><Body><logoff xmlns="urn:zarafa"><ulSessionId>5</ulSessionId></logoff></Body></Envelope>"#;
        let op = parse_request(x.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(op.name, "logoff");
        // Children inherit the default namespace; they are matched by local name anyway.
        assert_eq!(op.params.child("ulSessionId").unwrap().text, "5");
    }

    #[test]
    fn rejects_doctype_and_entities() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><ns:logon xmlns:ns="urn:zarafa"><szUsername>&lol2;</szUsername></ns:logon></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;
        assert_eq!(
            parse_request(bomb.as_bytes(), &Limits::default()),
            Err(ParseError::Doctype)
        );
        let x = env("<ns:logon><szUsername>&lol;</szUsername></ns:logon>");
        assert_eq!(
            parse_request(x.as_bytes(), &Limits::default()),
            Err(ParseError::Entity("lol".into()))
        );
    }

    #[test]
    fn rejects_wrong_namespace_and_shapes() {
        let x = env("<m:logon xmlns:m=\"urn:other\"/>");
        assert!(matches!(
            parse_request(x.as_bytes(), &Limits::default()),
            Err(ParseError::WrongNamespace(_))
        ));
        let x = env("<logon/>");
        assert!(matches!(
            parse_request(x.as_bytes(), &Limits::default()),
            Err(ParseError::WrongNamespace(_))
        ));
        assert_eq!(
            parse_request(b"<a/>", &Limits::default()),
            Err(ParseError::NotEnvelope)
        );
        assert_eq!(
            parse_request(env("").as_bytes(), &Limits::default()),
            Err(ParseError::EmptyBody)
        );
        let x = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>"#;
        assert_eq!(
            parse_request(x.as_bytes(), &Limits::default()),
            Err(ParseError::NoBody)
        );
    }

    #[test]
    fn rejects_truncated_and_garbage() {
        let x = env("<ns:logon><szUsername>john</szUsername></ns:logon>");
        for cut in [1, 10, 50, x.len() / 2, x.len() - 1] {
            assert!(
                parse_request(&x.as_bytes()[..cut], &Limits::default()).is_err(),
                "cut {cut}"
            );
        }
        assert!(parse_request(b"", &Limits::default()).is_err());
        assert!(parse_request(b"\xff\xfe", &Limits::default()).is_err());
        assert!(parse_request(b"<a><b></a></b>", &Limits::default()).is_err());
        assert!(parse_request(b"<x:a/>", &Limits::default()).is_err());
    }

    #[test]
    fn limits() {
        let small = Limits {
            max_body: 1 << 20,
            max_depth: 8,
            max_element: 300,
            max_elements: 20,
        };
        let big = env(&format!(
            "<ns:logon><szUsername>{}</szUsername></ns:logon>",
            "a".repeat(301)
        ));
        assert_eq!(
            parse_request(big.as_bytes(), &small),
            Err(ParseError::ElementTooLarge)
        );
        let deep = env(&format!(
            "<ns:logon>{}{}</ns:logon>",
            "<a>".repeat(10),
            "</a>".repeat(10)
        ));
        assert_eq!(
            parse_request(deep.as_bytes(), &small),
            Err(ParseError::TooDeep)
        );
        let many = env(&format!("<ns:logon>{}</ns:logon>", "<a/>".repeat(30)));
        assert_eq!(
            parse_request(many.as_bytes(), &small),
            Err(ParseError::TooManyElements)
        );
        let tiny = Limits {
            max_body: 10,
            ..small
        };
        assert_eq!(
            parse_request(big.as_bytes(), &tiny),
            Err(ParseError::BodyTooLarge)
        );
    }
}
