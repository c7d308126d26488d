//! Namespaces and property names.
//!
//! A WebDAV property is named by (namespace URI, local name). The
//! properties the CalDAV/CardDAV server knows get a variant of [`PropName`],
//! so the server matches on them; every other name is kept as
//! [`PropName::Other`] and answered 404 in its own namespace.

use crate::xml::XmlName;

/// The WebDAV namespace (RFC 4918).
pub const NS_DAV: &str = "DAV:";
/// The CalDAV namespace (RFC 4791).
pub const NS_CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// The CardDAV namespace (RFC 6352).
pub const NS_CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
/// Apple's calendar server namespace (`getctag` and friends).
pub const NS_CALENDARSERVER: &str = "http://calendarserver.org/ns/";
/// Apple's iCal namespace (`calendar-color`, `calendar-order`).
pub const NS_APPLE_ICAL: &str = "http://apple.com/ns/ical/";

/// The prefix the multistatus writer binds to each well-known namespace;
/// any other namespace gets a generated prefix where it is used.
pub const PREFIXES: [(&str, &str); 5] = [
    ("d", NS_DAV),
    ("cal", NS_CALDAV),
    ("card", NS_CARDDAV),
    ("cs", NS_CALENDARSERVER),
    ("ical", NS_APPLE_ICAL),
];

