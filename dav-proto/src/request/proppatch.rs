//! PROPPATCH bodies, and the MKCALENDAR and extended MKCOL bodies, which
//! carry the same `DAV:set` / `DAV:prop` shape.

use super::{expect_root, is_blank, RequestError};
use crate::names::{PropName, NS_CALDAV, NS_DAV};
use crate::xml::{parse_document, Element, Limits, XmlName};

/// The value a client gives a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropValue {
    /// Text content (display name, description, colour, time zone, ...),
    /// surrounding whitespace kept as sent.
    Text(String),
    /// `DAV:resourcetype`: the names of its child elements.
    ResourceType(Vec<XmlName>),
    /// `CALDAV:supported-calendar-component-set`: the component names
    /// (`VEVENT`, `VTODO`, ...).
    ComponentSet(Vec<String>),
    /// Any other property with element content, kept as parsed so a dead
    /// property store could keep it.
    Xml(Element),
}

impl PropValue {
    /// Reads the value of property element `prop` according to its name.
    fn from_element(name: &PropName, prop: &Element) -> PropValue {
        match name {
            PropName::ResourceType => {
                PropValue::ResourceType(prop.children.iter().map(|c| c.name.clone()).collect())
            }
            PropName::SupportedCalendarComponentSet => PropValue::ComponentSet(
                prop.children_named(NS_CALDAV, "comp")
                    .filter_map(|c| c.attr("name").map(str::to_owned))
                    .collect(),
            ),
            _ if prop.children.is_empty() => PropValue::Text(prop.text.clone()),
            _ => PropValue::Xml(prop.clone()),
        }
    }
}

/// One instruction of a PROPPATCH, in request order (the RFC requires the
/// instructions to be applied in document order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOp {
    /// Set the property to the value.
    Set(PropName, PropValue),
    /// Remove the property.
    Remove(PropName),
}

/// Parses a PROPPATCH body (`DAV:propertyupdate`).
pub fn parse_proppatch(body: &[u8], limits: &Limits) -> Result<Vec<PatchOp>, RequestError> {
    let root = parse_document(body, limits)?;
    expect_root(&root, NS_DAV, "propertyupdate", "DAV:propertyupdate")?;
    let mut ops = Vec::new();
    for instruction in &root.children {
        let set = instruction.is(NS_DAV, "set");
        if !set && !instruction.is(NS_DAV, "remove") {
            continue;
        }
        for prop in instruction.children_named(NS_DAV, "prop") {
            for p in &prop.children {
                let name = PropName::from_xml(&p.name);
                ops.push(if set {
                    let value = PropValue::from_element(&name, p);
                    PatchOp::Set(name, value)
                } else {
                    PatchOp::Remove(name)
                });
            }
        }
    }
    if ops.is_empty() {
        return Err(RequestError::Missing("DAV:set or DAV:remove"));
    }
    Ok(ops)
}

/// Which method a collection-creating body came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MkcolKind {
    /// MKCALENDAR (the collection is a calendar whatever the body says).
    Calendar,
    /// Extended MKCOL: the `DAV:resourcetype` set in the body decides.
    Extended,
}

/// The properties to set on a collection being created.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MkcolRequest {
    /// Properties in request order.
    pub props: Vec<(PropName, PropValue)>,
}

impl MkcolRequest {
    /// The resource type the body asks for, if it sets one.
    pub fn resource_type(&self) -> Option<&[XmlName]> {
        self.props.iter().find_map(|(_, v)| match v {
            PropValue::ResourceType(t) => Some(t.as_slice()),
            _ => None,
        })
    }

    /// The text value set for `name`, if any.
    pub fn text(&self, name: &PropName) -> Option<&str> {
        self.props.iter().find_map(|(n, v)| match v {
            PropValue::Text(t) if n == name => Some(t.as_str()),
            _ => None,
        })
    }
}

