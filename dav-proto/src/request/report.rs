//! REPORT bodies: `calendar-query`, `calendar-multiget`,
//! `addressbook-query`, `addressbook-multiget`, `free-busy-query` and
//! `sync-collection`.

use super::filter::{AddressFilter, CompFilter, TimeRange};
use super::{PropSelection, RequestError};
use crate::names::{NS_CALDAV, NS_CARDDAV, NS_DAV};
use crate::xml::{parse_document, Element, Limits, XmlName};

/// What a `CALDAV:calendar-data` element inside the requested `DAV:prop`
/// asks of the returned objects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalendarDataRequest {
    /// `content-type` attribute (default `text/calendar`).
    pub content_type: Option<String>,
    /// `version` attribute (default `2.0`).
    pub version: Option<String>,
    /// `expand`: return recurring objects as their instances in the range.
    pub expand: Option<TimeRange>,
    /// `limit-recurrence-set`: only the overrides touching the range.
    pub limit_recurrence_set: Option<TimeRange>,
}

/// What a `CARDDAV:address-data` element asks of the returned cards.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressDataRequest {
    /// `content-type` attribute (default `text/vcard`).
    pub content_type: Option<String>,
    /// `version` attribute (`3.0` or `4.0`).
    pub version: Option<String>,
    /// Names of the vCard properties to return; empty means all.
    pub props: Vec<String>,
}

/// A `calendar-query` REPORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarQuery {
    /// The properties to return for each match.
    pub props: PropSelection,
    /// Details of the requested calendar data, when it is requested.
    pub calendar_data: Option<CalendarDataRequest>,
    /// The filter's top comp-filter; the server answers
    /// `CALDAV:valid-filter` unless it names `VCALENDAR`.
    pub filter: CompFilter,
    /// `CALDAV:timezone`: a VTIMEZONE for floating times, if given.
    pub timezone: Option<String>,
}

/// A `calendar-multiget` or `addressbook-multiget` REPORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multiget {
    /// The properties to return for each href.
    pub props: PropSelection,
    /// Details of the requested calendar data (calendar-multiget).
    pub calendar_data: Option<CalendarDataRequest>,
    /// Details of the requested address data (addressbook-multiget).
    pub address_data: Option<AddressDataRequest>,
    /// The hrefs, as sent (still percent-encoded), in request order.
    pub hrefs: Vec<String>,
}

/// An `addressbook-query` REPORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressbookQuery {
    /// The properties to return for each match.
    pub props: PropSelection,
    /// Details of the requested address data, when it is requested.
    pub address_data: Option<AddressDataRequest>,
    /// The filter.
    pub filter: AddressFilter,
    /// `CARDDAV:limit/nresults`: the most results the client wants.
    pub limit: Option<u32>,
}

/// How deep a `sync-collection` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncLevel {
    /// `1`: the collection's members.
    One,
    /// `infinite`: all descendants.
    Infinite,
}

/// A `sync-collection` REPORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCollection {
    /// The token from the previous sync; `None` (empty element) asks for
    /// the initial full listing.
    pub sync_token: Option<String>,
    /// Reporting depth.
    pub level: SyncLevel,
    /// `DAV:limit/nresults`: the most changes the client wants in one reply.
    pub limit: Option<u32>,
    /// The properties to return for changed members.
    pub props: PropSelection,
}

/// A parsed REPORT body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// `CALDAV:calendar-query`.
    CalendarQuery(CalendarQuery),
    /// `CALDAV:calendar-multiget`.
    CalendarMultiget(Multiget),
    /// `CARDDAV:addressbook-query`.
    AddressbookQuery(AddressbookQuery),
    /// `CARDDAV:addressbook-multiget`.
    AddressbookMultiget(Multiget),
    /// `CALDAV:free-busy-query` with its time range.
    FreeBusyQuery(TimeRange),
    /// `DAV:sync-collection`.
    SyncCollection(SyncCollection),
    /// Any other report; the server answers `DAV:supported-report`.
    Other(XmlName),
}

