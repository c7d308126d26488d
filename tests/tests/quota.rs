//! The hard quota on every write path, through the real binaries: LMTP
//! delivery (552 5.2.2 per recipient), the store API's append, copy, move
//! and groupware PUT (507 `KCERR_STORE_FULL`), and IMAP APPEND, COPY and
//! MOVE at kc-gateway (`NO [OVERQUOTA]`). Each refusal is checked to have
//! stored nothing: the store size, the item counts and the attachment files
//! stay as they were.
//!
//! The rule (server `storage::quota`): a write is admitted when the store's
//! size after it stays at or below the hard level; a move adds nothing, so
//! it is refused only when the store is already above the level (here: the
//! server-wide limit is lowered under a filled store and the node restarted).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use kc_tests::cluster::*;
use kc_tests::gateway_harness::*;
use kc_tests::server_harness::attachment_files;

/// No server-wide limits; users may override them in the directory.
const NO_DEFAULT_QUOTA: &[&str] = &["quota_warn = 0", "quota_soft = 0", "quota_hard = 0"];

/// A plain message of about `pad` bytes.
fn message(id: &str, pad: usize) -> Vec<u8> {
    let mut m = format!(
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: Sender <sender@example.net>\r\n\
         To: someone@example.com\r\nSubject: quota {id}\r\nMessage-ID: <{id}@example.net>\r\n\r\n"
    )
    .into_bytes();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
    while m.len() < pad {
        m.extend_from_slice(line);
    }
    m
}

/// A multipart message whose ~`size` byte attachment goes to an attachment
/// file when stored.
fn with_attachment(id: &str, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Sender <sender@example.net>\r\nTo: someone@example.com\r\n\
         Subject: attachment {id}\r\nMessage-ID: <{id}@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n\
         Content-Type: text/plain\r\n\r\nsee attachment\r\n--XX\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    let mut n = 0usize;
    while n < size {
        m.extend_from_slice(
            b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n",
        );
        n += 74;
    }
    m.extend_from_slice(b"--XX--\r\n");
    m
}

fn codes(v: &[(u16, String)]) -> Vec<u16> {
    v.iter().map(|(c, _)| *c).collect()
}

/// What a refused write must leave alone.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    size: i64,
    inbox: usize,
    trash: usize,
    calendar: usize,
    files: Vec<PathBuf>,
}

/// Read on a connection of its own: a refused request whose body the node
/// did not read (an early 507) ends the connection it came on.
fn footprint(c: &Cluster, node: &str, login: &str) -> Footprint {
    let s = &mut c.store(node, login);
    let size = json_num(&s.get("me/quota").body, "size");
    let (inbox, trash, cal) = (
        s.folder_id("inbox"),
        s.folder_id("wastebasket"),
        s.folder_id("calendar"),
    );
    Footprint {
        size,
        inbox: s.list(inbox).len(),
        trash: s.list(trash).len(),
        calendar: s.list(cal).len(),
        files: attachment_files(&c.node(node).dir.join("attachments")),
    }
}

fn refused_507(r: &kc_tests::server_harness::HttpResponse, what: &str) {
    assert_eq!(r.status, 507, "{what}: {}", r.body);
    assert!(r.body.contains("KCERR_STORE_FULL"), "{what}: {}", r.body);
}

fn imap_user(login: &str, quota_hard_mb: Option<u32>) -> UserSpec {
    let mut u = UserSpec::new(login, "n1");
    u.quota_hard_mb = quota_hard_mb;
    u.extra.push("kopanoEnabledFeatures: imap".into());
    u
}