/// Parses a MKCALENDAR (`CALDAV:mkcalendar`) or extended MKCOL
/// (`DAV:mkcol`) body; an empty body asks for a collection with defaults.
pub fn parse_mkcol(
    kind: MkcolKind,
    body: &[u8],
    limits: &Limits,
) -> Result<MkcolRequest, RequestError> {
    if is_blank(body) {
        return Ok(MkcolRequest::default());
    }
    let root = parse_document(body, limits)?;
    match kind {
        MkcolKind::Calendar => expect_root(&root, NS_CALDAV, "mkcalendar", "CALDAV:mkcalendar")?,
        MkcolKind::Extended => expect_root(&root, NS_DAV, "mkcol", "DAV:mkcol")?,
    }
    let mut props = Vec::new();
    for set in root.children_named(NS_DAV, "set") {
        for prop in set.children_named(NS_DAV, "prop") {
            for p in &prop.children {
                let name = PropName::from_xml(&p.name);
                let value = PropValue::from_element(&name, p);
                props.push((name, value));
            }
        }
    }
    Ok(MkcolRequest { props })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{NS_APPLE_ICAL, NS_CARDDAV};

    #[test]
    fn proppatch_set_and_remove_in_order() {
        // Shaped after the WebDAV specification's PROPPATCH example.
        let body = r#"<?xml version="1.0" encoding="utf-8" ?>
   <D:propertyupdate xmlns:D="DAV:"
           xmlns:Z="http://ns.example.com/standards/z39.50/">
     <D:set>
       <D:prop>
         <Z:Authors>
           <Z:Author>Jim Whitehead</Z:Author>
           <Z:Author>Roy Fielding</Z:Author>
         </Z:Authors>
       </D:prop>
     </D:set>
     <D:remove>
       <D:prop><Z:Copyright-Owner/></D:prop>
     </D:remove>
   </D:propertyupdate>"#;
        let ops = parse_proppatch(body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(ops.len(), 2);
        let z = "http://ns.example.com/standards/z39.50/";
        match &ops[0] {
            PatchOp::Set(PropName::Other(n), PropValue::Xml(e)) => {
                assert_eq!(n, &XmlName::new(z, "Authors"));
                assert_eq!(e.children.len(), 2);
                assert_eq!(e.children[1].text, "Roy Fielding");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            ops[1],
            PatchOp::Remove(PropName::Other(XmlName::new(z, "Copyright-Owner")))
        );
    }

    #[test]
    fn proppatch_colour_and_non_ascii_name() {
        let body = r#"<d:propertyupdate xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/">
<d:set><d:prop><d:displayname>Kalender für Ärzte 📅</d:displayname>
<a:calendar-color>#FF0000FF</a:calendar-color></d:prop></d:set></d:propertyupdate>"#;
        let ops = parse_proppatch(body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(
            ops,
            vec![
                PatchOp::Set(
                    PropName::DisplayName,
                    PropValue::Text("Kalender für Ärzte 📅".into())
                ),
                PatchOp::Set(PropName::CalendarColor, PropValue::Text("#FF0000FF".into())),
            ]
        );
        let _ = NS_APPLE_ICAL;
        assert_eq!(
            parse_proppatch(b"<d:propertyupdate xmlns:d=\"DAV:\"/>", &Limits::default()),
            Err(RequestError::Missing("DAV:set or DAV:remove"))
        );
    }

    #[test]
    fn mkcalendar_example() {
        // Shaped after the MKCALENDAR example of the CalDAV specification.
        let body = r#"<?xml version="1.0" encoding="utf-8" ?>
   <C:mkcalendar xmlns:D="DAV:"
                 xmlns:C="urn:ietf:params:xml:ns:caldav">
     <D:set>
       <D:prop>
         <D:displayname>Lisa's Events</D:displayname>
         <C:calendar-description xml:lang="en"
   >Calendar restricted to events.</C:calendar-description>
         <C:supported-calendar-component-set>
           <C:comp name="VEVENT"/>
         </C:supported-calendar-component-set>
         <C:calendar-timezone><![CDATA[BEGIN:VCALENDAR
   END:VCALENDAR]]></C:calendar-timezone>
       </D:prop>
     </D:set>
   </C:mkcalendar>"#;
        let req = parse_mkcol(MkcolKind::Calendar, body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(req.text(&PropName::DisplayName), Some("Lisa's Events"));
        assert_eq!(
            req.text(&PropName::CalendarDescription),
            Some("Calendar restricted to events.")
        );
        assert!(req
            .text(&PropName::CalendarTimezone)
            .is_some_and(|t| t.starts_with("BEGIN:VCALENDAR")));
        assert!(req.props.contains(&(
            PropName::SupportedCalendarComponentSet,
            PropValue::ComponentSet(vec!["VEVENT".into()])
        )));
        assert_eq!(
            parse_mkcol(MkcolKind::Calendar, b"", &Limits::default()).unwrap(),
            MkcolRequest::default()
        );
    }

    #[test]
    fn extended_mkcol_addressbook() {
        // Shaped after the extended MKCOL example of the CardDAV specification.
        let body = r#"<?xml version="1.0" encoding="utf-8" ?>
   <D:mkcol xmlns:D="DAV:"
                 xmlns:C="urn:ietf:params:xml:ns:carddav">
     <D:set>
       <D:prop>
         <D:resourcetype>
           <D:collection/>
           <C:addressbook/>
         </D:resourcetype>
         <D:displayname>Lisa's Contacts</D:displayname>
         <C:addressbook-description xml:lang="en"
   >My primary address book.</C:addressbook-description>
       </D:prop>
     </D:set>
   </D:mkcol>"#;
        let req = parse_mkcol(MkcolKind::Extended, body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(
            req.resource_type(),
            Some(
                &[
                    XmlName::new(NS_DAV, "collection"),
                    XmlName::new(NS_CARDDAV, "addressbook")
                ][..]
            )
        );
        assert!(matches!(
            parse_mkcol(MkcolKind::Calendar, body.as_bytes(), &Limits::default()),
            Err(RequestError::UnexpectedRoot { .. })
        ));
    }
}
