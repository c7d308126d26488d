//! The 207 multistatus body: responses with their hrefs, propstats (found
//! properties under 200, missing ones under 404), whole-resource statuses
//! (a removed member in a sync report), the condition of a truncated
//! listing, and the sync token.

use super::precondition::Precondition;
use super::status_line;
use super::writer::{
    close_tag, empty_element, empty_named, escape_attr_into, escape_into, open_tag,
    root_namespace_decls, text_element,
};
use crate::names::{PropName, NS_CALDAV, NS_CARDDAV, NS_DAV};
use crate::xml::XmlName;

/// A property's value as it is written into a propstat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropContent {
    /// No content: a 404 property, a `propname` answer, or an empty value.
    Empty,
    /// Escaped text (display name, ETag, calendar or address data, ...).
    Text(String),
    /// One `DAV:href` (principal URL, current-user-principal).
    Href(String),
    /// Several `DAV:href`s (home sets, calendar-user-address-set).
    Hrefs(Vec<String>),
    /// Empty child elements, as `DAV:resourcetype` has them.
    Elements(Vec<XmlName>),
    /// `CALDAV:comp name="..."` children (supported-calendar-component-set).
    ComponentSet(Vec<String>),
    /// `DAV:supported-report` entries naming each report.
    ReportSet(Vec<XmlName>),
    /// `DAV:privilege` entries naming each privilege.
    PrivilegeSet(Vec<XmlName>),
    /// Media types as (content-type, version): `CALDAV:calendar-data` or
    /// `CARDDAV:address-data-type` children, chosen by the property.
    DataTypes(Vec<(String, String)>),
}

/// A property and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The property name.
    pub name: PropName,
    /// Its value.
    pub value: PropContent,
}

impl Property {
    /// A property with a value.
    pub fn new(name: PropName, value: PropContent) -> Self {
        Property { name, value }
    }

    /// A property without content (404 answers, `propname`).
    pub fn empty(name: PropName) -> Self {
        Property {
            name,
            value: PropContent::Empty,
        }
    }
}

/// Properties that share one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropStat {
    /// HTTP status for all of them (200, 404, 403, 424, ...).
    pub status: u16,
    /// The properties.
    pub props: Vec<Property>,
    /// A condition explaining the status (e.g. a protected property).
    pub error: Option<Precondition>,
}

/// What a response says about its href.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    /// Per-property results.
    PropStats(Vec<PropStat>),
    /// One status for the whole resource (404 for a member removed since
    /// the sync token, 507 for a truncated listing).
    Status(u16),
}

/// One `DAV:response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The resource's href, already percent-encoded (see
    /// [`crate::route::encode_path`]).
    pub href: String,
    /// Its results.
    pub body: ResponseBody,
    /// A condition for the whole response.
    pub error: Option<Precondition>,
}

impl Response {
    /// A response listing `found` under 200 and `missing` under 404,
    /// leaving out whichever group is empty (an empty 200 propstat is
    /// kept when both are, as a response needs one propstat).
    pub fn with_props(href: String, found: Vec<Property>, missing: Vec<PropName>) -> Self {
        let mut stats = Vec::with_capacity(2);
        if !found.is_empty() || missing.is_empty() {
            stats.push(PropStat {
                status: 200,
                props: found,
                error: None,
            });
        }
        if !missing.is_empty() {
            stats.push(PropStat {
                status: 404,
                props: missing.into_iter().map(Property::empty).collect(),
                error: None,
            });
        }
        Response {
            href,
            body: ResponseBody::PropStats(stats),
            error: None,
        }
    }

    /// A response with one status for the whole resource.
    pub fn status(href: String, status: u16) -> Self {
        Response {
            href,
            body: ResponseBody::Status(status),
            error: None,
        }
    }
}

/// A complete multistatus, written at once with [`Multistatus::to_xml`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Multistatus {
    /// The responses in order.
    pub responses: Vec<Response>,
    /// The new sync token, for a `sync-collection` answer.
    pub sync_token: Option<String>,
}

