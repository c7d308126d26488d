//! The request headers a DAV server interprets, parsed without I/O:
//! `Depth`, `If-Match` / `If-None-Match` (with their evaluation against
//! the resource's current ETag), `Overwrite` and `Destination`.

/// Why a header value is refused (answered 400 Bad Request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// `Depth` is not `0`, `1` or `infinity`.
    #[error("invalid Depth header {0:?}")]
    Depth(String),
    /// An ETag list does not follow the entity-tag grammar.
    #[error("invalid entity-tag list {0:?}")]
    EtagList(String),
    /// `Overwrite` is not `T` or `F`.
    #[error("invalid Overwrite header {0:?}")]
    Overwrite(String),
    /// `Destination` is not an absolute URI or absolute path.
    #[error("invalid Destination header {0:?}")]
    Destination(String),
    /// `Destination` names another host than the request's.
    #[error("Destination points at another host {0:?}")]
    ForeignDestination(String),
}

/// Shortens a header value for an error message.
fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The `Depth` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The resource only.
    Zero,
    /// The resource and its members.
    One,
    /// All descendants (a PROPFIND with it is refused with
    /// `propfind-finite-depth`).
    Infinity,
}

impl Depth {
    /// Parses the header; `missing` is the method's default when absent
    /// (infinity for PROPFIND per the protocol, 0 for REPORT).
    pub fn parse(value: Option<&str>, missing: Depth) -> Result<Depth, HeaderError> {
        match value.map(str::trim) {
            None => Ok(missing),
            Some("0") => Ok(Depth::Zero),
            Some("1") => Ok(Depth::One),
            Some(v) if v.eq_ignore_ascii_case("infinity") => Ok(Depth::Infinity),
            Some(v) => Err(HeaderError::Depth(short(v))),
        }
    }
}

/// An entity tag: the opaque part without quotes, and whether it is weak.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityTag {
    /// `W/` prefix present.
    pub weak: bool,
    /// The characters between the quotes.
    pub tag: String,
}

impl EntityTag {
    /// A strong tag, as the store's ETags are.
    pub fn strong(tag: &str) -> Self {
        EntityTag {
            weak: false,
            tag: tag.to_owned(),
        }
    }

    /// Strong comparison: both strong and equal.
    pub fn strong_eq(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.tag == other.tag
    }

    /// Weak comparison: equal opaque parts.
    pub fn weak_eq(&self, other: &EntityTag) -> bool {
        self.tag == other.tag
    }
}

impl std::fmt::Display for EntityTag {
    /// The header form, `"tag"` or `W/"tag"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.weak {
            f.write_str("W/")?;
        }
        write!(f, "\"{}\"", self.tag)
    }
}

/// The value of `If-Match` or `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtagCondition {
    /// `*`: any current representation.
    Any,
    /// A list of entity tags.
    Tags(Vec<EntityTag>),
}

impl EtagCondition {
    /// Parses `*` or a comma-separated list of entity tags (empty list
    /// elements are allowed, an empty list is not).
    pub fn parse(value: &str) -> Result<EtagCondition, HeaderError> {
        let err = || HeaderError::EtagList(short(value));
        let v = value.trim_matches([' ', '\t']);
        if v == "*" {
            return Ok(EtagCondition::Any);
        }
        let mut tags = Vec::new();
        let mut rest = v;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let (weak, after) = match rest.strip_prefix("W/") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let body = after.strip_prefix('"').ok_or_else(err)?;
            let end = body.find('"').ok_or_else(err)?;
            let tag = &body[..end];
            if tag.chars().any(|c| c.is_control() || c == ' ') {
                return Err(err());
            }
            tags.push(EntityTag {
                weak,
                tag: tag.to_owned(),
            });
            rest = body[end + 1..].trim_start_matches([' ', '\t']);
            if !rest.is_empty() && !rest.starts_with(',') {
                return Err(err());
            }
        }
        if tags.is_empty() {
            return Err(err());
        }
        Ok(EtagCondition::Tags(tags))
    }
}

/// What the conditional headers say about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditional {
    /// Go ahead.
    Proceed,
    /// Answer 304 (If-None-Match failed on GET or HEAD).
    NotModified,
    /// Answer 412 Precondition Failed.
    PreconditionFailed,
}

/// Evaluates `If-Match` then `If-None-Match` against the resource's current
/// ETag (`None` when it does not exist). `If-Match: *` fails on a missing
/// resource and `If-None-Match: *` fails on an existing one, which is how
/// clients ask for "update only" and "create only".
pub fn evaluate_conditions(
    if_match: Option<&EtagCondition>,
    if_none_match: Option<&EtagCondition>,
    current: Option<&EntityTag>,
    get_or_head: bool,
) -> Conditional {
    if let Some(cond) = if_match {
        let ok = match (cond, current) {
            (_, None) => false,
            (EtagCondition::Any, Some(_)) => true,
            (EtagCondition::Tags(tags), Some(cur)) => tags.iter().any(|t| t.strong_eq(cur)),
        };
        if !ok {
            return Conditional::PreconditionFailed;
        }
    }
    if let Some(cond) = if_none_match {
        let matched = match (cond, current) {
            (_, None) => false,
            (EtagCondition::Any, Some(_)) => true,
            (EtagCondition::Tags(tags), Some(cur)) => tags.iter().any(|t| t.weak_eq(cur)),
        };
        if matched {
            return if get_or_head {
                Conditional::NotModified
            } else {
                Conditional::PreconditionFailed
            };
        }
    }
    Conditional::Proceed
}

