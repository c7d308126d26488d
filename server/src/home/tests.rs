//! The write paths of the store API against the hard quota, over a real
//! listener: append, copy, move and groupware PUT are refused with 507
//! `KCERR_STORE_FULL` and leave no item, size change or attachment file.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::net::{self, Listener, NetLimits, Shared};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{ObjectData, ObjectKind, Quota, Storage, StoreType};

/// One HTTP/1.1 request on its own connection; returns status and body.
fn request(
    addr: std::net::SocketAddr,
    session: u64,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, String) {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "{method} /kc-store/v1/me/{path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
         X-Kc-Session: {session}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).unwrap();
    // A refused append is answered before its body is read.
    let _ = c.write_all(body);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (status, body.unwrap_or_default())
}

fn files(dir: &Path) -> usize {
    let mut n = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                todo.push(e.path());
            } else {
                n += 1;
            }
        }
    }
    n
}

fn big_message(tag: u8) -> Vec<u8> {
    crate::storage::segments::tests::big_message(&[tag; 100_000], "")
}

#[tokio::test]
async fn store_api_writes_over_quota_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let att = tmp.path().join("att");
    let s = Arc::new(
        SqliteStorage::open_with_attachments(&tmp.path().join("kc.db"), Some(&att)).unwrap(),
    );
    let data = ObjectData {
        login: "john".into(),
        ..Default::default()
    };
    let uid = s
        .create_object(ObjectKind::User, "db", "john", &data)
        .unwrap();
    let limit = |hard| Quota {
        override_default: true,
        warn: 0,
        soft: 0,
        hard,
    };
    let first = big_message(1);
    s.set_quota(uid, &limit(first.len() as i64 + 1000)).unwrap();
    let node = crate::api::http_tests::test_node(s.clone());
    let session = crate::api::http_tests::test_session(&node, uid, "john");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        node: node.clone(),
        limits: NetLimits::default(),
    });
    let server = tokio::spawn(net::serve(Listener::Tcp(l), shared, shutdown));

    let owner = s.object(uid).unwrap().unwrap();
    let st = crate::home::private_store(&node, &owner).await.unwrap();
    let role = |r: &str| {
        s.folders(st.id)
            .unwrap()
            .into_iter()
            .find(|f| f.role.as_deref() == Some(r))
            .unwrap()
            .id
    };
    let (inbox, trash, cal) = (role("inbox"), role("wastebasket"), role("calendar"));
    let s2 = s.clone();
    let footprint = move || {
        let rows = s2.list_items(inbox, 0, 100).unwrap().len()
            + s2.list_items(trash, 0, 100).unwrap().len()
            + s2.list_items(cal, 0, 100).unwrap().len();
        let size = s2.store_of(uid, StoreType::Private).unwrap().unwrap().size;
        (size, rows, s2.last_change().unwrap())
    };

    let run = move |method: &'static str, path: String, body: Vec<u8>| {
        tokio::task::spawn_blocking(move || request(addr, session, method, &path, &body))
    };
    let (status, body) = run("POST", format!("folders/{inbox}/items"), first)
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let before = (footprint(), files(&att));
    let refused = |(status, body): (u16, String), what: &str| {
        assert_eq!(status, 507, "{what}: {body}");
        assert!(body.contains("KCERR_STORE_FULL"), "{what}: {body}");
    };

    // Append: a second message with another attachment does not fit.
    refused(
        run("POST", format!("folders/{inbox}/items"), big_message(2))
            .await
            .unwrap(),
        "append",
    );
    let uids = format!(r#"{{"uids":[1],"dest":{trash}}}"#).into_bytes();
    refused(
        run("POST", format!("folders/{inbox}/copy"), uids.clone())
            .await
            .unwrap(),
        "copy",
    );
    let ev = format!(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nDESCRIPTION:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "x".repeat(2000)
    );
    refused(
        run("PUT", format!("folders/{cal}/objects/e1"), ev.into_bytes())
            .await
            .unwrap(),
        "groupware PUT",
    );
    assert_eq!((footprint(), files(&att)), before);

    // Move: admitted while the store is within its limit, refused once the
    // limit is lowered under its size.
    let (status, body) = run("POST", format!("folders/{inbox}/move"), uids.clone())
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    s.set_quota(uid, &limit(1000)).unwrap();
    let moved = (footprint(), files(&att));
    let back = format!(r#"{{"uids":[1],"dest":{inbox}}}"#).into_bytes();
    refused(
        run("POST", format!("folders/{trash}/move"), back)
            .await
            .unwrap(),
        "move",
    );
    assert_eq!((footprint(), files(&att)), moved);

    let _ = stop.send(true);
    let _ = server.await;
}
