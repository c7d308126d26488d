//! Backend tests through the [`Storage`] trait on SQLite: UIDs and change
//! numbers, flags, copy, move, expunge, folders, groupware objects, store
//! sizes and quota, attachment files and their collection.

use rusqlite::params;

use super::attachments::AttachmentDir;
use super::items::{etag_of, DELETED_FLAG};
use super::sqlite::SqliteStorage;
use super::*;

/// No server-wide limits: only a user's own quota applies.
const NO_DEFAULTS: Quota = Quota {
    override_default: false,
    warn: 0,
    soft: 0,
    hard: 0,
};

const MSG: &[u8] = b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: \"A\" <a@example.org>\r\n\
To: b@example.org, c@example.org\r\nSubject: =?utf-8?q?h=C3=A9llo?=\r\n\
Message-ID: <m1@example.org>\r\n\r\nbody\r\n";

fn setup(s: &SqliteStorage) -> (i64, i64, i64) {
    let u = s
        .create_object(
            ObjectKind::User,
            "db",
            "john",
            &ObjectData {
                login: "john".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let st = s.create_store(StoreType::Private, Some(u), "john").unwrap();
    let f = s.folders(st.id).unwrap();
    let role = |r: &str| f.iter().find(|x| x.role.as_deref() == Some(r)).unwrap().id;
    (st.id, role("inbox"), role("wastebasket"))
}

fn mail(body: &[u8]) -> NewItem<'_> {
    NewItem {
        kind: ItemKind::Mail,
        obj_uid: None,
        body,
        flags: &[],
        internal_date: 1,
    }
}

#[test]
fn uids_monotonic_validity_stable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kc.db");
    let (inbox, validity, last_uid);
    {
        let s = SqliteStorage::open(&path).unwrap();
        let (_, i, _) = setup(&s);
        inbox = i;
        let a = s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
        let b = s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
        assert_eq!((a.uid, b.uid), (1, 2));
        assert!(b.modseq > a.modseq);
        // UIDs are never reused, even after delete + purge.
        s.delete_items(inbox, &[2]).unwrap();
        s.purge_softdeleted(i64::MAX).unwrap();
        let c = s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
        assert_eq!(c.uid, 3);
        last_uid = c.uid;
        validity = s.folder(inbox).unwrap().unwrap().uid_validity;
    }
    let s = SqliteStorage::open(&path).unwrap();
    let f = s.folder(inbox).unwrap().unwrap();
    assert_eq!(f.uid_validity, validity);
    assert_eq!(f.uid_next, last_uid + 1);
    let (it, body) = s.item(inbox, 1).unwrap();
    assert_eq!(body, MSG);
    assert_eq!(it.size, MSG.len() as i64);
    assert_eq!(it.envelope.subject, "héllo");
}

#[test]
fn flags_copy_move_expunge_and_changes() {
    let s = SqliteStorage::in_memory().unwrap();
    let (store, inbox, trash) = setup(&s);
    let start = s.last_change().unwrap();
    for _ in 0..3 {
        s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
    }
    let seen = vec!["\\Seen".to_owned()];
    let ch = s.set_flags(inbox, &[1, 2, 99], FlagOp::Add, &seen).unwrap();
    assert_eq!(ch.len(), 2);
    // Setting a flag that is already there is not a change.
    assert!(s
        .set_flags(inbox, &[1], FlagOp::Add, &seen)
        .unwrap()
        .is_empty());
    let del = vec![DELETED_FLAG.to_owned()];
    s.set_flags(inbox, &[1], FlagOp::Add, &del).unwrap();
    assert_eq!(
        s.list_items(inbox, 0, 10).unwrap()[0].flags,
        ["\\Deleted", "\\Seen"]
    );
    s.set_flags(inbox, &[2], FlagOp::Remove, &seen).unwrap();
    assert!(s.list_items(inbox, 1, 1).unwrap()[0].flags.is_empty());

    let copied = s.copy_items(inbox, &[2, 3], trash, &NO_DEFAULTS).unwrap();
    assert_eq!(copied, vec![(2, 1), (3, 2)]);
    let moved = s.move_items(inbox, &[3], trash, &NO_DEFAULTS).unwrap();
    assert_eq!(moved, vec![(3, 3)]);
    assert!(s.item(inbox, 3).is_err());
    assert_eq!(s.item(trash, 3).unwrap().1, MSG);
    assert_eq!(s.expunge(inbox).unwrap(), vec![1]);
    let left: Vec<u32> = s
        .list_items(inbox, 0, 10)
        .unwrap()
        .iter()
        .map(|i| i.uid)
        .collect();
    assert_eq!(left, vec![2]);

    let changes = s.changes_since(store, start, 1000).unwrap();
    assert!(changes.windows(2).all(|w| w[0].modseq < w[1].modseq));
    let tombstones: Vec<(Option<i64>, Option<u32>)> = changes
        .iter()
        .filter(|c| c.change_type == "delete")
        .map(|c| (c.folder_id, c.uid))
        .collect();
    assert_eq!(
        tombstones,
        vec![(Some(inbox), Some(3)), (Some(inbox), Some(1))]
    );
    let last = changes.last().unwrap().modseq;
    assert!(s.changes_since(store, last, 10).unwrap().is_empty());
    assert_eq!(s.changes_since(store, start, 2).unwrap().len(), 2);
    // A purge removes rows but never the change numbers already handed out.
    s.purge_softdeleted(i64::MAX).unwrap();
    let a = s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
    assert!(a.modseq > last);
}