/// Parses `Overwrite` (`T` or `F`); absent means `T`.
pub fn parse_overwrite(value: Option<&str>) -> Result<bool, HeaderError> {
    match value.map(str::trim) {
        None => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("T") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("F") => Ok(false),
        Some(v) => Err(HeaderError::Overwrite(short(v))),
    }
}

/// Reads `Destination` down to its path (still percent-encoded, for
/// [`crate::route::parse_route`]). An absolute URI must be http or https
/// and, when `host` is given, name that host (the request's `Host`);
/// query and fragment are refused, since no DAV resource has them.
pub fn parse_destination(value: &str, host: Option<&str>) -> Result<String, HeaderError> {
    let v = value.trim();
    let err = || HeaderError::Destination(short(v));
    if v.contains(['?', '#']) || v.chars().any(|c| c.is_control() || c == ' ') {
        return Err(err());
    }
    if v.starts_with('/') {
        return if v.starts_with("//") {
            Err(err())
        } else {
            Ok(v.to_owned())
        };
    }
    let lower = v.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    let rest = if lower.starts_with("https://") {
        &v[8..]
    } else if lower.starts_with("http://") {
        &v[7..]
    } else {
        return Err(err());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(err());
    }
    if let Some(h) = host {
        if !authority.eq_ignore_ascii_case(h.trim()) {
            return Err(HeaderError::ForeignDestination(short(authority)));
        }
    }
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_values() {
        assert_eq!(Depth::parse(None, Depth::Infinity), Ok(Depth::Infinity));
        assert_eq!(Depth::parse(Some("0"), Depth::Infinity), Ok(Depth::Zero));
        assert_eq!(Depth::parse(Some(" 1 "), Depth::Zero), Ok(Depth::One));
        assert_eq!(
            Depth::parse(Some("Infinity"), Depth::Zero),
            Ok(Depth::Infinity)
        );
        assert!(Depth::parse(Some("2"), Depth::Zero).is_err());
        assert!(Depth::parse(Some(""), Depth::Zero).is_err());
    }

    #[test]
    fn etag_lists() {
        assert_eq!(EtagCondition::parse(" * "), Ok(EtagCondition::Any));
        assert_eq!(
            EtagCondition::parse(r#""xyzzy", W/"r2d2xxxx",, "c3piozzzz""#),
            Ok(EtagCondition::Tags(vec![
                EntityTag::strong("xyzzy"),
                EntityTag {
                    weak: true,
                    tag: "r2d2xxxx".into()
                },
                EntityTag::strong("c3piozzzz"),
            ]))
        );
        assert_eq!(
            EtagCondition::parse(r#""""#),
            Ok(EtagCondition::Tags(vec![EntityTag::strong("")]))
        );
        for bad in [
            "",
            "xyzzy",
            "\"open",
            "\"a\" \"b\"",
            "*, \"a\"",
            "\"a b\"",
            ",",
        ] {
            assert!(EtagCondition::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(EntityTag::strong("1-2").to_string(), "\"1-2\"");
    }

    #[test]
    fn conditional_requests() {
        use Conditional::*;
        let cur = EntityTag::strong("v2");
        let any = EtagCondition::Any;
        let v1 = EtagCondition::parse("\"v1\"").unwrap();
        let v2 = EtagCondition::parse("\"v1\", \"v2\"").unwrap();
        let weak2 = EtagCondition::parse("W/\"v2\"").unwrap();
        // If-None-Match: * creates only.
        assert_eq!(evaluate_conditions(None, Some(&any), None, false), Proceed);
        assert_eq!(
            evaluate_conditions(None, Some(&any), Some(&cur), false),
            PreconditionFailed
        );
        // If-Match: * updates only; a stale ETag fails.
        assert_eq!(
            evaluate_conditions(Some(&any), None, None, false),
            PreconditionFailed
        );
        assert_eq!(
            evaluate_conditions(Some(&any), None, Some(&cur), false),
            Proceed
        );
        assert_eq!(
            evaluate_conditions(Some(&v1), None, Some(&cur), false),
            PreconditionFailed
        );
        assert_eq!(
            evaluate_conditions(Some(&v2), None, Some(&cur), false),
            Proceed
        );
        // If-Match compares strongly, If-None-Match weakly.
        assert_eq!(
            evaluate_conditions(Some(&weak2), None, Some(&cur), false),
            PreconditionFailed
        );
        assert_eq!(
            evaluate_conditions(None, Some(&weak2), Some(&cur), true),
            NotModified
        );
        assert_eq!(
            evaluate_conditions(None, Some(&v1), Some(&cur), true),
            Proceed
        );
    }

    #[test]
    fn overwrite_and_destination() {
        assert_eq!(parse_overwrite(None), Ok(true));
        assert_eq!(parse_overwrite(Some("F")), Ok(false));
        assert!(parse_overwrite(Some("no")).is_err());
        assert_eq!(
            parse_destination(
                "https://Mail.Example.com/caldav/u/b/x.ics",
                Some("mail.example.com")
            ),
            Ok("/caldav/u/b/x.ics".into())
        );
        assert_eq!(
            parse_destination("/caldav/u/b/", None),
            Ok("/caldav/u/b/".into())
        );
        assert_eq!(
            parse_destination("http://h:8080", Some("h:8080")),
            Ok("/".into())
        );
        assert!(matches!(
            parse_destination("https://evil.example/caldav/u/b/", Some("mail.example.com")),
            Err(HeaderError::ForeignDestination(_))
        ));
        for bad in [
            "ftp://h/x",
            "caldav/u",
            "//h/x",
            "https://u@h/x",
            "/a?b",
            "/a b",
            "https:///x",
        ] {
            assert!(parse_destination(bad, None).is_err(), "{bad}");
        }
    }
}
