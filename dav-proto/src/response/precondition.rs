//! Precondition and postcondition codes, and the `DAV:error` body that
//! carries one (the body of a 403/409/507 answer, or the `DAV:error`
//! inside a multistatus response).

use super::writer::{close_tag, empty_element, open_tag, root_namespace_decls, text_element};
use crate::names::{NS_CALDAV, NS_CARDDAV, NS_DAV};

/// The conditions a CalDAV/CardDAV server reports by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `DAV:propfind-finite-depth`: Depth infinity PROPFIND is refused.
    PropfindFiniteDepth,
    /// `DAV:valid-sync-token`: the sync token is unknown or too old.
    ValidSyncToken,
    /// `DAV:number-of-matches-within-limits`: a result was truncated.
    NumberOfMatchesWithinLimits,
    /// `DAV:supported-report`: the REPORT is not supported here.
    SupportedReport,
    /// `DAV:cannot-modify-protected-property`.
    CannotModifyProtectedProperty,
    /// `DAV:resource-must-be-null`: the target of MKCALENDAR exists.
    ResourceMustBeNull,
    /// `DAV:quota-not-exceeded`: the write would exceed the quota.
    QuotaNotExceeded,
    /// `CALDAV:valid-calendar-data`: the body is not valid iCalendar.
    ValidCalendarData,
    /// `CALDAV:valid-calendar-object-resource`: one object per resource.
    ValidCalendarObjectResource,
    /// `CALDAV:supported-calendar-data`: wrong media type.
    SupportedCalendarData,
    /// `CALDAV:supported-calendar-component`: component not allowed here.
    SupportedCalendarComponent,
    /// `CALDAV:calendar-collection-location-ok`.
    CalendarCollectionLocationOk,
    /// `CALDAV:no-uid-conflict` with the href of the resource holding the UID.
    NoUidConflict(String),
    /// `CALDAV:max-resource-size`: the object is too large.
    MaxResourceSize,
    /// `CALDAV:valid-filter`.
    ValidFilter,
    /// `CALDAV:supported-filter`.
    SupportedFilter,
    /// `CALDAV:supported-collation`.
    SupportedCollation,
    /// `CARDDAV:valid-address-data`: the body is not valid vCard.
    ValidAddressData,
    /// `CARDDAV:supported-address-data`: wrong media type or version.
    SupportedAddressData,
    /// `CARDDAV:no-uid-conflict` with the href of the resource holding the UID.
    CardNoUidConflict(String),
    /// `CARDDAV:max-resource-size`: the card is too large.
    CardMaxResourceSize,
    /// `CARDDAV:addressbook-collection-location-ok`.
    AddressbookCollectionLocationOk,
}

impl Precondition {
    /// The condition's element namespace and local name.
    pub fn parts(&self) -> (&'static str, &'static str) {
        use Precondition::*;
        match self {
            PropfindFiniteDepth => (NS_DAV, "propfind-finite-depth"),
            ValidSyncToken => (NS_DAV, "valid-sync-token"),
            NumberOfMatchesWithinLimits => (NS_DAV, "number-of-matches-within-limits"),
            SupportedReport => (NS_DAV, "supported-report"),
            CannotModifyProtectedProperty => (NS_DAV, "cannot-modify-protected-property"),
            ResourceMustBeNull => (NS_DAV, "resource-must-be-null"),
            QuotaNotExceeded => (NS_DAV, "quota-not-exceeded"),
            ValidCalendarData => (NS_CALDAV, "valid-calendar-data"),
            ValidCalendarObjectResource => (NS_CALDAV, "valid-calendar-object-resource"),
            SupportedCalendarData => (NS_CALDAV, "supported-calendar-data"),
            SupportedCalendarComponent => (NS_CALDAV, "supported-calendar-component"),
            CalendarCollectionLocationOk => (NS_CALDAV, "calendar-collection-location-ok"),
            NoUidConflict(_) => (NS_CALDAV, "no-uid-conflict"),
            MaxResourceSize => (NS_CALDAV, "max-resource-size"),
            ValidFilter => (NS_CALDAV, "valid-filter"),
            SupportedFilter => (NS_CALDAV, "supported-filter"),
            SupportedCollation => (NS_CALDAV, "supported-collation"),
            ValidAddressData => (NS_CARDDAV, "valid-address-data"),
            SupportedAddressData => (NS_CARDDAV, "supported-address-data"),
            CardNoUidConflict(_) => (NS_CARDDAV, "no-uid-conflict"),
            CardMaxResourceSize => (NS_CARDDAV, "max-resource-size"),
            AddressbookCollectionLocationOk => (NS_CARDDAV, "addressbook-collection-location-ok"),
        }
    }

    /// The HTTP status a server usually answers this condition with:
    /// 507 for quota and truncation, 409 for a bad location, 403 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Precondition::QuotaNotExceeded | Precondition::NumberOfMatchesWithinLimits => 507,
            Precondition::CalendarCollectionLocationOk
            | Precondition::AddressbookCollectionLocationOk => 409,
            _ => 403,
        }
    }

    /// Writes the condition element (with its href, for a UID conflict).
    pub(crate) fn write(&self, out: &mut String) {
        let (ns, local) = self.parts();
        match self {
            Precondition::NoUidConflict(href) | Precondition::CardNoUidConflict(href) => {
                open_tag(out, ns, local);
                out.push('>');
                text_element(out, NS_DAV, "href", href);
                close_tag(out, ns, local);
            }
            _ => empty_element(out, ns, local),
        }
    }
}

/// A whole `DAV:error` document for `condition`, with XML declaration.
pub fn error_body(condition: &Precondition) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error");
    out.push_str(&root_namespace_decls());
    out.push('>');
    condition.write(&mut out);
    out.push_str("</d:error>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse_document, Limits};

    #[test]
    fn error_bodies_parse_back() {
        for (cond, ns, local) in [
            (
                Precondition::PropfindFiniteDepth,
                NS_DAV,
                "propfind-finite-depth",
            ),
            (Precondition::ValidSyncToken, NS_DAV, "valid-sync-token"),
            (
                Precondition::ValidCalendarData,
                NS_CALDAV,
                "valid-calendar-data",
            ),
            (
                Precondition::MaxResourceSize,
                NS_CALDAV,
                "max-resource-size",
            ),
            (
                Precondition::ValidAddressData,
                NS_CARDDAV,
                "valid-address-data",
            ),
        ] {
            let body = error_body(&cond);
            let root = parse_document(body.as_bytes(), &Limits::default()).unwrap();
            assert!(root.is(NS_DAV, "error"));
            assert!(root.children[0].is(ns, local), "{body}");
        }
    }

    #[test]
    fn uid_conflict_carries_escaped_href() {
        let body = error_body(&Precondition::NoUidConflict("/caldav/a/b/x&y.ics".into()));
        assert!(body.contains(
            "<cal:no-uid-conflict><d:href>/caldav/a/b/x&amp;y.ics</d:href></cal:no-uid-conflict>"
        ));
        assert_eq!(Precondition::QuotaNotExceeded.status(), 507);
        assert_eq!(Precondition::NoUidConflict(String::new()).status(), 403);
    }
}
