//! The URL layout, as a typed route.
//!
//! ```text
//! /.well-known/caldav, /.well-known/carddav   discovery (redirected)
//! /caldav/                                    the root (discovery start)
//! /caldav/<user>/                             principal, calendar-home-set
//!                                             and addressbook-home-set
//! /caldav/<user>/<folder>/                    a calendar, task list or
//!                                             address book
//! /caldav/<user>/<folder>/<object>            one object (.ics, .vcf)
//! /ical/<user>/[<folder>]                     the whole calendar as one
//!                                             iCalendar stream
//! ```
//!
//! These are kopano-ical's paths, at most three segments below the prefix;
//! the principal and both home sets share the user's URL, so a client that
//! starts from any of them finds the others without a second guess.
//!
//! Each segment is percent-decoded on its own, after the path is split, so
//! an encoded slash can never create a segment; a decoded segment must be
//! UTF-8 and may not be empty, `.` or `..`, nor hold a slash, backslash or
//! control character.

/// Longest path accepted, in bytes.
pub const MAX_PATH: usize = 4096;

/// Longest decoded segment (user, folder or object name), in bytes. With
/// at most three segments, every accepted route's canonical path (at most
/// three bytes per decoded byte) stays within [`MAX_PATH`], so an href the
/// server writes is always one it accepts back.
pub const MAX_SEGMENT: usize = 255;

/// Why a path is refused. [`RouteError::NotFound`] is a 404; the others
/// are 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The path is outside the layout.
    #[error("no such resource")]
    NotFound,
    /// A `%` not followed by two hex digits.
    #[error("bad percent-encoding in path")]
    BadEscape,
    /// A segment does not decode to UTF-8.
    #[error("path segment is not UTF-8")]
    NotUtf8,
    /// A segment that is empty, `.`, `..`, or holds a slash, backslash or
    /// control character after decoding.
    #[error("forbidden path segment")]
    ForbiddenSegment,
    /// The path is longer than [`MAX_PATH`], or a segment longer than
    /// [`MAX_SEGMENT`].
    #[error("path too long")]
    TooLong,
}

/// Which well-known discovery URL was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `/.well-known/caldav`.
    CalDav,
    /// `/.well-known/carddav`.
    CardDav,
}

/// A request path, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A well-known discovery URL.
    WellKnown(Service),
    /// `/caldav/` itself.
    Root,
    /// `/caldav/<user>/`: the principal and the home sets.
    Home {
        /// The user name, decoded.
        user: String,
    },
    /// `/caldav/<user>/<folder>/`.
    Collection {
        /// The user name, decoded.
        user: String,
        /// The folder name, decoded.
        folder: String,
    },
    /// `/caldav/<user>/<folder>/<object>`.
    Object {
        /// The user name, decoded.
        user: String,
        /// The folder name, decoded.
        folder: String,
        /// The object's file name, decoded.
        object: String,
    },
    /// `/ical/<user>/` or `/ical/<user>/<folder>`.
    Ical {
        /// The user name, decoded.
        user: String,
        /// The folder; `None` means the default calendar.
        folder: Option<String>,
    },
}

impl Route {
    /// The user the route belongs to, if any (the edge routes on it when
    /// a request carries no credentials yet).
    pub fn user(&self) -> Option<&str> {
        match self {
            Route::Home { user }
            | Route::Collection { user, .. }
            | Route::Object { user, .. }
            | Route::Ical { user, .. } => Some(user),
            Route::WellKnown(_) | Route::Root => None,
        }
    }

    /// The canonical, percent-encoded path of this route, as written into
    /// hrefs and `Location` headers. Collections end with a slash.
    pub fn to_path(&self) -> String {
        match self {
            Route::WellKnown(Service::CalDav) => "/.well-known/caldav".into(),
            Route::WellKnown(Service::CardDav) => "/.well-known/carddav".into(),
            Route::Root => "/caldav/".into(),
            Route::Home { user } => encode_path("/caldav/", &[user], true),
            Route::Collection { user, folder } => encode_path("/caldav/", &[user, folder], true),
            Route::Object {
                user,
                folder,
                object,
            } => encode_path("/caldav/", &[user, folder, object], false),
            Route::Ical { user, folder: None } => encode_path("/ical/", &[user], true),
            Route::Ical {
                user,
                folder: Some(f),
            } => encode_path("/ical/", &[user, f], false),
        }
    }
}