#[test]
fn quota_accounting_soft_delete_and_purge() {
    let s = SqliteStorage::in_memory().unwrap();
    let (store, inbox, trash) = setup(&s);
    let n = MSG.len() as i64;
    s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
    s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
    s.copy_items(inbox, &[1], trash, &NO_DEFAULTS).unwrap();
    assert_eq!(s.store(store).unwrap().unwrap().size, 3 * n);
    s.move_items(inbox, &[2], trash, &NO_DEFAULTS).unwrap();
    assert_eq!(s.store(store).unwrap().unwrap().size, 3 * n);
    // Soft-deleted items still count (as in KC) until purged.
    s.delete_items(trash, &[1]).unwrap();
    assert_eq!(s.store(store).unwrap().unwrap().size, 3 * n);
    assert_eq!(s.purge_softdeleted(0).unwrap(), 0);
    assert_eq!(s.purge_softdeleted(i64::MAX).unwrap(), 1);
    assert_eq!(s.store(store).unwrap().unwrap().size, 2 * n);

    let defaults = Quota {
        override_default: false,
        warn: n,
        soft: 3 * n,
        hard: 0,
    };
    let q = s.quota_status(store, &defaults).unwrap();
    assert_eq!((q.size, q.level), (2 * n, QuotaLevel::Warn));
    let owner = s.store(store).unwrap().unwrap().owner.unwrap();
    s.set_quota(
        owner,
        &Quota {
            override_default: true,
            warn: 0,
            soft: 0,
            hard: 2 * n,
        },
    )
    .unwrap();
    assert_eq!(
        s.quota_status(store, &defaults).unwrap().level,
        QuotaLevel::Hard
    );
    // Room again for the writes below (a full store refuses them).
    s.set_quota(owner, &Quota::default()).unwrap();

    // A folder delete soft-deletes its subtree with the items; purge frees them.
    let top = s.folder(inbox).unwrap().unwrap().parent.unwrap();
    let f = s.create_folder(top, "Projects", Some("IPF.Note")).unwrap();
    let sub = s.create_folder(f.id, "Sub", None).unwrap();
    assert!(matches!(
        s.create_folder(top, "projects", None),
        Err(StorageError::Collision)
    ));
    s.append_item(sub.id, &mail(MSG), &NO_DEFAULTS).unwrap();
    assert!(sub.uid_validity > f.uid_validity);
    assert!(matches!(
        s.update_folder(f.id, None, Some(sub.id)),
        Err(StorageError::Collision)
    ));
    s.update_folder(sub.id, Some("Renamed"), Some(top)).unwrap();
    s.update_folder(sub.id, None, Some(f.id)).unwrap();
    assert!(s.delete_folder(inbox).is_err());
    s.delete_folder(f.id).unwrap();
    assert!(s.folder(sub.id).unwrap().is_none());
    assert!(s.folders(store).unwrap().iter().all(|x| x.id != sub.id));
    assert_eq!(s.store(store).unwrap().unwrap().size, 3 * n);
    assert_eq!(s.purge_softdeleted(i64::MAX).unwrap(), 1);
    assert_eq!(s.store(store).unwrap().unwrap().size, 2 * n);
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn user_store(s: &SqliteStorage, login: &str) -> (i64, i64, i64) {
    let u = s
        .create_object(
            ObjectKind::User,
            "db",
            login,
            &ObjectData {
                login: login.into(),
                ..Default::default()
            },
        )
        .unwrap();
    let st = s.create_store(StoreType::Private, Some(u), login).unwrap();
    let f = s.folders(st.id).unwrap();
    let role = |r: &str| f.iter().find(|x| x.role.as_deref() == Some(r)).unwrap().id;
    (st.id, role("inbox"), role("wastebasket"))
}

fn refcount(s: &SqliteStorage) -> Vec<(i64, i64)> {
    let c = s.conn_for_tests();
    let mut st = c
        .prepare(
            "SELECT a.refcount, (SELECT COUNT(*) FROM item_segments g WHERE g.hash = a.hash) \
             FROM attachments a ORDER BY a.hash",
        )
        .unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())))
        .unwrap();
    rows.map(|r| r.unwrap()).collect()
}

