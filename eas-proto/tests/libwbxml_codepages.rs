//! Cross-checks the code page tables against libwbxml 0.11.8, an
//! independent implementation: for every page libwbxml knows (0 to 24), one
//! document holding every tag of our table (each with opaque content) is
//! given to `wbxml2xml -l ACTIVESYNC`, and the names, the namespace and the
//! binary (base64) rendering it prints must be ours. The only tokens allowed
//! to be unknown to libwbxml are the ones newer than it, listed here.

use std::path::Path;
use std::process::Command;

use kc_eas_proto::codepage::{self, CodePage};
use kc_eas_proto::{encode, Document, Element};

/// (page, token) pairs newer than libwbxml 0.11.8: MeetingResponse
/// ProposedStartTime/ProposedEndTime (16.0), Provision AccountOnlyRemoteWipe
/// (16.1). Page 25 (Find, 16.1) is absent from libwbxml altogether.
const NEWER_THAN_LIBWBXML: &[(u8, u8)] = &[(8, 0x10), (8, 0x11), (14, 0x3B)];

fn libwbxml_compact_xml(bytes: &[u8], name: &str) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("eas-codepages")
        .join(std::process::id().to_string());
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let input = dir.join(format!("{name}.wbxml"));
    let output = dir.join(format!("{name}.xml"));
    std::fs::write(&input, bytes).expect("write");
    let out = Command::new("wbxml2xml")
        .args(["-m", "0", "-l", "ACTIVESYNC", "-o"])
        .arg(&output)
        .arg(&input)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run wbxml2xml ({e}): install libwbxml2-utils (apt-get install libwbxml2-utils)")
        });
    assert!(out.status.success(), "wbxml2xml failed on page {name}");
    std::fs::read_to_string(&output).expect("read")
}

/// Start tags of the compact XML in order: (name, xmlns if declared, content).
fn start_tags(xml: &str) -> Vec<(String, Option<String>, String)> {
    let body = xml.split_once("microsoft.com/\">").map_or(xml, |(_, b)| b);
    let mut tags = Vec::new();
    for piece in body.split('<').skip(1) {
        if piece.starts_with('/') {
            continue;
        }
        let (head, content) = piece.split_once('>').unwrap_or((piece, ""));
        let head = head.trim_end_matches('/');
        let (name, rest) = head.split_once(' ').unwrap_or((head, ""));
        let ns = rest
            .strip_prefix("xmlns=\"")
            .and_then(|r| r.split_once('"'))
            .map(|(ns, _)| ns.to_owned());
        tags.push((name.to_owned(), ns, content.to_owned()));
    }
    tags
}

fn check_page(page: &CodePage) {
    let first = page.tags[0].token;
    let mut root = Element::new(page.number, first);
    for tag in page.tags {
        root = root.child(Element::with_opaque(
            page.number,
            tag.token,
            b"abc".to_vec(),
        ));
    }
    let bytes = encode(&Document { root }).expect("encode");
    let xml = libwbxml_compact_xml(&bytes, page.namespace);
    let tags = start_tags(&xml);
    assert_eq!(
        tags.len(),
        page.tags.len() + 1,
        "page {}: {xml}",
        page.number
    );
    assert_eq!(tags[0].0, page.tags[0].xml_name());
    assert_eq!(
        tags[0].1.as_deref(),
        Some(page.xml_namespace),
        "page {} namespace",
        page.number
    );
    for (tag, (name, _, content)) in page.tags.iter().zip(&tags[1..]) {
        if NEWER_THAN_LIBWBXML.contains(&(page.number, tag.token)) {
            assert_eq!(
                name, "unknown",
                "libwbxml learnt {}; drop it from the list",
                tag.name
            );
            continue;
        }
        assert_eq!(
            name,
            tag.xml_name(),
            "page {} token {:#04x}: libwbxml says {name}",
            page.number,
            tag.token
        );
        let base64 = content == "YWJj";
        assert_eq!(
            base64, tag.binary,
            "page {} tag {}: binary flag",
            page.number, tag.name
        );
        if !base64 {
            assert_eq!(content, "abc", "page {} tag {}", page.number, tag.name);
        }
    }
}

#[test]
fn tables_agree_with_libwbxml_on_pages_0_to_24() {
    for page in codepage::pages().iter().filter(|p| p.number <= 24) {
        check_page(page);
    }
}

#[test]
fn libwbxml_knows_no_tag_we_lack() {
    // Every token 0x05..=0x3F that libwbxml names must be in our table.
    for page in codepage::pages().iter().filter(|p| p.number <= 24) {
        let missing: Vec<u8> = (0x05..=0x3Fu8).filter(|t| page.tag(*t).is_none()).collect();
        // Build raw WBXML: header, SWITCH_PAGE, root (first tag, content),
        // then each candidate as an empty tag, END.
        let mut bytes = kc_eas_proto::EAS_HEADER.to_vec();
        bytes.extend_from_slice(&[0x00, page.number, page.tags[0].token | 0x40]);
        bytes.extend_from_slice(&missing);
        bytes.push(0x01);
        let xml = libwbxml_compact_xml(&bytes, &format!("{}-missing", page.namespace));
        for (name, _, _) in start_tags(&xml).iter().skip(1) {
            assert_eq!(
                name, "unknown",
                "page {}: libwbxml knows {name}, we do not",
                page.number
            );
        }
    }
}
