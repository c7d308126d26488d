//! REPORT bodies shaped after the examples of the CalDAV, CardDAV and
//! collection synchronisation specifications.

use super::*;
use crate::names::PropName;
use crate::request::filter::{Collation, FilterTest, MatchType, UtcDateTime};
use crate::xml::XmlError;

fn parse(s: &str) -> Result<Report, RequestError> {
    parse_report(s.as_bytes(), &Limits::default())
}

fn t(s: &str) -> Option<UtcDateTime> {
    UtcDateTime::parse(s)
}

#[test]
fn calendar_query_time_range_with_expand() {
    let body = r#"<?xml version="1.0" encoding="utf-8" ?>
   <C:calendar-query xmlns:D="DAV:"
                     xmlns:C="urn:ietf:params:xml:ns:caldav">
     <D:prop>
       <C:calendar-data>
         <C:expand start="20060103T000000Z"
                   end="20060105T000000Z"/>
       </C:calendar-data>
     </D:prop>
     <C:filter>
       <C:comp-filter name="VCALENDAR">
         <C:comp-filter name="VEVENT">
           <C:time-range start="20060103T000000Z"
                         end="20060105T000000Z"/>
         </C:comp-filter>
       </C:comp-filter>
     </C:filter>
   </C:calendar-query>"#;
    let Report::CalendarQuery(q) = parse(body).unwrap() else {
        panic!("not a calendar-query")
    };
    assert_eq!(q.props, PropSelection::Prop(vec![PropName::CalendarData]));
    let expand = q.calendar_data.unwrap().expand.unwrap();
    assert_eq!(expand.start, t("20060103T000000Z"));
    assert_eq!(expand.end, t("20060105T000000Z"));
    assert_eq!(q.filter.name, "VCALENDAR");
    let ev = &q.filter.comp_filters[0];
    assert_eq!(ev.name, "VEVENT");
    assert_eq!(ev.time_range.unwrap().start, t("20060103T000000Z"));
}

#[test]
fn calendar_query_prop_and_param_filters() {
    // A todo search by attendee participation status and a text match on
    // the summary, in the manner of the CalDAV examples.
    let body = r#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:D="DAV:">
  <D:prop><D:getetag/></D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VTODO">
        <C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter>
        <C:prop-filter name="STATUS">
          <C:text-match negate-condition="yes">CANCELLED</C:text-match>
        </C:prop-filter>
        <C:prop-filter name="ATTENDEE">
          <C:text-match collation="i;ascii-casemap">mailto:lisa@example.com</C:text-match>
          <C:param-filter name="PARTSTAT">
            <C:text-match collation="i;ascii-casemap">NEEDS-ACTION</C:text-match>
          </C:param-filter>
        </C:prop-filter>
        <C:prop-filter name="SUMMARY">
          <C:text-match collation="i;octet">Größe &amp; 日本</C:text-match>
        </C:prop-filter>
      </C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>"#;
    let Report::CalendarQuery(q) = parse(body).unwrap() else {
        panic!("not a calendar-query")
    };
    assert_eq!(q.calendar_data, None);
    let todo = &q.filter.comp_filters[0];
    assert_eq!(todo.prop_filters.len(), 4);
    assert!(todo.prop_filters[0].is_not_defined);
    let status = &todo.prop_filters[1].text_matches[0];
    assert!(status.negate);
    assert_eq!(status.collation, Collation::AsciiCasemap);
    assert_eq!(status.match_type, MatchType::Contains);
    let att = &todo.prop_filters[2];
    assert_eq!(att.test, FilterTest::AllOf);
    assert_eq!(att.param_filters[0].name, "PARTSTAT");
    assert_eq!(
        att.param_filters[0].text_match.as_ref().unwrap().text,
        "NEEDS-ACTION"
    );
    let summary = &todo.prop_filters[3].text_matches[0];
    assert_eq!(summary.collation, Collation::Octet);
    assert_eq!(summary.text, "Größe & 日本");
}

