//! What the server advertises, defined once: the `DAV` and `Allow` header
//! values of OPTIONS, and the reports each kind of collection supports
//! (`DAV:supported-report-set`).

use crate::names::{NS_CALDAV, NS_CARDDAV, NS_DAV};
use crate::xml::XmlName;

/// The `DAV` response header: WebDAV classes 1 and 3, CalDAV, CardDAV and
/// extended MKCOL. Class 2 (locking) is not offered.
pub const DAV_HEADER: &str = "1, 3, calendar-access, addressbook, extended-mkcol";

/// The `Allow` header for a collection (calendar, address book, home).
pub const ALLOW_COLLECTION: &str =
    "OPTIONS, GET, HEAD, DELETE, PROPFIND, PROPPATCH, REPORT, MKCOL, MKCALENDAR, MOVE, COPY";

/// The `Allow` header for an object resource (an event, task or card).
pub const ALLOW_OBJECT: &str =
    "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT, MOVE, COPY";

/// The components a new calendar accepts when MKCALENDAR names none.
pub const DEFAULT_COMPONENTS: [&str; 2] = ["VEVENT", "VTODO"];

/// The kinds of collection the server lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionKind {
    /// A calendar or task list.
    Calendar,
    /// An address book.
    Addressbook,
    /// The user's home (principal and home sets).
    Home,
}

/// The reports `kind` supports, for `DAV:supported-report-set`.
pub fn supported_reports(kind: CollectionKind) -> Vec<XmlName> {
    let names: &[(&str, &str)] = match kind {
        CollectionKind::Calendar => &[
            (NS_CALDAV, "calendar-query"),
            (NS_CALDAV, "calendar-multiget"),
            (NS_CALDAV, "free-busy-query"),
            (NS_DAV, "sync-collection"),
        ],
        CollectionKind::Addressbook => &[
            (NS_CARDDAV, "addressbook-query"),
            (NS_CARDDAV, "addressbook-multiget"),
            (NS_DAV, "sync-collection"),
        ],
        CollectionKind::Home => &[],
    };
    names.iter().map(|(ns, l)| XmlName::new(ns, l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::report::{parse_report, Report};
    use crate::xml::Limits;

    #[test]
    fn advertised_reports_are_the_parsed_ones() {
        // Every report a collection advertises must be recognised by the
        // parser, never fall through to `Report::Other`.
        for kind in [CollectionKind::Calendar, CollectionKind::Addressbook] {
            for name in supported_reports(kind) {
                let body = format!(
                    "<x:{} xmlns:x=\"{}\" xmlns:d=\"DAV:\"/>",
                    name.local, name.ns
                );
                // A missing filter or href is an error, but a recognised one.
                let parsed = parse_report(body.as_bytes(), &Limits::default());
                assert!(!matches!(parsed, Ok(Report::Other(_))), "{name}");
            }
        }
        assert!(DAV_HEADER.contains("calendar-access"));
        assert!(supported_reports(CollectionKind::Home).is_empty());
    }
}