macro_rules! prop_names {
    ($( $(#[$doc:meta])* $variant:ident = ($ns:expr, $local:literal), )*) => {
        /// A property name: one of the properties the server knows, or any
        /// other (namespace, local name).
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum PropName {
            $( $(#[$doc])* $variant, )*
            /// A property this crate has no variant for.
            Other(XmlName),
        }

        impl PropName {
            /// Classifies an expanded XML name.
            pub fn from_xml(name: &XmlName) -> PropName {
                $( if name.is($ns, $local) { return PropName::$variant; } )*
                PropName::Other(name.clone())
            }

            /// The property's namespace URI and local name.
            pub fn parts(&self) -> (&str, &str) {
                match self {
                    $( PropName::$variant => ($ns, $local), )*
                    PropName::Other(n) => (n.ns.as_str(), n.local.as_str()),
                }
            }
        }
    };
}

prop_names! {
    /// `DAV:resourcetype`.
    ResourceType = (NS_DAV, "resourcetype"),
    /// `DAV:displayname`.
    DisplayName = (NS_DAV, "displayname"),
    /// `DAV:getetag`.
    GetEtag = (NS_DAV, "getetag"),
    /// `DAV:getcontentlength`.
    GetContentLength = (NS_DAV, "getcontentlength"),
    /// `DAV:getcontenttype`.
    GetContentType = (NS_DAV, "getcontenttype"),
    /// `DAV:getlastmodified`.
    GetLastModified = (NS_DAV, "getlastmodified"),
    /// `DAV:creationdate`.
    CreationDate = (NS_DAV, "creationdate"),
    /// `DAV:getcontentlanguage`.
    GetContentLanguage = (NS_DAV, "getcontentlanguage"),
    /// `DAV:lockdiscovery`.
    LockDiscovery = (NS_DAV, "lockdiscovery"),
    /// `DAV:supportedlock`.
    SupportedLock = (NS_DAV, "supportedlock"),
    /// `DAV:current-user-principal` (RFC 5397).
    CurrentUserPrincipal = (NS_DAV, "current-user-principal"),
    /// `DAV:principal-URL` (RFC 3744).
    PrincipalUrl = (NS_DAV, "principal-URL"),
    /// `DAV:owner` (RFC 3744).
    Owner = (NS_DAV, "owner"),
    /// `DAV:current-user-privilege-set` (RFC 3744).
    CurrentUserPrivilegeSet = (NS_DAV, "current-user-privilege-set"),
    /// `DAV:supported-report-set` (RFC 3253).
    SupportedReportSet = (NS_DAV, "supported-report-set"),
    /// `DAV:sync-token` (RFC 6578).
    SyncToken = (NS_DAV, "sync-token"),
    /// `DAV:quota-available-bytes` (RFC 4331).
    QuotaAvailableBytes = (NS_DAV, "quota-available-bytes"),
    /// `DAV:quota-used-bytes` (RFC 4331).
    QuotaUsedBytes = (NS_DAV, "quota-used-bytes"),
    /// `CALDAV:calendar-home-set`.
    CalendarHomeSet = (NS_CALDAV, "calendar-home-set"),
    /// `CALDAV:calendar-user-address-set` (RFC 6638).
    CalendarUserAddressSet = (NS_CALDAV, "calendar-user-address-set"),
    /// `CALDAV:calendar-description`.
    CalendarDescription = (NS_CALDAV, "calendar-description"),
    /// `CALDAV:calendar-timezone`.
    CalendarTimezone = (NS_CALDAV, "calendar-timezone"),
    /// `CALDAV:supported-calendar-component-set`.
    SupportedCalendarComponentSet = (NS_CALDAV, "supported-calendar-component-set"),
    /// `CALDAV:supported-calendar-data`.
    SupportedCalendarData = (NS_CALDAV, "supported-calendar-data"),
    /// `CALDAV:max-resource-size`.
    MaxResourceSize = (NS_CALDAV, "max-resource-size"),
    /// `CALDAV:min-date-time`.
    MinDateTime = (NS_CALDAV, "min-date-time"),
    /// `CALDAV:max-date-time`.
    MaxDateTime = (NS_CALDAV, "max-date-time"),
    /// `CALDAV:calendar-data`, only meaningful inside a REPORT.
    CalendarData = (NS_CALDAV, "calendar-data"),
    /// `CARDDAV:addressbook-home-set`.
    AddressbookHomeSet = (NS_CARDDAV, "addressbook-home-set"),
    /// `CARDDAV:addressbook-description`.
    AddressbookDescription = (NS_CARDDAV, "addressbook-description"),
    /// `CARDDAV:supported-address-data`.
    SupportedAddressData = (NS_CARDDAV, "supported-address-data"),
    /// `CARDDAV:max-resource-size`.
    AddressbookMaxResourceSize = (NS_CARDDAV, "max-resource-size"),
    /// `CARDDAV:address-data`, only meaningful inside a REPORT.
    AddressData = (NS_CARDDAV, "address-data"),
    /// `CS:getctag`, Apple's collection tag.
    GetCtag = (NS_CALENDARSERVER, "getctag"),
    /// `ICAL:calendar-color`.
    CalendarColor = (NS_APPLE_ICAL, "calendar-color"),
    /// `ICAL:calendar-order`.
    CalendarOrder = (NS_APPLE_ICAL, "calendar-order"),
}

impl PropName {
    /// The property's name as an [`XmlName`].
    pub fn to_xml(&self) -> XmlName {
        let (ns, local) = self.parts();
        XmlName::new(ns, local)
    }

    /// True for the properties a client may set with PROPPATCH or at
    /// creation (MKCALENDAR, extended MKCOL); all others are protected.
    pub fn is_writable(&self) -> bool {
        matches!(
            self,
            PropName::DisplayName
                | PropName::CalendarDescription
                | PropName::CalendarTimezone
                | PropName::CalendarColor
                | PropName::CalendarOrder
                | PropName::AddressbookDescription
                | PropName::ResourceType
                | PropName::SupportedCalendarComponentSet
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_round_trip() {
        for name in [
            PropName::GetCtag,
            PropName::CalendarHomeSet,
            PropName::PrincipalUrl,
            PropName::CalendarColor,
            PropName::AddressbookMaxResourceSize,
        ] {
            assert_eq!(PropName::from_xml(&name.to_xml()), name);
        }
        assert_eq!(
            PropName::from_xml(&XmlName::new(NS_CALDAV, "max-resource-size")),
            PropName::MaxResourceSize
        );
    }

    #[test]
    fn unknown_names_keep_their_namespace() {
        let n = XmlName::new("urn:x", "größe");
        assert_eq!(PropName::from_xml(&n), PropName::Other(n.clone()));
        assert_eq!(PropName::Other(n).parts(), ("urn:x", "größe"));
        // Same local name, wrong namespace: not the known property.
        assert!(matches!(
            PropName::from_xml(&XmlName::new(NS_CALDAV, "displayname")),
            PropName::Other(_)
        ));
    }
}
