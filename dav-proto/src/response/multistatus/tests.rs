//! The writer's output is checked both as text (prefixes, escaping) and by
//! reading it back with the crate's own XML reader (namespaces).

use super::*;
use crate::xml::{parse_document, Element, Limits};

fn reparse(s: &str) -> Element {
    parse_document(s.as_bytes(), &Limits::default()).unwrap()
}

#[test]
fn found_and_missing_properties() {
    let odd = XmlName::new("http://ns.example.com/boxschema/", "bigbox");
    let ms = Multistatus {
        responses: vec![Response::with_props(
            "/caldav/j%C3%BCrgen/Kalender/".into(),
            vec![
                Property::new(
                    PropName::DisplayName,
                    PropContent::Text("Jürgen's <Kalender> & Co".into()),
                ),
                Property::new(
                    PropName::ResourceType,
                    PropContent::Elements(vec![
                        XmlName::new(NS_DAV, "collection"),
                        XmlName::new(NS_CALDAV, "calendar"),
                    ]),
                ),
                Property::new(PropName::GetCtag, PropContent::Text("\"42\"".into())),
                Property::new(
                    PropName::SupportedCalendarComponentSet,
                    PropContent::ComponentSet(vec!["VEVENT".into(), "VTODO".into()]),
                ),
                Property::new(
                    PropName::SupportedReportSet,
                    PropContent::ReportSet(vec![XmlName::new(NS_DAV, "sync-collection")]),
                ),
                Property::new(
                    PropName::CurrentUserPrincipal,
                    PropContent::Href("/caldav/j%C3%BCrgen/".into()),
                ),
                Property::new(
                    PropName::SupportedCalendarData,
                    PropContent::DataTypes(vec![("text/calendar".into(), "2.0".into())]),
                ),
                Property::new(
                    PropName::CalendarColor,
                    PropContent::Text("#FF0000FF".into()),
                ),
            ],
            vec![PropName::Other(odd.clone()), PropName::QuotaUsedBytes],
        )],
        sync_token: None,
    };
    let xml = ms.to_xml();
    assert!(xml.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:multistatus xmlns:d=\"DAV:\""
    ));
    assert!(xml.contains("<d:displayname>Jürgen&apos;s &lt;Kalender&gt; &amp; Co</d:displayname>"));
    assert!(xml.contains("<d:resourcetype><d:collection/><cal:calendar/></d:resourcetype>"));
    assert!(xml.contains("<cs:getctag>&quot;42&quot;</cs:getctag>"));
    assert!(xml.contains("<d:status>HTTP/1.1 404 Not Found</d:status>"));
    assert!(xml.contains("<ical:calendar-color>#FF0000FF</ical:calendar-color>"));

    let root = reparse(&xml);
    assert!(root.is(NS_DAV, "multistatus"));
    let resp = &root.children[0];
    assert_eq!(
        resp.child(NS_DAV, "href").unwrap().text,
        "/caldav/j%C3%BCrgen/Kalender/"
    );
    let stats: Vec<_> = resp.children_named(NS_DAV, "propstat").collect();
    assert_eq!(stats.len(), 2);
    let found = stats[0].child(NS_DAV, "prop").unwrap();
    assert_eq!(found.children[0].text, "Jürgen's <Kalender> & Co");
    let data = found
        .child(NS_CALDAV, "supported-calendar-data")
        .and_then(|p| p.child(NS_CALDAV, "calendar-data"))
        .unwrap();
    assert_eq!(data.attr("content-type"), Some("text/calendar"));
    let missing = stats[1].child(NS_DAV, "prop").unwrap();
    assert_eq!(missing.children[0].name, odd);
    assert!(missing.children[1].is(NS_DAV, "quota-used-bytes"));
}

#[test]
fn sync_answer_with_removed_member_truncation_and_token() {
    let mut truncated = Response::status("/caldav/u/cal/".into(), 507);
    truncated.error = Some(Precondition::NumberOfMatchesWithinLimits);
    let ms = Multistatus {
        responses: vec![
            Response::with_props(
                "/caldav/u/cal/a.ics".into(),
                vec![Property::new(
                    PropName::GetEtag,
                    PropContent::Text("\"1-2\"".into()),
                )],
                vec![],
            ),
            Response::status("/caldav/u/cal/gone.ics".into(), 404),
            truncated,
        ],
        sync_token: Some("urn:kc:sync:7&8".into()),
    };
    let xml = ms.to_xml();
    assert!(xml.contains("<d:response><d:href>/caldav/u/cal/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>"));
    assert!(xml.contains("<d:status>HTTP/1.1 507 Insufficient Storage</d:status><d:error><d:number-of-matches-within-limits/></d:error>"));
    assert!(xml.ends_with("<d:sync-token>urn:kc:sync:7&amp;8</d:sync-token></d:multistatus>\n"));
    let root = reparse(&xml);
    assert_eq!(
        root.child(NS_DAV, "sync-token").unwrap().text,
        "urn:kc:sync:7&8"
    );
    assert_eq!(root.children_named(NS_DAV, "response").count(), 3);
}

#[test]
fn empty_response_and_streaming_match() {
    let r = Response::with_props("/x".into(), vec![], vec![]);
    let ms = Multistatus {
        responses: vec![r.clone()],
        sync_token: None,
    };
    let mut streamed = MultistatusWriter::begin();
    MultistatusWriter::response(&mut streamed, &r);
    MultistatusWriter::end(&mut streamed, None);
    assert_eq!(streamed, ms.to_xml());
    assert!(streamed.contains(
        "<d:propstat><d:prop></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
    ));
}

#[test]
fn address_data_types_and_hrefs() {
    let mut out = String::new();
    write_property(
        &mut out,
        &Property::new(
            PropName::SupportedAddressData,
            PropContent::DataTypes(vec![
                ("text/vcard".into(), "3.0".into()),
                ("text/vcard".into(), "4.0".into()),
            ]),
        ),
    );
    assert_eq!(out, "<card:supported-address-data><card:address-data-type content-type=\"text/vcard\" version=\"3.0\"/><card:address-data-type content-type=\"text/vcard\" version=\"4.0\"/></card:supported-address-data>");
    let mut out = String::new();
    write_property(
        &mut out,
        &Property::new(
            PropName::CalendarHomeSet,
            PropContent::Hrefs(vec!["/a/".into(), "/b/".into()]),
        ),
    );
    assert_eq!(
        out,
        "<cal:calendar-home-set><d:href>/a/</d:href><d:href>/b/</d:href></cal:calendar-home-set>"
    );
}