#[test]
fn calendar_query_refusals() {
    let no_filter = r#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"/>"#;
    assert_eq!(
        parse(no_filter),
        Err(RequestError::Missing("CALDAV:filter"))
    );
    let bad_range = r#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter>
<C:comp-filter name="VCALENDAR"><C:time-range start="20060103"/></C:comp-filter>
</C:filter></C:calendar-query>"#;
    assert!(matches!(
        parse(bad_range),
        Err(RequestError::Invalid { .. })
    ));
    let reversed = r#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter>
<C:comp-filter name="VCALENDAR"><C:time-range start="20060105T000000Z"
end="20060103T000000Z"/></C:comp-filter></C:filter></C:calendar-query>"#;
    assert!(matches!(parse(reversed), Err(RequestError::Invalid { .. })));
    let no_name = r#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter>
<C:comp-filter/></C:filter></C:calendar-query>"#;
    assert_eq!(
        parse(no_name),
        Err(RequestError::Missing("comp-filter name"))
    );
}

#[test]
fn calendar_multiget() {
    let body = r#"<?xml version="1.0" encoding="utf-8" ?>
   <C:calendar-multiget xmlns:D="DAV:"
                    xmlns:C="urn:ietf:params:xml:ns:caldav">
     <D:prop>
       <D:getetag/>
       <C:calendar-data/>
     </D:prop>
     <D:href>/bernard/work/abcd1.ics</D:href>
     <D:href>/bernard/work/mtg1.ics</D:href>
     <D:href> /bernard/work/%C3%BC.ics </D:href>
   </C:calendar-multiget>"#;
    let Report::CalendarMultiget(m) = parse(body).unwrap() else {
        panic!("not a multiget")
    };
    assert_eq!(
        m.props,
        PropSelection::Prop(vec![PropName::GetEtag, PropName::CalendarData])
    );
    assert_eq!(m.calendar_data, Some(CalendarDataRequest::default()));
    assert_eq!(
        m.hrefs,
        [
            "/bernard/work/abcd1.ics",
            "/bernard/work/mtg1.ics",
            "/bernard/work/%C3%BC.ics"
        ]
    );
    let empty = r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/></D:prop></C:calendar-multiget>"#;
    assert_eq!(parse(empty), Err(RequestError::Missing("DAV:href")));
}

#[test]
fn addressbook_query_anyof_with_limit() {
    let body = r#"<?xml version="1.0" encoding="utf-8" ?>
   <C:addressbook-query xmlns:D="DAV:"
                     xmlns:C="urn:ietf:params:xml:ns:carddav">
     <D:prop>
       <D:getetag/>
       <C:address-data>
         <C:prop name="VERSION"/>
         <C:prop name="UID"/>
         <C:prop name="NICKNAME"/>
         <C:prop name="EMAIL"/>
         <C:prop name="FN"/>
       </C:address-data>
     </D:prop>
     <C:filter test="anyof">
       <C:prop-filter name="FN">
         <C:text-match collation="i;unicode-casemap"
                       match-type="contains"
         >daboo</C:text-match>
       </C:prop-filter>
       <C:prop-filter name="EMAIL">
         <C:text-match collation="i;unicode-casemap"
                       match-type="starts-with"
         >daboo</C:text-match>
       </C:prop-filter>
     </C:filter>
     <C:limit><C:nresults>2</C:nresults></C:limit>
   </C:addressbook-query>"#;
    let Report::AddressbookQuery(q) = parse(body).unwrap() else {
        panic!("not an addressbook-query")
    };
    assert_eq!(
        q.address_data.unwrap().props,
        ["VERSION", "UID", "NICKNAME", "EMAIL", "FN"]
    );
    assert_eq!(q.filter.test, FilterTest::AnyOf);
    assert_eq!(q.filter.prop_filters.len(), 2);
    let email = &q.filter.prop_filters[1];
    assert_eq!(email.test, FilterTest::AnyOf);
    assert_eq!(email.text_matches[0].match_type, MatchType::StartsWith);
    assert_eq!(email.text_matches[0].collation, Collation::UnicodeCasemap);
    assert_eq!(q.limit, Some(2));
}