#[test]
fn one_attachment_file_for_thirty_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let att_dir = dir.path().join("att");
    let s =
        SqliteStorage::open_with_attachments(&dir.path().join("kc.db"), Some(&att_dir)).unwrap();
    let att: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31 % 253) as u8).collect();
    let mut sent = Vec::new();
    for i in 0..30 {
        let (store, inbox, _) = user_store(&s, &format!("user{i}"));
        // Per-recipient headers differ; the attachment is still shared.
        let raw = segments::tests::big_message(&att, &format!("\r\nX-Rcpt: user{i}"));
        let a = s.append_item(inbox, &mail(&raw), &NO_DEFAULTS).unwrap();
        assert_eq!(
            s.store(store).unwrap().unwrap().size,
            raw.len() as i64,
            "quota counts the whole message"
        );
        sent.push((inbox, a.uid, raw));
    }
    assert_eq!(files_under(&att_dir).len(), 1);
    assert_eq!(refcount(&s), vec![(30, 30)]);
    for (inbox, uid, raw) in &sent {
        let (it, body) = s.item(*inbox, *uid).unwrap();
        assert_eq!(&body, raw);
        assert_eq!(it.size, raw.len() as i64);
        assert_eq!(it.etag, etag_of(raw));
        assert_eq!(it.envelope.subject, "report");
        let (_, pieces) = s.item_body(*inbox, *uid).unwrap();
        assert_eq!(pieces.len, raw.len() as u64);
        assert!(pieces
            .pieces
            .iter()
            .any(|p| matches!(p, segments::Piece::File(..))));
    }
    // The database holds skeletons only.
    let stored: i64 = s
        .conn_for_tests()
        .query_row("SELECT SUM(LENGTH(body)) FROM items", [], |r| r.get(0))
        .unwrap();
    assert!(stored < 30 * 2000, "{stored}");
}

