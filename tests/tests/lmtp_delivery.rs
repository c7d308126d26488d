//! LMTP delivery into kc-server (issue #6) with a real LMTP client, Python's
//! `smtplib.LMTP`: per-recipient replies (250/550/552), byte-exact read-back
//! through the store API, single-instance storage of one message for 30
//! recipients, and durability across SIGKILL.

use std::collections::BTreeSet;

use kc_tests::cluster::*;
use kc_tests::server_harness::attachment_files;

/// A CRLF message with 8-bit UTF-8 text, a dot-leading line (dot-stuffing
/// on the wire) and `pad` bytes of filler.
fn message(id: &str, pad: usize) -> Vec<u8> {
    let mut m = format!(
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: Sender <sender@example.net>\r\n\
         To: someone@example.com\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= {id}\r\n\
         Message-ID: <{id}@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Grüße aus Köln, {id}.\r\n.a line that starts with a dot\r\n..and two\r\n"
    )
    .into_bytes();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
    while m.len() < pad {
        m.extend_from_slice(line);
    }
    m
}

/// A multipart message with a ~1 MB base64 attachment.
fn with_attachment(id: &str) -> Vec<u8> {
    let mut m = format!(
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: Sender <sender@example.net>\r\n\
         To: everyone@example.com\r\nSubject: Quarterly report {id}\r\n\
         Message-ID: <{id}@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n\
         --b1\r\nContent-Type: application/octet-stream; name=\"report.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"report.bin\"\r\n\r\n"
    )
    .into_bytes();
    // Deterministic pseudo-random payload, base64 in 76-column lines.
    let mut x: u32 = 0x1234_5678;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut n = 0;
    while n < 1_000_000 {
        for _ in 0..76 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            m.push(alphabet[(x % 64) as usize]);
        }
        m.extend_from_slice(b"\r\n");
        n += 78;
    }
    m.extend_from_slice(b"--b1--\r\n");
    m
}

fn codes(v: &[(u16, String)]) -> Vec<u16> {
    v.iter().map(|(c, _)| *c).collect()
}

#[test]
fn lmtp_replies_per_recipient_and_reads_back_byte_exact() {
    let c = Cluster::start(
        &[
            (
                "z1",
                &["quota_hard = 1", "quota_soft = 0", "quota_warn = 0"],
            ),
            ("z2", &[]),
        ],
        &[
            UserSpec::new("alice", "z1"),
            UserSpec::new("bob", "z1"),
            UserSpec::new("carol", "z2"),
        ],
    );
    let z1 = c.node("z1");
    let mut lmtp = LmtpClient::connect(z1.lmtp_addr(), &c.base.join("lmtp"));

    // By address, by alias, by login; an unknown address; a user homed on z2.
    let m1 = message("m1", 0);
    let r = lmtp.deliver(
        "sender@example.net",
        &[
            "alice@example.com",
            "bob.alias@example.com",
            "nobody@example.com",
            "carol@example.com",
        ],
        &m1,
    );
    assert_eq!(codes(&r.rcpt), [250, 250, 550, 550], "{r:?}");
    assert_eq!(codes(&r.data), [250, 250], "{r:?}");
    // The same store named twice gets one copy and two answers.
    let m2 = message("m2", 0);
    let r = lmtp.deliver("", &["alice@example.com", "ALICE@example.com"], &m2);
    assert_eq!(codes(&r.rcpt), [250, 250], "{r:?}");
    assert_eq!(codes(&r.data), [250, 250], "{r:?}");

    let mut alice = c.store("z1", "alice");
    let inbox = alice.folder_id("inbox");
    let items = alice.list(inbox);
    let ids: Vec<&str> = items.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(ids, ["m1@example.net", "m2@example.net"], "{items:?}");
    // Byte-exact: headers, 8-bit text and the un-stuffed dot lines.
    assert_eq!(alice.fetch(inbox, items[0].0), String::from_utf8_lossy(&m1));
    assert_eq!(alice.fetch(inbox, items[1].0), String::from_utf8_lossy(&m2));
    let mut bob = c.store("z1", "bob");
    let bob_inbox = bob.folder_id("inbox");
    let bob_items = bob.list(bob_inbox);
    assert_eq!(bob_items.len(), 1);
    assert_eq!(
        bob.fetch(bob_inbox, bob_items[0].0),
        String::from_utf8_lossy(&m1)
    );

    // Hard quota (1 MB on z1): fill bob to about 0.9 MB, then a 300 KB
    // message for both users is refused (552) for bob only.
    for i in 0..3 {
        let m = message(&format!("fill{i}"), 300_000);
        let r = lmtp.deliver("", &["bob@example.com"], &m);
        assert_eq!(codes(&r.data), [250], "fill {i}: {r:?}");
    }
    let big = message("over", 300_000);
    let r = lmtp.deliver("", &["alice@example.com", "bob@example.com"], &big);
    assert_eq!(codes(&r.rcpt), [250, 250], "{r:?}");
    assert_eq!(codes(&r.data), [250, 552], "{r:?}");
    assert!(r.data[1].1.contains("5.2.2"), "{r:?}");
    let q = bob.get("me/quota").body;
    assert!(json_num(&q, "size") <= 1_048_576, "{q}");
    assert_eq!(alice.list(inbox).len(), 3);
    assert_eq!(bob.list(bob_inbox).len(), 4);
    lmtp.finish();
}

