//! The small XML writer behind the replies: escaping that always yields
//! well-formed XML, and element names written with fixed prefixes.
//!
//! The five well-known namespaces are declared once on the root element
//! with the prefixes of [`crate::names::PREFIXES`]. A name in any other
//! namespace declares its own prefix on the element itself, so a property
//! echoed back from a request (answered 404) keeps its namespace without
//! any bookkeeping.

use crate::names::PREFIXES;
use crate::xml::XmlName;

/// Appends `s` escaped for element content or a double-quoted attribute.
/// Characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE,
/// U+FFFF) become U+FFFD, so the output is always well-formed.
pub fn escape_into(out: &mut String, s: &str) {
    escape_chars(out, s, false);
}

/// Appends `s` escaped for a double-quoted attribute value: as
/// [`escape_into`], and tab and line feed as character references too,
/// since a reader would otherwise normalise them to spaces.
pub fn escape_attr_into(out: &mut String, s: &str) {
    escape_chars(out, s, true);
}

fn escape_chars(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' => out.push(c),
            '\r' => out.push_str("&#13;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            _ => out.push(c),
        }
    }
}

/// `s` escaped, as a new string.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// The `xmlns:` declarations of the well-known prefixes, for a root tag.
pub fn root_namespace_decls() -> String {
    let mut out = String::new();
    for (prefix, ns) in PREFIXES {
        out.push_str(" xmlns:");
        out.push_str(prefix);
        out.push_str("=\"");
        escape_attr_into(&mut out, ns);
        out.push('"');
    }
    out
}

/// The prefix bound on the root to `ns`, if it is a well-known namespace.
fn known_prefix(ns: &str) -> Option<&'static str> {
    PREFIXES.iter().find(|(_, n)| *n == ns).map(|(p, _)| *p)
}

/// Writes `<name` (without closing the tag) for a name in namespace `ns`:
/// a well-known prefix, no prefix for the empty namespace, or a local
/// declaration of prefix `x` for any other namespace.
pub fn open_tag(out: &mut String, ns: &str, local: &str) {
    out.push('<');
    push_qname(out, ns, local);
    if !ns.is_empty() && known_prefix(ns).is_none() {
        out.push_str(" xmlns:x=\"");
        escape_attr_into(out, ns);
        out.push('"');
    }
}

/// Writes `</name>` matching [`open_tag`].
pub fn close_tag(out: &mut String, ns: &str, local: &str) {
    out.push_str("</");
    push_qname(out, ns, local);
    out.push('>');
}

/// Writes `<name/>`.
pub fn empty_element(out: &mut String, ns: &str, local: &str) {
    open_tag(out, ns, local);
    out.push_str("/>");
}

/// Writes `<name>escaped text</name>`.
pub fn text_element(out: &mut String, ns: &str, local: &str, text: &str) {
    open_tag(out, ns, local);
    out.push('>');
    escape_into(out, text);
    close_tag(out, ns, local);
}

/// Writes `<name/>` for an [`XmlName`].
pub fn empty_named(out: &mut String, name: &XmlName) {
    empty_element(out, &name.ns, &name.local);
}

fn push_qname(out: &mut String, ns: &str, local: &str) {
    match known_prefix(ns) {
        Some(p) => {
            out.push_str(p);
            out.push(':');
        }
        None if ns.is_empty() => {}
        None => out.push_str("x:"),
    }
    out.push_str(local);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_unrepresentable_characters() {
        assert_eq!(
            escape("a<b>&\"c'\r\u{1}\t\nü"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#13;\u{fffd}\t\nü"
        );
        let mut attr = String::new();
        escape_attr_into(&mut attr, "a\tb\nc\"");
        assert_eq!(attr, "a&#9;b&#10;c&quot;");
    }

    #[test]
    fn names_get_known_or_local_prefixes() {
        let mut s = String::new();
        empty_element(&mut s, "DAV:", "getetag");
        empty_element(&mut s, "urn:ietf:params:xml:ns:caldav", "calendar-data");
        empty_element(&mut s, "urn:x&y", "größe");
        empty_element(&mut s, "", "plain");
        assert_eq!(
            s,
            "<d:getetag/><cal:calendar-data/><x:größe xmlns:x=\"urn:x&amp;y\"/><plain/>"
        );
    }
}