#[test]
fn header_without_attachment_files_and_store_props() {
    let dir = tempfile::tempdir().unwrap();
    let att_dir = dir.path().join("att");
    let db = dir.path().join("kc.db");
    let s = SqliteStorage::open_with_attachments(&db, Some(&att_dir)).unwrap();
    let (store, inbox, _) = user_store(&s, "hdr");
    let raw = segments::tests::big_message(&[5u8; 500_000], "\r\nX-Big: yes");
    let a = s.append_item(inbox, &mail(&raw), &NO_DEFAULTS).unwrap();
    let small = s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
    let bare = s
        .append_item(inbox, &mail(b"Subject: no body"), &NO_DEFAULTS)
        .unwrap();
    let want = &raw[..segments::header_end(&raw).unwrap()];
    // The attachment file is gone: the header still comes from the skeleton.
    for f in files_under(&att_dir) {
        std::fs::remove_file(f).unwrap();
    }
    assert!(s.item(inbox, a.uid).is_err());
    let (it, h) = s.item_header(inbox, a.uid).unwrap();
    assert_eq!(h, want);
    assert_eq!(it.size, raw.len() as i64);
    let (_, h) = s.item_header(inbox, small.uid).unwrap();
    assert_eq!(h, &MSG[..MSG.len() - 6]);
    let (_, h) = s.item_header(inbox, bare.uid).unwrap();
    assert_eq!(h, b"Subject: no body");
    assert!(matches!(
        s.item_header(inbox, 999),
        Err(StorageError::NotFound)
    ));

    // Store properties: set, replace, survive a reopen, delete.
    assert_eq!(s.store_prop(store, "imap.subscriptions").unwrap(), None);
    s.set_store_prop(store, "imap.subscriptions", Some(b"INBOX\n"))
        .unwrap();
    s.set_store_prop(store, "imap.subscriptions", Some(b"INBOX\nA\n"))
        .unwrap();
    s.set_store_prop(store, "empty", Some(b"")).unwrap();
    drop(s);
    let s = SqliteStorage::open(&db).unwrap();
    assert_eq!(
        s.store_prop(store, "imap.subscriptions")
            .unwrap()
            .as_deref(),
        Some(&b"INBOX\nA\n"[..])
    );
    assert_eq!(
        s.store_prop(store, "empty").unwrap().as_deref(),
        Some(&b""[..])
    );
    let (other, _, _) = user_store(&s, "other");
    assert_eq!(s.store_prop(other, "imap.subscriptions").unwrap(), None);
    s.set_store_prop(store, "imap.subscriptions", None).unwrap();
    s.set_store_prop(store, "never-set", None).unwrap();
    assert_eq!(s.store_prop(store, "imap.subscriptions").unwrap(), None);
    // Rows go with their store.
    s.set_store_prop(other, "x", Some(b"1")).unwrap();
    s.conn_for_tests()
        .execute("DELETE FROM stores WHERE id = ?1", params![other])
        .unwrap();
    let left: i64 = s
        .conn_for_tests()
        .query_row("SELECT COUNT(*) FROM store_props", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 1);
    assert!(super::props::valid_name("imap.subscriptions"));
    assert!(super::props::valid_name(&"a".repeat(64)));
    assert!(!super::props::valid_name(&"a".repeat(65)));
    assert!(!super::props::valid_name(""));
    assert!(!super::props::valid_name("a/b"));
    assert!(!super::props::valid_name("a%2e"));
    assert!(!super::props::valid_name("\u{e9}"));
}

#[test]
fn copy_purge_keep_refcounts_and_gc_files() {
    let dir = tempfile::tempdir().unwrap();
    let att_dir = dir.path().join("att");
    let s = SqliteStorage::in_memory_with_attachments(&att_dir).unwrap();
    let (store, inbox, trash) = user_store(&s, "john");
    let raw = segments::tests::big_message(&[7u8; 100_000], "");
    s.append_item(inbox, &mail(&raw), &NO_DEFAULTS).unwrap();
    s.copy_items(inbox, &[1], trash, &NO_DEFAULTS).unwrap();
    assert_eq!(refcount(&s), vec![(2, 2)]);
    assert_eq!(s.item(trash, 1).unwrap().1, raw);
    s.move_items(trash, &[1], inbox, &NO_DEFAULTS).unwrap();
    assert_eq!(refcount(&s), vec![(2, 2)]);
    s.delete_items(inbox, &[1]).unwrap();
    // Soft-deleted items keep their attachment until purged.
    assert_eq!(s.purge_softdeleted(0).unwrap(), 0);
    assert_eq!(files_under(&att_dir).len(), 1);
    assert_eq!(s.purge_softdeleted(i64::MAX).unwrap(), 1);
    assert_eq!(refcount(&s), vec![(1, 1)]);
    assert_eq!(files_under(&att_dir).len(), 1);
    assert_eq!(s.item(inbox, 2).unwrap().1, raw);
    s.set_flags(inbox, &[2], FlagOp::Add, &[DELETED_FLAG.to_owned()])
        .unwrap();
    assert_eq!(s.expunge_uids(inbox, &[1, 3]).unwrap(), Vec::<u32>::new());
    assert_eq!(s.expunge_uids(inbox, &[2]).unwrap(), vec![2]);
    assert_eq!(s.purge_softdeleted(i64::MAX).unwrap(), 1);
    assert!(refcount(&s).is_empty());
    assert!(files_under(&att_dir).is_empty());
    assert_eq!(s.store(store).unwrap().unwrap().size, 0);
    // Appending it again after the purge writes the file again.
    let a = s.append_item(inbox, &mail(&raw), &NO_DEFAULTS).unwrap();
    assert_eq!(s.item(inbox, a.uid).unwrap().1, raw);
    assert_eq!(files_under(&att_dir).len(), 1);
}