#[test]
fn addressbook_multiget_and_bad_match_type() {
    let body = r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
     <D:prop><D:getetag/><C:address-data/></D:prop>
     <D:href>/home/bernard/addressbook/vcf102.vcf</D:href>
   </C:addressbook-multiget>"#;
    let Report::AddressbookMultiget(m) = parse(body).unwrap() else {
        panic!("not a multiget")
    };
    assert_eq!(m.hrefs, ["/home/bernard/addressbook/vcf102.vcf"]);
    assert_eq!(m.address_data, Some(AddressDataRequest::default()));
    let bad = r#"<C:addressbook-query xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter>
<C:prop-filter name="FN"><C:text-match match-type="regex">x</C:text-match></C:prop-filter>
</C:filter></C:addressbook-query>"#;
    assert!(matches!(parse(bad), Err(RequestError::Invalid { .. })));
}

#[test]
fn free_busy_query() {
    let body = r#"<?xml version="1.0" encoding="utf-8" ?>
   <C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
     <C:time-range start="20060104T140000Z"
                     end="20060105T220000Z"/>
   </C:free-busy-query>"#;
    assert_eq!(
        parse(body).unwrap(),
        Report::FreeBusyQuery(TimeRange {
            start: t("20060104T140000Z"),
            end: t("20060105T220000Z"),
        })
    );
}

#[test]
fn sync_collection_initial_and_continued() {
    let initial = r#"<?xml version="1.0" encoding="utf-8" ?>
     <D:sync-collection xmlns:D="DAV:">
       <D:sync-token/>
       <D:sync-level>1</D:sync-level>
       <D:prop xmlns:R="urn:ns.example.com:boxschema">
         <D:getetag/>
         <R:bigbox/>
       </D:prop>
     </D:sync-collection>"#;
    let Report::SyncCollection(s) = parse(initial).unwrap() else {
        panic!("not a sync-collection")
    };
    assert_eq!(s.sync_token, None);
    assert_eq!(s.level, SyncLevel::One);
    assert_eq!(s.limit, None);
    assert_eq!(
        s.props,
        PropSelection::Prop(vec![
            PropName::GetEtag,
            PropName::Other(XmlName::new("urn:ns.example.com:boxschema", "bigbox"))
        ])
    );

    let continued = r#"<D:sync-collection xmlns:D="DAV:">
       <D:sync-token>http://example.com/ns/sync/1232</D:sync-token>
       <D:sync-level>1</D:sync-level>
       <D:limit><D:nresults>100</D:nresults></D:limit>
       <D:prop><D:getetag/></D:prop>
     </D:sync-collection>"#;
    let Report::SyncCollection(s) = parse(continued).unwrap() else {
        panic!("not a sync-collection")
    };
    assert_eq!(
        s.sync_token.as_deref(),
        Some("http://example.com/ns/sync/1232")
    );
    assert_eq!(s.limit, Some(100));
}

#[test]
fn sync_collection_refusals() {
    let no_token = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-level>1</D:sync-level>
<D:prop/></D:sync-collection>"#;
    assert_eq!(
        parse(no_token),
        Err(RequestError::Missing("DAV:sync-token"))
    );
    let bad_level = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/>
<D:sync-level>2</D:sync-level></D:sync-collection>"#;
    assert!(matches!(
        parse(bad_level),
        Err(RequestError::Invalid { .. })
    ));
    let bad_limit = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/>
<D:sync-level>1</D:sync-level><D:limit><D:nresults>-1</D:nresults></D:limit></D:sync-collection>"#;
    assert!(matches!(
        parse(bad_limit),
        Err(RequestError::Invalid { .. })
    ));
}

#[test]
fn unknown_report_and_entity_bomb() {
    let other = r#"<D:expand-property xmlns:D="DAV:"/>"#;
    assert_eq!(
        parse(other).unwrap(),
        Report::Other(XmlName::new("DAV:", "expand-property"))
    );
    let bomb = r#"<!DOCTYPE r [<!ENTITY x "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx">]>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>&x;</D:sync-token></D:sync-collection>"#;
    assert_eq!(
        parse(bomb),
        Err(RequestError::Xml(XmlError::DoctypeRefused))
    );
}
