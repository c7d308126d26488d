//! The store API over a real listener, driven by curl (a real HTTP peer that
//! also checks chunked framing and Content-Length).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::Value;

use crate::audit::AuditLog;
use crate::net::{self, Listener, NetLimits, Shared};
use crate::node::{Node, Settings, Stats};
use crate::session::{NewSession, SessionManager};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{ItemKind, NewItem, ObjectData, ObjectKind, Storage};
use crate::users::db::DbPlugin;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request with curl; `body` is sent from a file, byte-exact.
fn curl(base: &str, session: u64, method: &str, path: &str, body: Option<&Path>) -> Reply {
    let out_dir = tempfile::tempdir().unwrap();
    let head = out_dir.path().join("head");
    let data = out_dir.path().join("data");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--http1.1", "-X", method, "-D"])
        .arg(&head)
        .arg("-o")
        .arg(&data)
        .args(["-H", &format!("X-Kc-Session: {session}")]);
    if let Some(b) = body {
        cmd.arg("--data-binary").arg(format!("@{}", b.display()));
        cmd.args([
            "-H",
            "Content-Type: application/octet-stream",
            "-H",
            "Expect:",
        ]);
    }
    let st = cmd
        .arg(format!("{base}{path}"))
        .status()
        .expect("curl must be installed (apt-get install curl)");
    assert!(st.success(), "curl {method} {path} failed: {st}");
    let head = std::fs::read_to_string(&head).unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: std::fs::read(&data).unwrap_or_default(),
    }
}

fn file_with(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn attachment_files(dir: &Path) -> usize {
    let mut n = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                n += 1;
            }
        }
    }
    n
}

/// A logged-on, non-admin session of `login` (object `uid`) on `node`.
pub(crate) fn test_session(node: &Node, uid: i64, login: &str) -> u64 {
    node.sessions
        .create(NewSession {
            user_id: uid,
            login: login.into(),
            admin_level: 0,
            source: "127.0.0.1".into(),
            capabilities: 0,
            client_app: "test".into(),
        })
        .unwrap()
}

/// A node over `storage` with the db user plugin and default settings.
pub(crate) fn test_node(storage: Arc<dyn Storage>) -> Arc<Node> {
    let settings = Settings {
        server_name: "n1".into(),
        ..Settings::default()
    };
    Arc::new(Node {
        proxy_header: parking_lot::RwLock::new(String::new()),
        sessions: SessionManager::new(settings.session_timeout, settings.session_ip_check),
        settings,
        guid: storage.server_guid().unwrap_or_default(),
        plugin: Arc::new(DbPlugin::new(storage.clone())),
        storage,
        audit: AuditLog::disabled(),
        certs: None,
        stats: Stats::default(),
    })
}