#[test]
fn lmtp_one_stored_attachment_for_thirty_recipients() {
    let users: Vec<UserSpec> = (0..30)
        .map(|i| UserSpec::new(&format!("u{i:02}"), "z1"))
        .collect();
    let c = Cluster::start(&[("z1", &[])], &users);
    let z1 = c.node("z1");
    let mut lmtp = LmtpClient::connect(z1.lmtp_addr(), &c.base.join("lmtp"));
    let before = attachment_files(&z1.dir.join("attachments")).len();
    let msg = with_attachment("report");
    let rcpts: Vec<String> = (0..30).map(|i| format!("u{i:02}@example.com")).collect();
    let rcpts: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    let r = lmtp.deliver("sender@example.net", &rcpts, &msg);
    assert_eq!(codes(&r.rcpt), vec![250; 30], "{r:?}");
    assert_eq!(codes(&r.data), vec![250; 30], "{r:?}");
    lmtp.finish();

    let files = attachment_files(&z1.dir.join("attachments"));
    assert_eq!(
        files.len() - before,
        1,
        "one attachment file for 30 recipients: {files:?}"
    );
    // The file is the attachment's encoded body, not the whole message.
    let size = std::fs::metadata(&files[0]).unwrap().len() as usize;
    assert!(size > 900_000 && size < msg.len(), "{size}");
    for u in &users {
        let mut s = c.store("z1", &u.login);
        let inbox = s.folder_id("inbox");
        let items = s.list(inbox);
        assert_eq!(items.len(), 1, "{}", u.login);
        assert_eq!(
            s.fetch(inbox, items[0].0).as_bytes(),
            &msg[..],
            "{}",
            u.login
        );
    }
}

#[test]
fn lmtp_acknowledged_messages_survive_sigkill() {
    let mut c = Cluster::start(&[("z1", &[])], &[UserSpec::new("alice", "z1")]);
    let addr = c.node("z1").lmtp_addr();
    let mut lmtp = LmtpClient::connect(addr, &c.base.join("lmtp"));
    const TOTAL: usize = 1000;
    const KILL_AT: usize = 400;
    // Keep a window of transactions queued at the client, so that some are
    // in flight (mid-DATA, mid-commit) when the kill lands, while the kill
    // still lands in the middle of the 1,000 however fast the node runs.
    const WINDOW: usize = 16;
    let send = |lmtp: &mut LmtpClient, i: usize| {
        lmtp.send(
            "",
            &["alice@example.com"],
            &message(&format!("k{i}"), 2_000),
        )
    };
    for i in 0..WINDOW {
        send(&mut lmtp, i);
    }
    let mut sent = WINDOW;
    let mut acked = BTreeSet::new();
    let mut killed = false;
    let mut i = 0;
    while let Some(r) = lmtp.recv() {
        if codes(&r.data) == [250] {
            acked.insert(format!("k{i}@example.net"));
        }
        i += 1;
        if i == KILL_AT {
            c.node_mut("z1").kill9();
            killed = true;
        } else if sent < TOTAL && !killed {
            send(&mut lmtp, sent);
            sent += 1;
        }
    }
    assert!(killed, "the client stopped after {i} transactions");
    assert!(
        (KILL_AT..KILL_AT + WINDOW).contains(&acked.len()),
        "kill landed in the middle: {} acknowledged",
        acked.len()
    );
    drop(lmtp);
    c.node_mut("z1").restart();
    let mut alice = c.store("z1", "alice");
    let inbox = alice.folder_id("inbox");
    let stored: BTreeSet<String> = alice.list(inbox).into_iter().map(|(_, m)| m).collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged but lost, e.g. {:?}",
        lost.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    // The store is consistent: a delivery after the restart gets the next UID.
    let mut lmtp = LmtpClient::connect(addr, &c.base.join("lmtp2"));
    let r = lmtp.deliver("", &["alice@example.com"], &message("after", 0));
    assert_eq!(codes(&r.data), [250]);
    lmtp.finish();
    let items = alice.list(inbox);
    let last = items.last().unwrap();
    assert_eq!(last.1, "after@example.net");
    assert!(items.iter().all(|(uid, _)| *uid <= last.0));
}