#[test]
fn small_messages_inline_and_no_dir_keeps_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let att_dir = dir.path().join("att");
    let s = SqliteStorage::in_memory_with_attachments(&att_dir).unwrap();
    let (_, inbox, _) = user_store(&s, "john");
    s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
    assert!(files_under(&att_dir).is_empty());
    assert!(refcount(&s).is_empty());
    // Without an attachment directory large messages stay whole BLOBs.
    let s = SqliteStorage::in_memory().unwrap();
    let (_, inbox, _) = user_store(&s, "john");
    let raw = segments::tests::big_message(&[7u8; 100_000], "");
    s.append_item(inbox, &mail(&raw), &NO_DEFAULTS).unwrap();
    assert_eq!(s.item(inbox, 1).unwrap().1, raw);
    let stored: i64 = s
        .conn_for_tests()
        .query_row("SELECT LENGTH(body) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, raw.len() as i64);
}

#[test]
fn open_sweeps_tmp_and_orphan_files() {
    let dir = tempfile::tempdir().unwrap();
    let att_dir = dir.path().join("att");
    let db = dir.path().join("kc.db");
    let raw = segments::tests::big_message(&[9u8; 100_000], "");
    let inbox;
    {
        let s = SqliteStorage::open_with_attachments(&db, Some(&att_dir)).unwrap();
        inbox = user_store(&s, "john").1;
        s.append_item(inbox, &mail(&raw), &NO_DEFAULTS).unwrap();
    }
    let a = AttachmentDir::new(&att_dir).unwrap();
    // An append that crashed after writing its file but before the commit.
    let orphan = a.put(b"never committed").unwrap();
    let kept = files_under(&att_dir);
    let tmp = kept[0].parent().unwrap().join(".tmp-0123");
    std::fs::write(&tmp, b"partial").unwrap();
    let s = SqliteStorage::open_with_attachments(&db, Some(&att_dir)).unwrap();
    assert!(!a.contains(&orphan));
    assert!(!tmp.exists());
    assert_eq!(files_under(&att_dir).len(), 1);
    assert_eq!(s.item(inbox, 1).unwrap().1, raw);
    let st = s.folder_status(inbox).unwrap().unwrap();
    assert_eq!(st.exists, 1);
    assert!(st.highest_modseq >= s.list_items(inbox, 0, 1).unwrap()[0].modseq);
}

#[test]
fn folder_status_counts_and_highest_modseq() {
    let s = SqliteStorage::in_memory().unwrap();
    let (store, inbox, trash) = setup(&s);
    let before = s.folder_status(inbox).unwrap().unwrap().highest_modseq;
    s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
    let a = s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
    let st = s.folder_status(inbox).unwrap().unwrap();
    assert_eq!((st.exists, st.highest_modseq), (2, a.modseq));
    assert!(a.modseq > before);
    s.move_items(inbox, &[1], trash, &NO_DEFAULTS).unwrap();
    let st = s.folder_status(inbox).unwrap().unwrap();
    // The tombstone of the moved item raises the source's HIGHESTMODSEQ.
    assert_eq!(st.exists, 1);
    assert!(st.highest_modseq > a.modseq);
    let all = s.folder_statuses(store).unwrap();
    let t = all.iter().find(|f| f.folder.id == trash).unwrap();
    assert_eq!(t.exists, 1);
    assert_eq!(all.iter().find(|f| f.folder.id == inbox).unwrap(), &st);
}

#[tokio::test]
async fn writes_wake_change_waiters() {
    let s = std::sync::Arc::new(SqliteStorage::in_memory().unwrap());
    let (store, inbox, _) = setup(&s);
    let mut rx = s.subscribe_changes(store).unwrap();
    let w = s.clone();
    let t = tokio::task::spawn_blocking(move || {
        w.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap()
    });
    rx.changed().await.unwrap();
    let a = t.await.unwrap();
    assert_eq!(*rx.borrow(), a.modseq);
    let other = user_store(&s, "mary").0;
    let rx2 = s.subscribe_changes(other).unwrap();
    s.set_flags(inbox, &[1], FlagOp::Add, &["\\Seen".to_owned()])
        .unwrap();
    assert!(rx.has_changed().unwrap());
    assert!(!rx2.has_changed().unwrap());
}