#[test]
fn lmtp_refuses_per_recipient_and_stores_nothing() {
    let users = [imap_user("full", Some(1)), imap_user("roomy", None)];
    let c = Cluster::start(&[("n1", NO_DEFAULT_QUOTA)], &users);
    let mut lmtp = LmtpClient::connect(c.node("n1").lmtp_addr(), &c.base.join("lmtp"));
    let r = lmtp.deliver("", &["full@example.com"], &message("m1", 700_000));
    assert_eq!(codes(&r.data), [250], "{r:?}");
    let before = footprint(&c, "n1", "full");

    // Under the limit at RCPT, over it with the message: refused after DATA,
    // and its attachment is not written.
    let big = with_attachment("a1", 500_000);
    let r = lmtp.deliver("", &["full@example.com"], &big);
    assert_eq!(codes(&r.rcpt), [250], "{r:?}");
    assert_eq!(codes(&r.data), [552], "{r:?}");
    assert!(r.data[0].1.contains("5.2.2"), "{r:?}");
    assert_eq!(footprint(&c, "n1", "full"), before);

    // The other recipient of the same message gets it (one new file).
    let r = lmtp.deliver("", &["full@example.com", "roomy@example.com"], &big);
    assert_eq!(codes(&r.data), [552, 250], "{r:?}");
    let after = footprint(&c, "n1", "full");
    assert_eq!(after.files.len(), before.files.len() + 1, "{after:?}");
    assert_eq!(
        (after.size, after.inbox, after.trash),
        (before.size, before.inbox, before.trash)
    );
    let mut roomy = c.store("n1", "roomy");
    let inbox = roomy.folder_id("inbox");
    assert_eq!(roomy.list(inbox).len(), 1);
    lmtp.finish();
}

