//! Escaping of values placed in search filters (RFC 4515) and DNs (RFC 4514).
//!
//! Every value that comes from a client (login names, server names, company
//! names) goes through one of these before it becomes part of a filter or a DN,
//! so that `*)(uid=*` is searched for literally instead of widening the filter.

/// Escapes a value for use on the right-hand side of a filter item
/// (`(attr=VALUE)`), per RFC 4515 §3: `*`, `(`, `)`, `\` and NUL become `\XX`.
/// Non-ASCII UTF-8 is left as is (the RFC allows UTF-8 in filter values), but
/// every other ASCII control character is escaped too, to keep logs readable.
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for ch in value.chars() {
        match ch {
            '*' | '(' | ')' | '\\' => push_hex(&mut out, ch as u8),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => push_hex(&mut out, c as u8),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value for use in an RDN (`uid=VALUE,ou=...`), per
/// RFC 4514 §2.4: `"`, `+`, `,`, `;`, `<`, `>`, `\` are backslash-escaped, a
/// leading space or `#` and a trailing space are escaped, NUL becomes `\00`.
pub fn escape_dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let last = value.chars().count().saturating_sub(1);
    for (i, ch) in value.chars().enumerate() {
        match ch {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\0' => out.push_str("\\00"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '#' if i == 0 => out.push_str("\\#"),
            c => out.push(c),
        }
    }
    out
}

fn push_hex(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\\');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 15) as usize] as char);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_specials_are_hex_escaped() {
        assert_eq!(escape_filter_value("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
        assert_eq!(
            escape_filter_value("admin)(|(a=*"),
            "admin\\29\\28|\\28a=\\2a"
        );
        assert_eq!(escape_filter_value("a\\b"), "a\\5cb");
        assert_eq!(escape_filter_value("nul\0x"), "nul\\00x");
        assert_eq!(escape_filter_value("tab\t"), "tab\\09");
    }

    #[test]
    fn filter_plain_and_utf8_unchanged() {
        assert_eq!(escape_filter_value("alice"), "alice");
        assert_eq!(escape_filter_value("jürgen.müller@x"), "jürgen.müller@x");
        assert_eq!(escape_filter_value(""), "");
    }

    #[test]
    fn dn_specials() {
        assert_eq!(escape_dn_value("Smith, John"), "Smith\\, John");
        assert_eq!(escape_dn_value(" lead"), "\\ lead");
        assert_eq!(escape_dn_value("trail "), "trail\\ ");
        assert_eq!(escape_dn_value("#hash"), "\\#hash");
        assert_eq!(escape_dn_value("mid#dle"), "mid#dle");
        assert_eq!(
            escape_dn_value("a+b=c<d>;\"e\\"),
            "a\\+b=c\\<d\\>\\;\\\"e\\\\"
        );
        assert_eq!(escape_dn_value("x\0"), "x\\00");
        assert_eq!(escape_dn_value(" "), "\\ ");
    }
}
