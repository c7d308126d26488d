//! PROPFIND request bodies.

use super::{expect_root, is_blank, PropSelection, RequestError};
use crate::names::NS_DAV;
use crate::xml::{parse_document, Limits};

/// Parses a PROPFIND body. An empty body means `allprop`, as the protocol
/// says; a `DAV:propfind` with none of allprop, propname or prop is refused.
pub fn parse_propfind(body: &[u8], limits: &Limits) -> Result<PropSelection, RequestError> {
    if is_blank(body) {
        return Ok(PropSelection::AllProp {
            include: Vec::new(),
        });
    }
    let root = parse_document(body, limits)?;
    expect_root(&root, NS_DAV, "propfind", "DAV:propfind")?;
    PropSelection::from_parent(&root).ok_or(RequestError::Missing("DAV:prop"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{PropName, NS_CALDAV, NS_CALENDARSERVER};
    use crate::xml::{XmlError, XmlName};

    fn parse(s: &str) -> Result<PropSelection, RequestError> {
        parse_propfind(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn named_properties_in_their_namespaces() {
        // Shaped after the "retrieving named properties" example of the
        // WebDAV specification.
        let body = r#"<?xml version="1.0" encoding="utf-8" ?>
   <D:propfind xmlns:D="DAV:">
     <D:prop xmlns:R="http://ns.example.com/boxschema/">
       <R:bigbox/>
       <R:author/>
       <D:getetag/>
     </D:prop>
   </D:propfind>"#;
        assert_eq!(
            parse(body).unwrap(),
            PropSelection::Prop(vec![
                PropName::Other(XmlName::new("http://ns.example.com/boxschema/", "bigbox")),
                PropName::Other(XmlName::new("http://ns.example.com/boxschema/", "author")),
                PropName::GetEtag,
            ])
        );
    }

    #[test]
    fn discovery_propfind_with_default_namespace() {
        let body = r#"<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
 xmlns:CS="http://calendarserver.org/ns/"><prop><current-user-principal/>
<C:calendar-home-set/><CS:getctag/><resourcetype/><C:calendar-home-set/></prop></propfind>"#;
        assert_eq!(
            parse(body).unwrap(),
            PropSelection::Prop(vec![
                PropName::CurrentUserPrincipal,
                PropName::CalendarHomeSet,
                PropName::GetCtag,
                PropName::ResourceType,
            ])
        );
        let _ = (NS_CALDAV, NS_CALENDARSERVER);
    }

    #[test]
    fn allprop_propname_and_empty_body() {
        assert_eq!(
            parse("<D:propfind xmlns:D=\"DAV:\"><D:propname/></D:propfind>").unwrap(),
            PropSelection::PropName
        );
        assert_eq!(
            parse(
                r#"<D:propfind xmlns:D="DAV:"><D:allprop/><D:include>
<D:supported-report-set/></D:include></D:propfind>"#
            )
            .unwrap(),
            PropSelection::AllProp {
                include: vec![PropName::SupportedReportSet]
            }
        );
        assert_eq!(
            parse(" \r\n").unwrap(),
            PropSelection::AllProp { include: vec![] }
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse("<D:propfind xmlns:D=\"DAV:\"/>"),
            Err(RequestError::Missing("DAV:prop"))
        );
        assert!(matches!(
            parse("<propfind/>"),
            Err(RequestError::UnexpectedRoot { .. })
        ));
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><D:propfind xmlns:D="DAV:"><D:prop>&b;</D:prop></D:propfind>"#;
        assert_eq!(
            parse(bomb),
            Err(RequestError::Xml(XmlError::DoctypeRefused))
        );
    }
}