impl Multistatus {
    /// The whole document.
    pub fn to_xml(&self) -> String {
        let mut out = MultistatusWriter::begin();
        for r in &self.responses {
            MultistatusWriter::response(&mut out, r);
        }
        MultistatusWriter::end(&mut out, self.sync_token.as_deref());
        out
    }
}

/// The multistatus document in three pieces, so a server can send the
/// responses as it produces them instead of holding them all.
pub struct MultistatusWriter;

impl MultistatusWriter {
    /// The XML declaration and the opening `DAV:multistatus` tag.
    pub fn begin() -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:multistatus");
        out.push_str(&root_namespace_decls());
        out.push('>');
        out
    }

    /// Appends one `DAV:response`.
    pub fn response(out: &mut String, r: &Response) {
        out.push_str("<d:response>");
        text_element(out, NS_DAV, "href", &r.href);
        match &r.body {
            ResponseBody::Status(s) => text_element(out, NS_DAV, "status", &status_line(*s)),
            ResponseBody::PropStats(stats) => {
                for stat in stats {
                    write_propstat(out, stat);
                }
            }
        }
        if let Some(e) = &r.error {
            out.push_str("<d:error>");
            e.write(out);
            out.push_str("</d:error>");
        }
        out.push_str("</d:response>");
    }

    /// The sync token, if any, and the closing tag.
    pub fn end(out: &mut String, sync_token: Option<&str>) {
        if let Some(token) = sync_token {
            text_element(out, NS_DAV, "sync-token", token);
        }
        out.push_str("</d:multistatus>\n");
    }
}

fn write_propstat(out: &mut String, stat: &PropStat) {
    out.push_str("<d:propstat><d:prop>");
    for p in &stat.props {
        write_property(out, p);
    }
    out.push_str("</d:prop>");
    text_element(out, NS_DAV, "status", &status_line(stat.status));
    if let Some(e) = &stat.error {
        out.push_str("<d:error>");
        e.write(out);
        out.push_str("</d:error>");
    }
    out.push_str("</d:propstat>");
}

fn write_property(out: &mut String, p: &Property) {
    let (ns, local) = p.name.parts();
    if p.value == PropContent::Empty {
        empty_element(out, ns, local);
        return;
    }
    open_tag(out, ns, local);
    out.push('>');
    match &p.value {
        PropContent::Empty => {}
        PropContent::Text(t) => escape_into(out, t),
        PropContent::Href(h) => text_element(out, NS_DAV, "href", h),
        PropContent::Hrefs(hs) => {
            for h in hs {
                text_element(out, NS_DAV, "href", h);
            }
        }
        PropContent::Elements(names) => {
            for n in names {
                empty_named(out, n);
            }
        }
        PropContent::ComponentSet(comps) => {
            for c in comps {
                out.push_str("<cal:comp name=\"");
                escape_attr_into(out, c);
                out.push_str("\"/>");
            }
        }
        PropContent::ReportSet(reports) => {
            for r in reports {
                out.push_str("<d:supported-report><d:report>");
                empty_named(out, r);
                out.push_str("</d:report></d:supported-report>");
            }
        }
        PropContent::PrivilegeSet(privs) => {
            for pr in privs {
                out.push_str("<d:privilege>");
                empty_named(out, pr);
                out.push_str("</d:privilege>");
            }
        }
        PropContent::DataTypes(types) => {
            let (tns, tlocal) = if ns == NS_CARDDAV {
                (NS_CARDDAV, "address-data-type")
            } else {
                (NS_CALDAV, "calendar-data")
            };
            for (ct, version) in types {
                open_tag(out, tns, tlocal);
                out.push_str(" content-type=\"");
                escape_attr_into(out, ct);
                out.push_str("\" version=\"");
                escape_attr_into(out, version);
                out.push_str("\"/>");
            }
        }
    }
    close_tag(out, ns, local);
}

#[cfg(test)]
mod tests;