#[test]
fn soft_delete_keeps_until_purge_and_purge_frees_the_attachment() {
    let c = Cluster::start(
        &[("z1", &["softdelete_lifetime = 30"])],
        &[UserSpec::new("ann", "z1"), UserSpec::new("ben", "z1")],
    );
    let z1 = c.node("z1");
    let mut lmtp = LmtpClient::connect(z1.lmtp_addr(), &c.base.join("lmtp"));
    let msg = with_attachment("shared");
    let r = lmtp.deliver("", &["ann@example.com", "ben@example.com"], &msg);
    assert_eq!(codes(&r.data), [250, 250], "{r:?}");
    lmtp.finish();
    let atts = z1.dir.join("attachments");
    assert_eq!(attachment_files(&atts).len(), 1);

    let purge = || {
        let out = std::process::Command::new(kc_tests::bin("kc-admin"))
            .arg("--host")
            .arg(format!("file://{}", z1.socket.display()))
            .arg("--purge-softdelete")
            .arg("0")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kc-admin --purge-softdelete: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let soft_delete = |user: &str| {
        let mut s = c.store("z1", user);
        let inbox = s.folder_id("inbox");
        let uid = s.list(inbox)[0].0;
        let r = s.request(
            "POST",
            &format!("me/folders/{inbox}/delete"),
            format!("{{\"uids\":[{uid}]}}").as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        // Gone from listings, still counted in the store size (as KC).
        assert!(s.list(inbox).is_empty());
        assert!(json_num(&s.get("me/quota").body, "size") >= msg.len() as i64);
        s
    };

    let mut ann = soft_delete("ann");
    purge();
    assert_eq!(json_num(&ann.get("me/quota").body, "size"), 0);
    // ben still references the attachment file.
    assert_eq!(attachment_files(&atts).len(), 1);
    let mut ben = c.store("z1", "ben");
    let inbox = ben.folder_id("inbox");
    let uid = ben.list(inbox)[0].0;
    assert_eq!(ben.fetch(inbox, uid), String::from_utf8_lossy(&msg));
    drop(soft_delete("ben"));
    purge();
    assert!(
        attachment_files(&atts).is_empty(),
        "the last purge removes the attachment file"
    );
}

#[test]
fn per_user_quota_from_the_directory() {
    // No server-wide quota; "small" has kopanoQuotaOverride with a 1 MB hard
    // level in the directory (KC's ldap_*quota_attribute mapping).
    let mut small = UserSpec::new("small", "z1");
    small.quota_hard_mb = Some(1);
    let c = Cluster::start(
        &[("z1", &["quota_hard = 0"])],
        &[small, UserSpec::new("large", "z1")],
    );
    let z1 = c.node("z1");
    let mut lmtp = LmtpClient::connect(z1.lmtp_addr(), &c.base.join("lmtp"));
    let rcpts = ["small@example.com", "large@example.com"];
    let r = lmtp.deliver("", &rcpts, &message("q1", 600_000));
    assert_eq!(codes(&r.data), [250, 250], "{r:?}");
    let r = lmtp.deliver("", &rcpts, &message("q2", 600_000));
    assert_eq!(codes(&r.data), [552, 250], "{r:?}");
    lmtp.finish();
    let q = c.store("z1", "small").get("me/quota").body;
    assert_eq!(json_num(&q, "hard"), 1_048_576, "{q}");
    let q = c.store("z1", "large").get("me/quota").body;
    assert_eq!(json_num(&q, "hard"), 0, "{q}");
}
