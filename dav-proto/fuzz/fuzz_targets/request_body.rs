//! Parses arbitrary bytes as every DAV request body with small limits: no
//! panic, no stack overflow, limits hold, and a document the reader accepts
//! survives being written back out through the multistatus writer.
#![no_main]

use kc_dav_proto::names::{PropName, NS_DAV};
use kc_dav_proto::request::propfind::parse_propfind;
use kc_dav_proto::request::proppatch::{parse_mkcol, parse_proppatch, MkcolKind};
use kc_dav_proto::request::report::parse_report;
use kc_dav_proto::request::PropSelection;
use kc_dav_proto::response::{Multistatus, Response};
use kc_dav_proto::xml::{parse_document, Element, Limits};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_body: 64 * 1024,
    max_depth: 16,
    max_elements: 512,
};

/// Depth and element count of a tree, walked without recursion.
fn shape(root: &Element) -> (usize, usize) {
    let mut stack = vec![(root, 1usize)];
    let (mut depth, mut count) = (0, 0);
    while let Some((e, d)) = stack.pop() {
        depth = depth.max(d);
        count += 1;
        stack.extend(e.children.iter().map(|c| (c, d + 1)));
    }
    (depth, count)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = parse_document(data, &LIMITS) {
        let (depth, count) = shape(&root);
        assert!(depth <= LIMITS.max_depth);
        assert!(count <= LIMITS.max_elements);
    }
    if let Ok(PropSelection::Prop(names)) = parse_propfind(data, &LIMITS) {
        // Every requested name, answered 404, must give a document the
        // reader takes back with the same names.
        let xml = Multistatus {
            responses: vec![Response::with_props("/x".into(), vec![], names.clone())],
            sync_token: None,
        }
        .to_xml();
        let back = parse_document(xml.as_bytes(), &Limits::default())
            .expect("writer output must be well-formed");
        if !names.is_empty() {
            let prop = back
                .child(NS_DAV, "response")
                .and_then(|r| r.child(NS_DAV, "propstat"))
                .and_then(|p| p.child(NS_DAV, "prop"))
                .expect("a 404 propstat with its prop");
            let echoed: Vec<PropName> = prop
                .children
                .iter()
                .map(|c| PropName::from_xml(&c.name))
                .collect();
            assert_eq!(echoed, names);
        }
    }
    let _ = parse_proppatch(data, &LIMITS);
    let _ = parse_mkcol(MkcolKind::Calendar, data, &LIMITS);
    let _ = parse_mkcol(MkcolKind::Extended, data, &LIMITS);
    let _ = parse_report(data, &LIMITS);
});