#[test]
fn groupware_etags() {
    let s = SqliteStorage::in_memory().unwrap();
    let (store, _, _) = setup(&s);
    let cal = s
        .folders(store)
        .unwrap()
        .into_iter()
        .find(|f| f.role.as_deref() == Some("calendar"))
        .unwrap()
        .id;
    let v1 = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let (a, etag, created) = s
        .put_object_item(cal, ItemKind::Calendar, "e1", v1, None, &NO_DEFAULTS)
        .unwrap();
    assert!(created);
    assert!(matches!(
        s.put_object_item(
            cal,
            ItemKind::Calendar,
            "e1",
            b"x",
            Some("nope"),
            &NO_DEFAULTS
        ),
        Err(StorageError::Collision)
    ));
    assert!(matches!(
        s.put_object_item(cal, ItemKind::Calendar, "e2", b"x", Some("*"), &NO_DEFAULTS),
        Err(StorageError::Collision)
    ));
    let (b, etag2, created) = s
        .put_object_item(
            cal,
            ItemKind::Calendar,
            "e1",
            b"v2",
            Some(&etag),
            &NO_DEFAULTS,
        )
        .unwrap();
    assert!(!created);
    assert_eq!(a.uid, b.uid);
    assert!(b.modseq > a.modseq);
    assert_ne!(etag, etag2);
    let (it, body) = s.object_item(cal, "e1").unwrap();
    assert_eq!(
        (it.etag.as_str(), body.as_slice()),
        (etag2.as_str(), &b"v2"[..])
    );
    assert!(matches!(
        s.delete_object_item(cal, "e1", Some(&etag)),
        Err(StorageError::Collision)
    ));
    s.delete_object_item(cal, "e1", Some(&etag2)).unwrap();
    assert!(s.object_item(cal, "e1").is_err());
}

// ---- hard-quota admission ----------------------------------------------------

fn set_hard(s: &SqliteStorage, store: i64, hard: i64) {
    let owner = s.store(store).unwrap().unwrap().owner.unwrap();
    let q = Quota {
        override_default: true,
        warn: 0,
        soft: 0,
        hard,
    };
    s.set_quota(owner, &q).unwrap();
}

/// Everything a refused write must leave alone: the store size, every item
/// row (soft-deleted ones included), the change log and the attachment files.
fn footprint(s: &SqliteStorage, store: i64, att: &std::path::Path) -> (i64, i64, i64, usize) {
    let rows: i64 = s
        .conn_for_tests()
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    (
        s.store(store).unwrap().unwrap().size,
        rows,
        s.last_change().unwrap(),
        files_under(att).len(),
    )
}

fn calendar(s: &SqliteStorage, store: i64) -> i64 {
    s.folders(store)
        .unwrap()
        .into_iter()
        .find(|f| f.role.as_deref() == Some("calendar"))
        .unwrap()
        .id
}