#[test]
fn store_api_writes_count_the_size_after_the_write() {
    let c = Cluster::start(&[("n1", NO_DEFAULT_QUOTA)], &[imap_user("u", Some(1))]);
    let mut s = c.store("n1", "u");
    let inbox = s.folder_id("inbox");
    let trash = s.folder_id("wastebasket");
    let cal = s.folder_id("calendar");
    let append = format!("me/folders/{inbox}/items");
    let r = s.request("POST", &append, &message("m1", 600_000));
    assert_eq!(r.status, 201, "{}", r.body);
    let before = footprint(&c, "n1", "u");
    assert!(before.size < 1 << 20, "{before:?}");

    // The store is below its hard level, each write would take it above.
    refused_507(
        &s.request("POST", &append, &with_attachment("a1", 600_000)),
        "append",
    );
    assert_eq!(footprint(&c, "n1", "u"), before);
    // Refused before its body was read: that connection is gone.
    let mut s = c.store("n1", "u");
    let copy = format!(r#"{{"uids":[1],"dest":{trash}}}"#);
    refused_507(
        &s.request("POST", &format!("me/folders/{inbox}/copy"), copy.as_bytes()),
        "copy",
    );
    assert_eq!(footprint(&c, "n1", "u"), before);
    let mut ev = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nDESCRIPTION:".to_vec();
    ev.extend(std::iter::repeat_n(b'x', 600_000));
    ev.extend_from_slice(b"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    refused_507(
        &s.request("PUT", &format!("me/folders/{cal}/objects/e1"), &ev),
        "groupware PUT",
    );
    assert_eq!(footprint(&c, "n1", "u"), before);

    // A move adds nothing and the store is not above its level: admitted.
    let r = s.request("POST", &format!("me/folders/{inbox}/move"), copy.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let moved = footprint(&c, "n1", "u");
    assert_eq!((moved.size, moved.inbox, moved.trash), (before.size, 0, 1));
    // What fits is still stored.
    let r = s.request("POST", &append, &message("m2", 100_000));
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Replaces server.cfg's `quota_hard` line of `node` and restarts it.
fn lower_server_quota(c: &mut Cluster, node: &str, line: &str) {
    let n = c.node_mut(node);
    let cfg = std::fs::read_to_string(&n.cfg_path).unwrap();
    let cfg: String = cfg
        .lines()
        .filter(|l| !l.trim_start().starts_with("quota_hard"))
        .chain(std::iter::once(line))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&n.cfg_path, cfg).unwrap();
    n.restart();
}

/// A line-level IMAP client (one command at a time).
struct Imap {
    r: BufReader<TcpStream>,
    w: TcpStream,
    n: u32,
}

impl Imap {
    fn connect(addr: SocketAddr) -> Imap {
        let w = TcpStream::connect(addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut i = Imap {
            r: BufReader::new(w.try_clone().unwrap()),
            w,
            n: 0,
        };
        let greeting = i.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        i
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        assert!(!l.is_empty(), "connection closed");
        l
    }

    /// Sends `cmd` (with `literal` after a continuation) and returns the
    /// tagged completion line.
    fn cmd(&mut self, cmd: &str, literal: Option<&[u8]>) -> String {
        self.n += 1;
        let tag = format!("t{}", self.n);
        match literal {
            None => write!(self.w, "{tag} {cmd}\r\n").unwrap(),
            Some(lit) => {
                write!(self.w, "{tag} {cmd} {{{}}}\r\n", lit.len()).unwrap();
                let cont = self.line();
                assert!(cont.starts_with('+'), "{cont}");
                self.w.write_all(lit).unwrap();
                self.w.write_all(b"\r\n").unwrap();
            }
        }
        loop {
            let l = self.line();
            if l.starts_with(&format!("{tag} ")) {
                return l;
            }
        }
    }
}

#[test]
fn every_write_is_refused_above_the_hard_level_also_over_imap() {
    let mut c = Cluster::start(&[("n1", NO_DEFAULT_QUOTA)], &[imap_user("v", None)]);
    {
        // 1.2 MB stored while there is no limit...
        let mut s = c.store("n1", "v");
        let inbox = s.folder_id("inbox");
        for i in 0..2 {
            let r = s.request(
                "POST",
                &format!("me/folders/{inbox}/items"),
                &message(&format!("f{i}"), 600_000),
            );
            assert_eq!(r.status, 201, "{}", r.body);
        }
    }
    // ...then the server-wide hard level is lowered to 1 MB.
    lower_server_quota(&mut c, "n1", "quota_hard = 1");
    let mut s = c.store("n1", "v");
    let inbox = s.folder_id("inbox");
    let trash = s.folder_id("wastebasket");
    let cal = s.folder_id("calendar");
    let q = s.get("me/quota").body;
    assert!(q.contains(r#""level":"hard""#), "{q}");
    let before = footprint(&c, "n1", "v");
    assert_eq!((before.inbox, before.trash), (2, 0));

    // Store API: append, copy, move and groupware PUT.
    refused_507(
        &s.request(
            "POST",
            &format!("me/folders/{inbox}/items"),
            &message("small", 10),
        ),
        "append",
    );
    let mut s = c.store("n1", "v");
    let uids = format!(r#"{{"uids":[1],"dest":{trash}}}"#);
    for op in ["copy", "move"] {
        refused_507(
            &s.request("POST", &format!("me/folders/{inbox}/{op}"), uids.as_bytes()),
            op,
        );
    }
    let ev = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    refused_507(
        &s.request("PUT", &format!("me/folders/{cal}/objects/e2"), ev),
        "groupware PUT",
    );
    assert_eq!(footprint(&c, "n1", "v"), before);

    // LMTP: a store at its hard level is refused at RCPT.
    let mut lmtp = LmtpClient::connect(c.node("n1").lmtp_addr(), &c.base.join("lmtp"));
    let r = lmtp.deliver("", &["v@example.com"], &message("l1", 10));
    assert_eq!(codes(&r.rcpt), [552], "{r:?}");
    lmtp.finish();
    assert_eq!(footprint(&c, "n1", "v"), before);

    // IMAP at the gateway: APPEND, COPY and MOVE answer NO [OVERQUOTA].
    let port = kc_tests::free_port();
    let listen = format!("imap_listen = 127.0.0.1:{port}");
    let _gw = start_gateway(&c, "n1", &[&listen]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    kc_tests::wait_for_port(addr, Duration::from_secs(60));
    let mut imap = Imap::connect(addr);
    let ok = imap.cmd(&format!("LOGIN v {}", password("v")), None);
    assert!(ok.contains("OK"), "{ok}");
    let ok = imap.cmd("SELECT INBOX", None);
    assert!(ok.contains("OK"), "{ok}");
    let no = imap.cmd("APPEND INBOX", Some(&message("i1", 3_000_000)));
    assert!(no.contains("NO [OVERQUOTA]"), "APPEND: {no}");
    let no = imap.cmd("COPY 1 \"Deleted Items\"", None);
    assert!(no.contains("NO [OVERQUOTA]"), "COPY: {no}");
    let no = imap.cmd("MOVE 1 \"Deleted Items\"", None);
    assert!(no.contains("NO [OVERQUOTA]"), "MOVE: {no}");
    let _ = imap.cmd("LOGOUT", None);
    assert_eq!(footprint(&c, "n1", "v"), before);

    // Cleaning up is never refused (the deleted message counts until it is
    // purged, as in KC).
    let r = s.request(
        "POST",
        &format!("me/folders/{inbox}/delete"),
        br#"{"uids":[1]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
}
