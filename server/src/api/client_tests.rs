//! The node's handlers and the gateways' client (kc-store-api) against each
//! other over a real listener: every call of the client reads what the
//! handlers send, through the one set of wire types and the one status table.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kc_store_api::client::{ClientConfig, ClientError, FlagOp, QuotaLevel, StoreClient};

use super::http_tests::test_node;
use crate::net::{self, Listener, NetLimits, Shared};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{ObjectData, ObjectKind, Storage};
use crate::users::password;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reads_every_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::open(&tmp.path().join("kc.db")).unwrap());
    let uid = storage
        .create_object(
            ObjectKind::User,
            "db",
            "ann",
            &ObjectData {
                login: "ann".into(),
                fullname: "Ann Example".into(),
                email: "ann@example.org".into(),
                ..Default::default()
            },
        )
        .unwrap();
    storage
        .set_password_hash(uid, &password::hash("secret").unwrap())
        .unwrap();
    storage.set_features(uid, &["imap".into()], &[]).unwrap();
    let node = test_node(storage.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        node,
        limits: NetLimits {
            max_body: 64 << 20,
            ..NetLimits::default()
        },
    });
    let server = tokio::spawn(net::serve(Listener::Tcp(l), shared, shutdown));
    let client = StoreClient::new(ClientConfig {
        server_socket: format!("http://{addr}/kopano"),
        tls: None,
        timeout: Duration::from_secs(20),
    })
    .unwrap();

    assert!(matches!(
        client.logon("ann", "wrong", "test").await,
        Err(ClientError::LogonFailed)
    ));
    let s = client.logon("ann", "secret", "test").await.unwrap();
    assert_eq!(s.login(), "ann");

    // GET user (the logon probe) and GET user again.
    let u = s.user().await.unwrap();
    assert_eq!(
        (u.login.as_str(), u.fullname.as_str()),
        ("ann", "Ann Example")
    );
    assert!(u.feature("imap") && !u.feature("pop3") && !u.admin);

    // Folders: list, one, create, rename, conflicts and unknown ids.
    let folders = s.folders().await.unwrap();
    let by_role = |r: &str| {
        folders
            .iter()
            .find(|f| f.role.as_deref() == Some(r))
            .unwrap()
            .clone()
    };
    let inbox = by_role("inbox");
    let subtree = by_role("ipm_subtree");
    assert_eq!(inbox.class.as_deref(), Some("IPF.Note"));
    assert_eq!(s.folder(inbox.id).await.unwrap(), inbox);
    let work = s
        .create_folder(subtree.id, "Work", "IPF.Note")
        .await
        .unwrap();
    assert_eq!(
        (work.name.as_str(), work.parent),
        ("Work", Some(subtree.id))
    );
    assert_eq!(work.exists, 0);
    assert_eq!(s.folder(work.id).await.unwrap(), work);
    assert!(matches!(
        s.create_folder(subtree.id, "work", "IPF.Note").await,
        Err(ClientError::Conflict)
    ));
    assert!(s.update_folder(work.id, Some("Jobs"), None).await.unwrap() > 0);
    assert_eq!(s.folder(work.id).await.unwrap().name, "Jobs");
    assert!(matches!(
        s.folder(999_999).await,
        Err(ClientError::NotFound)
    ));

    // Append, list (all fields and a selection), fetch.
    let raw = Bytes::from_static(b"From: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n");
    let a = s
        .append(inbox.id, raw.clone(), &["\\Seen".into()], Some(7))
        .await
        .unwrap();
    assert_eq!(a.uid, 1);
    assert!(a.id > 0 && a.modseq > 0);
    let l = s.list_items(inbox.id, 0, 0, &[]).await.unwrap();
    assert_eq!((l.uid_next, l.items.len()), (2, 1));
    let it = &l.items[0];
    assert_eq!((it.id, it.uid, it.modseq), (a.id, 1, a.modseq));
    assert_eq!((it.kind.as_str(), it.subject.as_str()), ("mail", "hi"));
    assert_eq!((it.from.as_str(), it.internal_date), ("b@example.org", 7));
    assert_eq!(
        (it.size, it.flags.clone()),
        (raw.len() as i64, vec!["\\Seen".to_string()])
    );
    let l = s
        .list_items(inbox.id, 0, 10, &["flags", "uid"])
        .await
        .unwrap();
    assert_eq!((l.items[0].uid, l.items[0].size), (1, 0));
    assert!(matches!(
        s.list_items(inbox.id, 0, 0, &["body"]).await,
        Err(ClientError::Status { status: 400, .. })
    ));
    assert_eq!(s.fetch(inbox.id, 1).await.unwrap(), raw);
    assert_eq!(
        s.fetch_header(inbox.id, 1).await.unwrap(),
        Bytes::from_static(b"From: b@example.org\r\nSubject: hi\r\n\r\n")
    );
    let many = s.fetch_many(inbox.id, &[1, 5, 1]).await.unwrap();
    assert_eq!(many, vec![(1, raw.clone()), (1, raw.clone())]);
    assert_eq!(s.fetch_headers_many(inbox.id, &[1]).await.unwrap().len(), 1);

    // Bulk calls.
    let ch = s
        .set_flags(inbox.id, &[1, 9], FlagOp::Add, &["$Work".into()])
        .await
        .unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].0, 1);
    assert_eq!(s.copy(inbox.id, &[1], work.id).await.unwrap(), vec![(1, 1)]);
    assert_eq!(
        s.move_items(work.id, &[1], inbox.id).await.unwrap(),
        vec![(1, 2)]
    );
    assert_eq!(s.delete(inbox.id, &[2]).await.unwrap(), vec![2]);
    s.set_flags(inbox.id, &[1], FlagOp::Replace, &["\\Deleted".into()])
        .await
        .unwrap();
    assert_eq!(
        s.expunge(inbox.id, Some(&[3])).await.unwrap(),
        Vec::<u32>::new()
    );
    assert_eq!(s.expunge(inbox.id, None).await.unwrap(), vec![1]);

    // Change log, properties, quota.
    let changes = s.changes(0, 0, None).await.unwrap();
    assert!(changes.iter().all(|c| c.modseq > 0 && c.at > 0));
    assert!(changes
        .iter()
        .any(|c| c.object_type == "item" && c.change_type == "new" && c.uid == Some(1)));
    assert!(changes.windows(2).all(|w| w[0].modseq < w[1].modseq));
    let last = changes.last().map_or(0, |c| c.modseq);
    assert!(s
        .changes(last, 0, Some(Duration::from_secs(1)))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.prop("imap.subscriptions").await.unwrap(), None);
    s.set_prop("imap.subscriptions", Some(Bytes::from_static(b"INBOX\n")))
        .await
        .unwrap();
    assert_eq!(
        s.prop("imap.subscriptions").await.unwrap().as_deref(),
        Some(&b"INBOX\n"[..])
    );
    assert!(matches!(
        s.set_prop(
            "x",
            Some(Bytes::from(vec![0u8; kc_store_api::MAX_PROP + 1]))
        )
        .await,
        Err(ClientError::TooLarge)
    ));
    let q = s.quota().await.unwrap();
    assert_eq!(q.level, QuotaLevel::Ok);
    assert!(q.size > 0);
    s.keepalive().await.unwrap();

    s.logoff().await;
    assert!(matches!(s.quota().await, Err(ClientError::Session)));
    stop.send(true).unwrap();
    let _ = server.await;
}

/// The client's SOAP logon announces the node's own protocol names.
#[test]
fn logon_constants_match_the_node() {
    use crate::caps::cap;
    use kc_store_api::client::soap;
    assert_eq!(soap::CAP_UNICODE, cap::UNICODE);
    assert_eq!(soap::CAP_MULTI_SERVER, cap::MULTI_SERVER);
    assert_eq!(soap::CLIENT_VERSION, crate::node::SERVER_VERSION);
}
