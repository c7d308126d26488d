//! A directory entry as both sources deliver it: a DN and its attributes.

/// One directory entry. Attribute names keep the case the source used; lookups
/// by name are case-insensitive (LDAP attribute descriptions are).
/// Binary values that are not UTF-8 are carried as lowercase hex.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<String>)>,
}

impl Entry {
    pub fn new(dn: impl Into<String>) -> Self {
        Entry {
            dn: dn.into(),
            attrs: Vec::new(),
        }
    }

    /// Adds a value, merging with an existing attribute of the same name.
    pub fn push(&mut self, name: &str, value: String) {
        if let Some((_, vals)) = self
            .attrs
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            vals.push(value);
        } else {
            self.attrs.push((name.to_string(), vec![value]));
        }
    }

    /// All values of `name` (case-insensitive; `cn` also matches `cn;lang-de`).
    /// An empty `name` (an unmapped option) has no values.
    pub fn values(&self, name: &str) -> impl Iterator<Item = &str> {
        let name = name.to_string();
        self.attrs
            .iter()
            .filter(move |(n, _)| !name.is_empty() && attr_matches(n, &name))
            .flat_map(|(_, v)| v.iter().map(String::as_str))
    }

    /// The first value of `name`, if any and non-empty.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.values(name).find(|v| !v.is_empty())
    }

    /// True when `name` is present with at least one value.
    pub fn has(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }
}

/// `stored` (as the entry names it) matches the requested description `want`:
/// equal ignoring case, or equal up to attribute options (`;binary`, `;lang-x`).
fn attr_matches(stored: &str, want: &str) -> bool {
    if stored.eq_ignore_ascii_case(want) {
        return true;
    }
    let base = |s: &str| s.split(';').next().unwrap_or("").to_ascii_lowercase();
    base(stored) == base(want)
}

/// Normalises a DN for comparisons: lower case, no blanks around `,` and `=`.
/// Escaped commas stay escaped, so this never merges two RDNs.
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = chars.next() {
                    out.extend(n.to_lowercase());
                }
            }
            ',' | '=' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(c);
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// True when `dn` equals `base` or lies below it (both normalised). An empty
/// base contains everything.
pub fn dn_is_under(dn: &str, base: &str) -> bool {
    let (dn, base) = (normalize_dn(dn), normalize_dn(base));
    if base.is_empty() || dn == base {
        return true;
    }
    dn.len() > base.len()
        && dn.ends_with(&base)
        && dn[..dn.len() - base.len()].ends_with(',')
        && !dn[..dn.len() - base.len()].ends_with("\\,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_case_insensitive_and_options() {
        let mut e = Entry::new("uid=a,dc=x");
        e.push("mail", "a@x".into());
        e.push("MAIL", "b@x".into());
        e.push("cn;lang-de", "Anna".into());
        assert_eq!(e.values("Mail").collect::<Vec<_>>(), ["a@x", "b@x"]);
        assert_eq!(e.first("cn"), Some("Anna"));
        assert_eq!(e.first(""), None);
        assert!(!e.has("sn"));
    }

    #[test]
    fn dn_normalisation_and_containment() {
        assert_eq!(
            normalize_dn(" UID=A , OU=People,dc=X "),
            "uid=a,ou=people,dc=x"
        );
        assert!(dn_is_under(
            "uid=a, ou=People,dc=example,dc=com",
            "DC=example,dc=com"
        ));
        assert!(dn_is_under("dc=example,dc=com", "dc=example,dc=com"));
        assert!(!dn_is_under("dc=example,dc=comx", "dc=com"));
        assert!(!dn_is_under(
            "uid=a,dc=xexample,dc=com",
            "dc=example,dc=com"
        ));
        assert!(!dn_is_under("cn=a\\,dc=com", "dc=com"));
        assert!(dn_is_under("anything", ""));
    }
}