async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_stream_expunge_uids_long_poll_user_and_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let att_dir = tmp.path().join("att");
    let storage: Arc<dyn Storage> = Arc::new(
        SqliteStorage::open_with_attachments(&tmp.path().join("kc.db"), Some(&att_dir)).unwrap(),
    );
    let uid = storage
        .create_object(
            ObjectKind::User,
            "db",
            "john",
            &ObjectData {
                login: "john".into(),
                fullname: "John Doe".into(),
                email: "john@example.org".into(),
                ..Default::default()
            },
        )
        .unwrap();
    storage
        .set_features(uid, &["imap".into()], &["mobile".into()])
        .unwrap();
    let node = test_node(storage.clone());
    let session = test_session(&node, uid, "john");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/kc-store/v1/me/", l.local_addr().unwrap());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        node: node.clone(),
        limits: NetLimits {
            max_body: 64 << 20,
            ..NetLimits::default()
        },
    });
    let server = tokio::spawn(net::serve(Listener::Tcp(l), shared, shutdown));
    let get = {
        let base = base.clone();
        move |path: &str| {
            let (b, p) = (base.clone(), path.to_owned());
            run(move || curl(&b, session, "GET", &p, None))
        }
    };
    let post = {
        let base = base.clone();
        move |path: &str, body: PathBuf| {
            let (b, p) = (base.clone(), path.to_owned());
            run(move || curl(&b, session, "POST", &p, Some(&body)))
        }
    };

    // The user and their features (server.cfg default disables imap and pop3).
    let u = get("user").await;
    assert_eq!(u.status, 200);
    let u = u.json();
    assert_eq!(u["login"], "john");
    assert_eq!(u["fullname"], "John Doe");
    assert_eq!(u["admin"], false);
    assert_eq!(u["features"]["imap"], true);
    assert_eq!(u["features"]["pop3"], false);
    assert_eq!(u["features"]["mobile"], false);
    assert_eq!(u["features"]["outlook"], true);

    let folders = get("folders").await.json();
    let inbox = folders
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["role"] == "inbox")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // A large message: appended, single-instanced, streamed back byte-exact.
    let att: Vec<u8> = (0..3_000_000u32).map(|i| (i % 241) as u8).collect();
    let raw = crate::storage::segments::tests::big_message(&att, "");
    let msg = file_with(tmp.path(), "big.eml", &raw);
    let a = post(&format!("folders/{inbox}/items"), msg).await;
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let modseq = a.json()["modseq"].as_i64().unwrap();
    assert_eq!(attachment_files(&att_dir), 1);
    let f = get(&format!("folders/{inbox}/items/1")).await;
    assert_eq!(f.status, 200);
    assert_eq!(f.body.len(), raw.len());
    assert!(f.body == raw, "fetched body differs");
    assert_eq!(
        f.header("content-length"),
        Some(raw.len().to_string().as_str())
    );
    assert_eq!(f.header("content-type"), Some("message/rfc822"));

    // Header only: the skeleton's header block, without the attachment file
    // (moved away meanwhile: a whole fetch would fail, the header does not).
    let want = &raw[..crate::storage::segments::header_end(&raw).unwrap()];
    let moved = tmp.path().join("att-away");
    std::fs::rename(&att_dir, &moved).unwrap();
    let h = get(&format!("folders/{inbox}/items/1?part=header")).await;
    std::fs::rename(&moved, &att_dir).unwrap();
    assert_eq!(h.status, 200);
    assert!(h.body == want, "{}", String::from_utf8_lossy(&h.body));
    assert_eq!(h.header("content-type"), Some("text/rfc822-headers"));
    assert_eq!(h.header("etag"), f.header("etag"));
    assert_eq!(
        get(&format!("folders/{inbox}/items/1?part=body"))
            .await
            .status,
        400
    );
    assert_eq!(
        get(&format!("folders/{inbox}/items/77?part=header"))
            .await
            .status,
        404
    );

    // Store properties.
    let req = {
        let base = base.clone();
        move |method: &'static str, path: &str, body: Option<PathBuf>| {
            let (b, p) = (base.clone(), path.to_owned());
            run(move || curl(&b, session, method, &p, body.as_deref()))
        }
    };
    assert_eq!(get("props/imap.subscriptions").await.status, 404);
    let subs = file_with(tmp.path(), "subs", "INBOX\nA/\u{e9}\n".as_bytes());
    let r = req("PUT", "props/imap.subscriptions", Some(subs)).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    let r = get("props/imap.subscriptions").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "INBOX\nA/\u{e9}\n".as_bytes());
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let empty = file_with(tmp.path(), "empty-prop", b"");
    assert_eq!(req("PUT", "props/e", Some(empty)).await.status, 204);
    let r = get("props/e").await;
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(req("DELETE", "props/e", None).await.status, 204);
    assert_eq!(req("DELETE", "props/e", None).await.status, 204);
    assert_eq!(get("props/e").await.status, 404);
    assert_eq!(get("props/a%2Fb").await.status, 400);
    assert_eq!(get(&format!("props/{}", "x".repeat(65))).await.status, 400);
    assert_eq!(req("POST", "props/x", None).await.status, 405);
    let big = file_with(tmp.path(), "big-prop", &vec![b'x'; (1 << 20) + 1]);
    assert_eq!(req("PUT", "props/big", Some(big)).await.status, 413);
    let max = file_with(tmp.path(), "max-prop", &vec![b'x'; 1 << 20]);
    assert_eq!(req("PUT", "props/big", Some(max)).await.status, 204);
    assert_eq!(get("props/big").await.body.len(), 1 << 20);

    let st = get(&format!("folders/{inbox}")).await;
    assert_eq!(st.status, 200);
    let st = st.json();
    assert_eq!(st["exists"], 1);
    assert_eq!(st["highest_modseq"], modseq);
    assert_eq!(get("folders/999999").await.status, 404);

    // UID EXPUNGE: only the listed \Deleted items.
    let small = file_with(tmp.path(), "small.eml", b"Subject: s\r\n\r\nhi\r\n");
    post(&format!("folders/{inbox}/items?flags=%5CDeleted"), small).await;
    let flags = file_with(
        tmp.path(),
        "flags.json",
        br#"{"uids":[1],"op":"add","flags":["\\Deleted"]}"#,
    );
    post(&format!("folders/{inbox}/flags"), flags).await;
    let only2 = file_with(tmp.path(), "only2.json", br#"{"uids":[2,77]}"#);
    let e = post(&format!("folders/{inbox}/expunge"), only2).await;
    assert_eq!(e.json()["expunged"], serde_json::json!([2]));
    let empty = file_with(tmp.path(), "empty", b"");
    let e = post(&format!("folders/{inbox}/expunge"), empty).await;
    assert_eq!(e.json()["expunged"], serde_json::json!([1]));
    let bad = file_with(tmp.path(), "bad.json", br#"{"uids":"x"}"#);
    assert_eq!(
        post(&format!("folders/{inbox}/expunge"), bad).await.status,
        400
    );

    // Long poll: nothing new within the wait gives an empty answer...
    let last = storage.last_change().unwrap();
    let r = get(&format!("changes?since={last}&wait=1")).await;
    assert_eq!((r.status, r.body.len()), (200, 0));
    // ...and a write through the storage (as LMTP delivers) ends the wait.
    let waiter = get(&format!("changes?since={last}&wait=300"));
    let s2 = storage.clone();
    let writer = tokio::task::spawn_blocking(move || {
        s2.append_item(
            inbox,
            &NewItem {
                kind: ItemKind::Mail,
                obj_uid: None,
                body: b"Subject: lmtp\r\n\r\nx\r\n",
                flags: &[],
                internal_date: 1,
            },
            &crate::storage::Quota::default(),
        )
        .unwrap()
    });
    let (r, w) = tokio::join!(waiter, writer);
    let w = w.unwrap();
    let line: Value = serde_json::from_slice(r.body.split(|b| *b == b'\n').next().unwrap())
        .unwrap_or(Value::Null);
    assert_eq!(line["modseq"], w.modseq);
    assert_eq!(line["change_type"], "new");
    assert_eq!(get("changes?wait=x").await.status, 400);

    // kc-admin --purge-softdelete 0 through the admin API removes every
    // soft-deleted item and the attachment file.
    let all = file_with(tmp.path(), "all.json", br#"{"uids":[3]}"#);
    post(&format!("folders/{inbox}/delete"), all).await;
    let admin = node
        .sessions
        .create(NewSession {
            user_id: crate::storage::SYSTEM_ID,
            login: "SYSTEM".into(),
            admin_level: 2,
            source: "127.0.0.1".into(),
            capabilities: 0,
            client_app: "kc-admin".into(),
        })
        .unwrap();
    let req = file_with(
        tmp.path(),
        "purge.json",
        format!(r#"{{"session":{admin},"days":0}}"#).as_bytes(),
    );
    let admin_base = base.replace("/kc-store/v1/me/", "/kc-admin/v1/");
    let r = run(move || curl(&admin_base, admin, "POST", "purge-softdelete", Some(&req))).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["data"]["items"],
        3,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(attachment_files(&att_dir), 0);
    assert_eq!(get(&format!("folders/{inbox}")).await.json()["exists"], 0);

    stop.send(true).unwrap();
    let _ = server.await;
}

/// `POST folders/{id}/bodies`: frames in request order, unknown and expunged
/// UIDs skipped, a message with an attachment file streamed byte-exact,
/// header blocks with `"part":"header"`, limits answered 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_bodies() {
    use kc_store_api::frames;
    let tmp = tempfile::tempdir().unwrap();
    let att_dir = tmp.path().join("att");
    let storage: Arc<dyn Storage> = Arc::new(
        SqliteStorage::open_with_attachments(&tmp.path().join("kc.db"), Some(&att_dir)).unwrap(),
    );
    let uid = storage
        .create_object(
            ObjectKind::User,
            "db",
            "ann",
            &ObjectData {
                login: "ann".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let node = test_node(storage.clone());
    let session = test_session(&node, uid, "ann");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/kc-store/v1/me/", l.local_addr().unwrap());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        node: node.clone(),
        limits: NetLimits {
            max_body: 64 << 20,
            ..NetLimits::default()
        },
    });
    let server = tokio::spawn(net::serve(Listener::Tcp(l), shared, shutdown));
    let req = {
        let base = base.clone();
        move |method: &'static str, path: &str, body: Option<PathBuf>| {
            let (b, p) = (base.clone(), path.to_owned());
            run(move || curl(&b, session, method, &p, body.as_deref()))
        }
    };
    let folders = req("GET", "folders", None).await.json();
    let inbox = folders
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["role"] == "inbox")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // UIDs 1..=5: small ones, a 3 MB one with an attachment file (3), one
    // without a header/body separator (5).
    let att: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let big = crate::storage::segments::tests::big_message(&att, "");
    let mut msgs: Vec<Vec<u8>> = vec![
        b"Subject: one\r\n\r\nfirst\r\n".to_vec(),
        b"Subject: two\r\nX: y\r\n\r\nsecond\r\n".to_vec(),
        big,
        b"Subject: four\r\n\r\n4\r\n".to_vec(),
        b"no header at all".to_vec(),
    ];
    for (i, m) in msgs.iter().enumerate() {
        let f = file_with(tmp.path(), &format!("m{i}"), m);
        let a = req("POST", &format!("folders/{inbox}/items"), Some(f)).await;
        assert_eq!(a.status, 201);
        assert_eq!(a.json()["uid"], i + 1);
    }
    assert_eq!(attachment_files(&att_dir), 1);
    // UID 4 expunged.
    let del = file_with(tmp.path(), "del.json", br#"{"uids":[4]}"#);
    req("POST", &format!("folders/{inbox}/delete"), Some(del)).await;
    msgs[3].clear();

    let bodies = |json: &str| {
        let f = file_with(tmp.path(), "bodies.json", json.as_bytes());
        req("POST", &format!("folders/{inbox}/bodies"), Some(f))
    };
    let r = bodies(r#"{"uids":[5,3,99,4,1,2,1]}"#).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some(frames::CONTENT_TYPE));
    let lim = frames::FrameLimits {
        max_frames: 1000,
        max_total: 1 << 30,
    };
    let got = frames::decode(&bytes::Bytes::from(r.body), lim).unwrap();
    let uids: Vec<u32> = got.iter().map(|(u, _)| *u).collect();
    assert_eq!(uids, [5, 3, 1, 2, 1]);
    for (u, b) in &got {
        assert!(
            &b[..] == msgs[*u as usize - 1].as_slice(),
            "uid {u} differs"
        );
    }

    // Header blocks.
    let r = bodies(r#"{"uids":[2,3,5,4],"part":"header"}"#).await;
    assert_eq!(r.status, 200);
    let got = frames::decode(&bytes::Bytes::from(r.body), lim).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(
        (got[0].0, &got[0].1[..]),
        (2, &b"Subject: two\r\nX: y\r\n\r\n"[..])
    );
    let head = &msgs[2][..crate::storage::segments::header_end(&msgs[2]).unwrap()];
    assert_eq!((got[1].0, &got[1].1[..]), (3, head));
    assert_eq!((got[2].0, &got[2].1[..]), (5, &b"no header at all"[..]));

    // Empty list, nothing known, limits and bad requests.
    let r = bodies(r#"{"uids":[]}"#).await;
    assert_eq!((r.status, r.body.len()), (200, 0));
    let r = bodies(r#"{"uids":[77,78]}"#).await;
    assert_eq!((r.status, r.body.len()), (200, 0));
    let max: Vec<u32> = (1..=1000).collect();
    let r = bodies(&format!(r#"{{"uids":{max:?}}}"#)).await;
    assert_eq!(r.status, 200);
    let got = frames::decode(&bytes::Bytes::from(r.body), lim).unwrap();
    assert_eq!(got.len(), 4);
    let over: Vec<u32> = (1..=1001).collect();
    assert_eq!(bodies(&format!(r#"{{"uids":{over:?}}}"#)).await.status, 400);
    assert_eq!(bodies(r#"{"uids":[1],"part":"text"}"#).await.status, 400);
    assert_eq!(bodies(r#"{"uids":"x"}"#).await.status, 400);
    assert_eq!(req("POST", "folders/999999/bodies", None).await.status, 404);
    assert_eq!(
        req("GET", &format!("folders/{inbox}/bodies"), None)
            .await
            .status,
        405
    );

    // A damaged attachment file aborts the answer: curl reports an error
    // or a body that does not decode, never a complete, short one.
    let moved = tmp.path().join("att-away");
    std::fs::rename(&att_dir, &moved).unwrap();
    let f = file_with(tmp.path(), "b3.json", br#"{"uids":[1,3,2]}"#);
    let b = base.clone();
    let p = format!("folders/{inbox}/bodies");
    let st = run(move || {
        Command::new("curl")
            .args(["-sS", "--http1.1", "-o", "/dev/null", "-X", "POST"])
            .args(["-H", &format!("X-Kc-Session: {session}")])
            .arg("--data-binary")
            .arg(format!("@{}", f.display()))
            .arg(format!("{b}{p}"))
            .status()
            .unwrap()
    })
    .await;
    std::fs::rename(&moved, &att_dir).unwrap();
    assert!(!st.success(), "a damaged file must abort the answer");

    stop.send(true).unwrap();
    let _ = server.await;
}