/// Parses a REPORT body and dispatches on its root element.
pub fn parse_report(body: &[u8], limits: &Limits) -> Result<Report, RequestError> {
    let root = parse_document(body, limits)?;
    let props = || PropSelection::from_parent(&root).unwrap_or(PropSelection::Prop(Vec::new()));
    let (ns, local) = (root.name.ns.as_str(), root.name.local.as_str());
    Ok(match (ns, local) {
        (NS_CALDAV, "calendar-query") => {
            let filter = root
                .child(NS_CALDAV, "filter")
                .ok_or(RequestError::Missing("CALDAV:filter"))?;
            let top = filter
                .child(NS_CALDAV, "comp-filter")
                .ok_or(RequestError::Missing("CALDAV:comp-filter"))?;
            Report::CalendarQuery(CalendarQuery {
                props: props(),
                calendar_data: calendar_data(&root)?,
                filter: CompFilter::from_element(top)?,
                timezone: root.child(NS_CALDAV, "timezone").map(|t| t.text.clone()),
            })
        }
        (NS_CALDAV, "calendar-multiget") => Report::CalendarMultiget(Multiget {
            props: props(),
            calendar_data: calendar_data(&root)?,
            address_data: None,
            hrefs: hrefs(&root)?,
        }),
        (NS_CARDDAV, "addressbook-multiget") => Report::AddressbookMultiget(Multiget {
            props: props(),
            calendar_data: None,
            address_data: address_data(&root),
            hrefs: hrefs(&root)?,
        }),
        (NS_CARDDAV, "addressbook-query") => {
            let filter = root
                .child(NS_CARDDAV, "filter")
                .ok_or(RequestError::Missing("CARDDAV:filter"))?;
            Report::AddressbookQuery(AddressbookQuery {
                props: props(),
                address_data: address_data(&root),
                filter: AddressFilter::from_element(filter)?,
                limit: nresults(root.child(NS_CARDDAV, "limit"), NS_CARDDAV)?,
            })
        }
        (NS_CALDAV, "free-busy-query") => Report::FreeBusyQuery(TimeRange::from_element(
            root.child(NS_CALDAV, "time-range")
                .ok_or(RequestError::Missing("CALDAV:time-range"))?,
        )?),
        (NS_DAV, "sync-collection") => Report::SyncCollection(sync_collection(&root)?),
        _ => Report::Other(root.name.clone()),
    })
}

/// The `DAV:prop` child of a report root, if any.
fn requested_prop(root: &Element) -> Option<&Element> {
    root.child(NS_DAV, "prop")
}

fn calendar_data(root: &Element) -> Result<Option<CalendarDataRequest>, RequestError> {
    let Some(cd) = requested_prop(root).and_then(|p| p.child(NS_CALDAV, "calendar-data")) else {
        return Ok(None);
    };
    Ok(Some(CalendarDataRequest {
        content_type: cd.attr("content-type").map(str::to_owned),
        version: cd.attr("version").map(str::to_owned),
        expand: cd
            .child(NS_CALDAV, "expand")
            .map(TimeRange::from_element)
            .transpose()?,
        limit_recurrence_set: cd
            .child(NS_CALDAV, "limit-recurrence-set")
            .map(TimeRange::from_element)
            .transpose()?,
    }))
}

fn address_data(root: &Element) -> Option<AddressDataRequest> {
    let ad = requested_prop(root)?.child(NS_CARDDAV, "address-data")?;
    Some(AddressDataRequest {
        content_type: ad.attr("content-type").map(str::to_owned),
        version: ad.attr("version").map(str::to_owned),
        props: ad
            .children_named(NS_CARDDAV, "prop")
            .filter_map(|p| p.attr("name").map(str::to_owned))
            .collect(),
    })
}

fn hrefs(root: &Element) -> Result<Vec<String>, RequestError> {
    let hrefs: Vec<String> = root
        .children_named(NS_DAV, "href")
        .map(|h| h.trimmed_text().to_owned())
        .collect();
    if hrefs.is_empty() {
        return Err(RequestError::Missing("DAV:href"));
    }
    Ok(hrefs)
}

/// Reads `<limit><nresults>N</nresults></limit>` in namespace `ns`.
fn nresults(limit: Option<&Element>, ns: &str) -> Result<Option<u32>, RequestError> {
    let Some(limit) = limit else { return Ok(None) };
    let n = limit
        .child(ns, "nresults")
        .ok_or(RequestError::Missing("nresults"))?;
    let text = n.trimmed_text();
    match text.parse::<u32>() {
        Ok(v) if text.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(v)),
        _ => Err(RequestError::invalid("nresults", text)),
    }
}

fn sync_collection(root: &Element) -> Result<SyncCollection, RequestError> {
    let token = root
        .child(NS_DAV, "sync-token")
        .ok_or(RequestError::Missing("DAV:sync-token"))?
        .trimmed_text();
    let level = root
        .child(NS_DAV, "sync-level")
        .ok_or(RequestError::Missing("DAV:sync-level"))?
        .trimmed_text();
    let level = match level {
        "1" => SyncLevel::One,
        "infinite" | "infinity" => SyncLevel::Infinite,
        other => return Err(RequestError::invalid("DAV:sync-level", other)),
    };
    Ok(SyncCollection {
        sync_token: (!token.is_empty()).then(|| token.to_owned()),
        level,
        limit: nresults(root.child(NS_DAV, "limit"), NS_DAV)?,
        props: PropSelection::from_parent(root).unwrap_or(PropSelection::Prop(Vec::new())),
    })
}

#[cfg(test)]
mod tests;
