//! Golden tests against libwbxml (Debian's libwbxml2-utils), an independent
//! WBXML implementation: for every EAS request and response in `golden/`,
//!
//! 1. our encoding of the XML is byte for byte what `xml2wbxml -n -a -v 1.3`
//!    (EAS form: no string table, anonymous public id) writes;
//! 2. we decode libwbxml's bytes to the tree the XML describes;
//! 3. `wbxml2xml -l ACTIVESYNC` reads our bytes back to that same tree;
//! 4. our own XML form of the tree reads back to the same tree.
//!
//! The tools are a hard requirement: if they are missing the test fails
//! (it never skips), naming the package to install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use kc_eas_proto::xml::{from_xml, to_xml};
use kc_eas_proto::{decode, encode, Document};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// A scratch file of its own for every call: tests run in parallel and may
/// check the same document at once.
fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("eas-golden")
        .join(format!("{}-{unique}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir.join(name)
}

fn run(tool: &str, args: &[&str]) {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {tool} ({e}): install libwbxml2-utils (apt-get install libwbxml2-utils)")
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// libwbxml's encoding of an XML file, in EAS form.
fn libwbxml_encode(xml_path: &Path, name: &str) -> Vec<u8> {
    let out = scratch(&format!("{name}.lib.wbxml"));
    run(
        "xml2wbxml",
        &[
            "-n",
            "-a",
            "-v",
            "1.3",
            "-o",
            out.to_str().unwrap(),
            xml_path.to_str().unwrap(),
        ],
    );
    std::fs::read(&out).expect("read xml2wbxml output")
}

/// libwbxml's decoding of WBXML bytes, read back with our XML reader.
fn libwbxml_decode(bytes: &[u8], name: &str) -> Document {
    let input = scratch(&format!("{name}.ours.wbxml"));
    let output = scratch(&format!("{name}.lib.xml"));
    std::fs::write(&input, bytes).expect("write wbxml");
    run(
        "wbxml2xml",
        &[
            "-l",
            "ACTIVESYNC",
            "-o",
            output.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    );
    let xml = std::fs::read_to_string(&output).expect("read wbxml2xml output");
    from_xml(&xml).unwrap_or_else(|e| panic!("{name}: wbxml2xml output unreadable: {e}\n{xml}"))
}

fn check(name: &str) -> usize {
    let path = golden_dir().join(format!("{name}.xml"));
    let xml = std::fs::read_to_string(&path).expect("read golden XML");
    let tree = from_xml(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));

    let ours = encode(&tree).unwrap_or_else(|e| panic!("{name}: encode: {e}"));
    let theirs = libwbxml_encode(&path, name);
    assert_eq!(
        ours, theirs,
        "{name}: our WBXML differs from xml2wbxml's\nours:   {ours:02x?}\ntheirs: {theirs:02x?}"
    );

    let decoded = decode(&theirs).unwrap_or_else(|e| panic!("{name}: decode libwbxml bytes: {e}"));
    assert_eq!(
        decoded, tree,
        "{name}: libwbxml's bytes decode to another tree"
    );

    assert_eq!(
        libwbxml_decode(&ours, name),
        tree,
        "{name}: wbxml2xml reads our bytes otherwise"
    );

    assert_eq!(
        from_xml(&to_xml(&decoded)).as_ref(),
        Ok(&tree),
        "{name}: our XML form"
    );
    ours.len()
}

const GOLDEN: &[&str] = &[
    "foldersync-request",
    "foldersync-response",
    "sync-request",
    "sync-response",
    "ping-request",
    "ping-response",
    "provision-request",
    "provision-response",
    "provision-remotewipe-response",
    "itemoperations-request",
    "itemoperations-response",
    "sendmail-request",
    "smartreply-request",
    "settings-request",
    "settings-response",
    "moveitems-request",
    "getitemestimate-request",
    "search-gal-response",
];

#[test]
fn every_golden_document_matches_libwbxml() {
    let mut listed: Vec<String> = std::fs::read_dir(golden_dir())
        .expect("golden dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".xml")
                .map(str::to_owned)
        })
        .collect();
    listed.sort();
    let mut expected: Vec<String> = GOLDEN.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected, "every file in golden/ is listed here");
    for name in GOLDEN {
        assert!(check(name) > 4);
    }
}

#[test]
fn the_reference_folder_sync_bytes() {
    // The bytes libwbxml and pyactivesync both write for the smallest
    // FolderSync request.
    assert_eq!(
        encode(
            &from_xml("<FolderSync xmlns=\"FolderHierarchy:\"><SyncKey>0</SyncKey></FolderSync>")
                .unwrap()
        )
        .unwrap(),
        [0x03, 0x01, 0x6a, 0x00, 0x00, 0x07, 0x56, 0x52, 0x03, 0x30, 0x00, 0x01, 0x01]
    );
    check("foldersync-request");
}

#[test]
fn opaque_mime_is_opaque_on_the_wire() {
    let xml = std::fs::read_to_string(golden_dir().join("sendmail-request.xml")).unwrap();
    let bytes = encode(&from_xml(&xml).unwrap()).unwrap();
    // ComposeMail Mime with content: 0x50, then OPAQUE (0xC3).
    let at = bytes
        .windows(2)
        .position(|w| w == [0x50, 0xC3])
        .expect("Mime as OPAQUE");
    let doc = decode(&bytes).unwrap();
    let mime = doc
        .root
        .find(kc_eas_proto::codepage::COMPOSE_MAIL, 0x10)
        .unwrap();
    let body = mime.bytes().unwrap();
    assert!(body.starts_with(b"From: alice@example.test\r\n"));
    assert!(at > 4);
}

#[test]
fn opaque_body_data_as_servers_send_it() {
    // Servers often send AirSyncBase Data (a MIME body) as OPAQUE rather
    // than STR_I. libwbxml renders an opaque non-binary tag as text, so its
    // reading equals ours once the opaque node is read as UTF-8 text.
    use kc_eas_proto::codepage::{AIRSYNC, AIR_SYNC_BASE, EMAIL};
    use kc_eas_proto::{Element, Node};
    let mime = b"From: alice@example.test\r\nSubject: Lunch\r\n\r\nNoon.\r\n".to_vec();
    let body = |data: Node| {
        let mut data_element = Element::new(AIR_SYNC_BASE, 0x0B);
        data_element.children.push(data);
        Element::new(AIRSYNC, 0x1D)
            .child(Element::with_text(EMAIL, 0x14, "Lunch"))
            .child(
                Element::new(AIR_SYNC_BASE, 0x0A)
                    .child(Element::with_text(AIR_SYNC_BASE, 0x06, "4"))
                    .child(data_element),
            )
    };
    let ours = Document {
        root: body(Node::Opaque(mime.clone())),
    };
    let bytes = encode(&ours).unwrap();
    assert!(
        bytes.windows(2).any(|w| w == [0x4B, 0xC3]),
        "Data carries OPAQUE"
    );
    assert_eq!(decode(&bytes).unwrap(), ours);
    let text = String::from_utf8(mime).unwrap().replace("\r\n", "\n");
    let lib = libwbxml_decode(&bytes, "opaque-body");
    assert_eq!(
        lib,
        Document {
            root: body(Node::Text(text.trim().to_owned()))
        }
    );
}