/// Resolves a request path (the request target without scheme and host; a
/// query string is ignored).
pub fn parse_route(target: &str) -> Result<Route, RouteError> {
    if target.len() > MAX_PATH {
        return Err(RouteError::TooLong);
    }
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    match path {
        "/.well-known/caldav" | "/.well-known/caldav/" => {
            return Ok(Route::WellKnown(Service::CalDav))
        }
        "/.well-known/carddav" | "/.well-known/carddav/" => {
            return Ok(Route::WellKnown(Service::CardDav))
        }
        "/caldav" | "/caldav/" => return Ok(Route::Root),
        _ => {}
    }
    let (ical, rest) = if let Some(r) = path.strip_prefix("/caldav/") {
        (false, r)
    } else if let Some(r) = path.strip_prefix("/ical/") {
        (true, r)
    } else {
        return Err(RouteError::NotFound);
    };
    let trailing_slash = rest.ends_with('/');
    let raw = rest.strip_suffix('/').unwrap_or(rest);
    if raw.is_empty() {
        return Err(RouteError::NotFound);
    }
    let segments = raw
        .split('/')
        .map(decode_segment)
        .collect::<Result<Vec<_>, _>>()?;
    let mut it = segments.into_iter();
    let route = match (ical, it.next(), it.next(), it.next(), it.next()) {
        (false, Some(user), None, None, None) => Route::Home { user },
        (false, Some(user), Some(folder), None, None) => Route::Collection { user, folder },
        (false, Some(user), Some(folder), Some(object), None) if !trailing_slash => Route::Object {
            user,
            folder,
            object,
        },
        (true, Some(user), folder, None, None) => Route::Ical { user, folder },
        _ => return Err(RouteError::NotFound),
    };
    Ok(route)
}

/// Percent-decodes one segment and checks it.
pub fn decode_segment(raw: &str) -> Result<String, RouteError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: Option<&u8>| -> Option<u8> {
                let c = *b?;
                (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
            };
            let hi = hex(bytes.get(i + 1)).ok_or(RouteError::BadEscape)?;
            let lo = hex(bytes.get(i + 2)).ok_or(RouteError::BadEscape)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.len() > MAX_SEGMENT {
        return Err(RouteError::TooLong);
    }
    let s = String::from_utf8(out).map_err(|_| RouteError::NotUtf8)?;
    if s.is_empty()
        || s == "."
        || s == ".."
        || s.chars().any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(RouteError::ForbiddenSegment);
    }
    Ok(s)
}

/// Percent-encodes one segment: everything but ASCII letters, digits and
/// `-._~@+` is escaped, so the result is safe in an href and a header.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@' | b'+') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