#[test]
fn hard_quota_refuses_each_content_write_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let att_dir = dir.path().join("att");
    let s = SqliteStorage::in_memory_with_attachments(&att_dir).unwrap();
    let (store, inbox, trash) = user_store(&s, "full");
    let cal = calendar(&s, store);
    let raw = segments::tests::big_message(&[7u8; 100_000], "");
    let n = raw.len() as i64;
    // Room for exactly one copy: it fills the store to its hard level.
    set_hard(&s, store, n);
    s.append_item(inbox, &mail(&raw), &NO_DEFAULTS).unwrap();
    assert_eq!(
        s.quota_status(store, &NO_DEFAULTS).unwrap().level,
        QuotaLevel::Hard
    );
    let before = footprint(&s, store, &att_dir);
    assert_eq!(before.3, 1);

    // Append (a new attachment: no file may be written for it).
    let other = segments::tests::big_message(&[8u8; 100_000], "");
    assert!(matches!(
        s.append_item(inbox, &mail(&other), &NO_DEFAULTS),
        Err(StorageError::OverQuota)
    ));
    assert!(matches!(
        s.append_item(inbox, &mail(b"x"), &NO_DEFAULTS),
        Err(StorageError::OverQuota)
    ));
    // Delivery to several folders: refused per folder, nothing stored.
    assert_eq!(
        s.append_item_many(&[inbox, trash], &mail(&other), &NO_DEFAULTS)
            .unwrap(),
        vec![None, None]
    );
    // Copy.
    assert!(matches!(
        s.copy_items(inbox, &[1], trash, &NO_DEFAULTS),
        Err(StorageError::OverQuota)
    ));
    // Groupware PUT, new and growing.
    let ev = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert!(matches!(
        s.put_object_item(cal, ItemKind::Calendar, "e1", ev, None, &NO_DEFAULTS),
        Err(StorageError::OverQuota)
    ));
    assert_eq!(footprint(&s, store, &att_dir), before);

    // A move adds nothing: admitted at the hard level...
    assert_eq!(
        s.move_items(inbox, &[1], trash, &NO_DEFAULTS).unwrap(),
        vec![(1, 1)]
    );
    let moved = footprint(&s, store, &att_dir);
    assert_eq!((moved.0, moved.1, moved.3), (before.0, before.1, before.3));
    // ...refused once the store is above it (its limit was lowered).
    set_hard(&s, store, n - 1);
    assert!(matches!(
        s.move_items(trash, &[1], inbox, &NO_DEFAULTS),
        Err(StorageError::OverQuota)
    ));
    assert_eq!(footprint(&s, store, &att_dir), moved);
    assert_eq!(s.list_items(trash, 0, 10).unwrap().len(), 1);
    assert!(s.list_items(inbox, 0, 10).unwrap().is_empty());
    // Cleaning up is never refused; purging gives the room back.
    assert_eq!(s.delete_items(trash, &[1]).unwrap(), vec![1]);
    s.purge_softdeleted(i64::MAX).unwrap();
    s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).unwrap();
}

#[test]
fn admission_counts_the_size_after_the_write() {
    let s = SqliteStorage::in_memory().unwrap();
    let (store, inbox, trash) = setup(&s);
    let cal = calendar(&s, store);
    let n = MSG.len() as i64;
    // Server defaults apply to owners without an override.
    let defaults = Quota {
        override_default: false,
        warn: 1,
        soft: 1,
        hard: 3 * n,
    };
    s.append_item(inbox, &mail(MSG), &defaults).unwrap();
    // Warn and soft are reached but never refuse; two copies fill to 3n.
    s.copy_items(inbox, &[1], trash, &defaults).unwrap();
    assert!(matches!(
        s.copy_items(inbox, &[1], trash, &defaults),
        Ok(v) if v.len() == 1
    ));
    assert!(matches!(
        s.copy_items(inbox, &[1], trash, &defaults),
        Err(StorageError::OverQuota)
    ));
    // Several folders of one store in one delivery: each counts the ones
    // before it.
    set_hard(&s, store, 5 * n);
    assert_eq!(
        s.append_item_many(&[inbox, trash, inbox], &mail(MSG), &defaults)
            .unwrap()
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
        vec![true, true, false]
    );
    // A groupware object may shrink at the hard level, not grow.
    set_hard(&s, store, 5 * n + 10);
    s.put_object_item(cal, ItemKind::Calendar, "e", &[b'a'; 10], None, &defaults)
        .unwrap();
    assert!(matches!(
        s.put_object_item(cal, ItemKind::Calendar, "e", &[b'a'; 11], None, &defaults),
        Err(StorageError::OverQuota)
    ));
    s.put_object_item(cal, ItemKind::Calendar, "e", &[b'b'; 5], None, &defaults)
        .unwrap();
    assert_eq!(s.store(store).unwrap().unwrap().size, 5 * n + 5);
}

#[test]
fn concurrent_writes_cannot_both_squeeze_under_the_limit() {
    let s = std::sync::Arc::new(SqliteStorage::in_memory().unwrap());
    let (store, inbox, _) = setup(&s);
    let n = MSG.len() as i64;
    set_hard(&s, store, n + n / 2);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || s.append_item(inbox, &mail(MSG), &NO_DEFAULTS).is_ok())
        })
        .collect();
    let stored = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert_eq!(stored, 1);
    assert_eq!(s.store(store).unwrap().unwrap().size, n);
}