/// Joins `prefix` (ending in `/`) and the encoded `segments`, with a
/// trailing slash for a collection.
pub fn encode_path(prefix: &str, segments: &[&String], collection: bool) -> String {
    let mut out = prefix.to_owned();
    for (i, s) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&encode_segment(s));
    }
    if collection {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        v.to_owned()
    }

    #[test]
    fn layout() {
        assert_eq!(
            parse_route("/.well-known/caldav"),
            Ok(Route::WellKnown(Service::CalDav))
        );
        assert_eq!(
            parse_route("/.well-known/carddav/"),
            Ok(Route::WellKnown(Service::CardDav))
        );
        assert_eq!(parse_route("/caldav"), Ok(Route::Root));
        assert_eq!(
            parse_route("/caldav/alice/"),
            Ok(Route::Home { user: s("alice") })
        );
        assert_eq!(
            parse_route("/caldav/alice"),
            Ok(Route::Home { user: s("alice") })
        );
        assert_eq!(
            parse_route("/caldav/alice/Calendar/"),
            Ok(Route::Collection {
                user: s("alice"),
                folder: s("Calendar")
            })
        );
        assert_eq!(
            parse_route("/caldav/alice/Calendar/abc.ics?x=1"),
            Ok(Route::Object {
                user: s("alice"),
                folder: s("Calendar"),
                object: s("abc.ics")
            })
        );
        assert_eq!(
            parse_route("/ical/alice/"),
            Ok(Route::Ical {
                user: s("alice"),
                folder: None
            })
        );
        assert_eq!(
            parse_route("/ical/alice/Calendar"),
            Ok(Route::Ical {
                user: s("alice"),
                folder: Some(s("Calendar"))
            })
        );
        for missing in [
            "/",
            "/caldavx/a",
            "/ical/",
            "/ical/a/b/c",
            "/caldav/a/b/c/d",
            "/caldav/a/b/c/",
        ] {
            assert_eq!(parse_route(missing), Err(RouteError::NotFound), "{missing}");
        }
    }

    #[test]
    fn decoding_is_strict() {
        assert_eq!(
            parse_route("/caldav/j%C3%BCrgen/Kalender%20f%c3%bcr%20%C3%84rzte/"),
            Ok(Route::Collection {
                user: s("jürgen"),
                folder: s("Kalender für Ärzte")
            })
        );
        assert_eq!(
            parse_route("/caldav/a%2Fb/c/"),
            Err(RouteError::ForbiddenSegment)
        );
        assert_eq!(
            parse_route("/caldav/a/%2e%2e/x"),
            Err(RouteError::ForbiddenSegment)
        );
        assert_eq!(
            parse_route("/caldav/a/../x"),
            Err(RouteError::ForbiddenSegment)
        );
        assert_eq!(
            parse_route("/caldav/a/./x"),
            Err(RouteError::ForbiddenSegment)
        );
        assert_eq!(
            parse_route("/caldav/a//x"),
            Err(RouteError::ForbiddenSegment)
        );
        assert_eq!(
            parse_route("/caldav/a%5Cb/"),
            Err(RouteError::ForbiddenSegment)
        );
        assert_eq!(
            parse_route("/caldav/a%00/"),
            Err(RouteError::ForbiddenSegment)
        );
        assert_eq!(parse_route("/caldav/a%2/"), Err(RouteError::BadEscape));
        assert_eq!(parse_route("/caldav/a%zz/"), Err(RouteError::BadEscape));
        assert_eq!(parse_route("/caldav/a%ff/"), Err(RouteError::NotUtf8));
        assert_eq!(parse_route("/caldav/%C3%/"), Err(RouteError::BadEscape));
        let long = format!("/caldav/{}/", "a".repeat(MAX_PATH));
        assert_eq!(parse_route(&long), Err(RouteError::TooLong));
        let segment = format!("/caldav/{}/", "a".repeat(MAX_SEGMENT + 1));
        assert_eq!(parse_route(&segment), Err(RouteError::TooLong));
        // The longest accepted route still encodes within the limit (a
        // regression found by fuzzing: non-ASCII names triple in size).
        let wide = "ü".repeat(MAX_SEGMENT / 2);
        let route = Route::Object {
            user: wide.clone(),
            folder: wide.clone(),
            object: wide,
        };
        assert_eq!(parse_route(&route.to_path()), Ok(route));
    }

    #[test]
    fn paths_round_trip() {
        for route in [
            Route::Root,
            Route::Home {
                user: s("bob@example.com"),
            },
            Route::Collection {
                user: s("jürgen"),
                folder: s("Kalender für Ärzte"),
            },
            Route::Object {
                user: s("a"),
                folder: s("b c"),
                object: s("x?y#z%.ics"),
            },
            Route::Ical {
                user: s("日本"),
                folder: Some(s("Tasks")),
            },
            Route::Ical {
                user: s("a"),
                folder: None,
            },
            Route::WellKnown(Service::CardDav),
        ] {
            let path = route.to_path();
            assert!(path.is_ascii(), "{path}");
            assert_eq!(parse_route(&path), Ok(route.clone()), "{path}");
        }
        assert_eq!(
            Route::Collection {
                user: s("jürgen"),
                folder: s("a b")
            }
            .to_path(),
            "/caldav/j%C3%BCrgen/a%20b/"
        );
    }
}
