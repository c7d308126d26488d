//! Soft-delete purge (KC manual §7.5): items and folders deleted by users stay
//! in the database (and count against quota) until they are older than
//! server.cfg `softdelete_lifetime` days; then they are removed for good,
//! with the attachment files nothing references any more.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::kcerr::KcErr;
use crate::node::{now, Node};
use crate::storage::purge::softdelete_cutoff;

/// How often the timer purges after the first run at start.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// server.cfg `softdelete_lifetime` in whole days (0 = keep forever).
pub fn lifetime_days(cfg: &kc_configs::Config) -> u64 {
    cfg.duration("softdelete_lifetime").as_secs() / 86_400
}

/// The `older_than` for `kc-admin --purge-softdelete DAYS`: unlike
/// `softdelete_lifetime`, 0 days means every soft-deleted item (as KC).
pub fn admin_cutoff(days: u64, now: i64) -> i64 {
    softdelete_cutoff(days, now).unwrap_or(i64::MAX)
}

/// Remove what was soft-deleted before `older_than` (Unix time); returns the
/// number of items removed.
pub async fn purge_before(node: &Node, older_than: i64) -> Result<usize, KcErr> {
    let n = node.db(move |s| s.purge_softdeleted(older_than)).await?;
    if n > 0 {
        info!(items = n, older_than, "purged soft-deleted items");
    }
    Ok(n)
}

/// Purge once under `softdelete_lifetime` (0 keeps everything).
pub async fn purge_once(node: &Node, lifetime_days: u64) -> Result<usize, KcErr> {
    match softdelete_cutoff(lifetime_days, now()) {
        Some(cutoff) => purge_before(node, cutoff).await,
        None => Ok(0),
    }
}

/// Purge at start and then every [`PURGE_INTERVAL`] until `shutdown` turns
/// true. With `lifetime_days` 0 nothing is ever purged and this returns at once.
pub async fn run_purge_timer(
    node: Arc<Node>,
    lifetime_days: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    if lifetime_days == 0 {
        info!("softdelete_lifetime is 0: soft-deleted items are kept");
        return;
    }
    loop {
        if let Err(e) = purge_once(&node, lifetime_days).await {
            warn!(error = e.name(), "soft-delete purge failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(PURGE_INTERVAL) => {}
            r = shutdown.changed() => {
                if r.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{ItemKind, NewItem, ObjectData, ObjectKind, Quota, Storage, StoreType};

    fn deleted_long_ago(s: &SqliteStorage, days: i64) {
        s.conn_for_tests()
            .execute(
                "UPDATE items SET deleted_at = ?1 WHERE deleted_at IS NOT NULL",
                [now() - days * 86_400],
            )
            .unwrap();
    }

    #[test]
    fn lifetime_from_config() {
        let mut cfg = kc_configs::Config::defaults(kc_configs::schemas::server());
        assert_eq!(lifetime_days(&cfg), 30);
        cfg.set("softdelete_lifetime", "0").unwrap();
        assert_eq!(lifetime_days(&cfg), 0);
        cfg.set("softdelete_lifetime", "7").unwrap();
        assert_eq!(lifetime_days(&cfg), 7);
    }

    #[test]
    fn cutoffs() {
        assert_eq!(admin_cutoff(0, 1000), i64::MAX);
        assert_eq!(admin_cutoff(1, 100_000), 100_000 - 86_400);
    }

    #[tokio::test]
    async fn purges_old_soft_deletes_and_their_attachment_files() {
        let tmp = tempfile::tempdir().unwrap();
        let att = tmp.path().join("att");
        let s = Arc::new(SqliteStorage::in_memory_with_attachments(&att).unwrap());
        let node = crate::api::http_tests::test_node(s.clone());
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
        let inbox = s
            .folders(st.id)
            .unwrap()
            .into_iter()
            .find(|f| f.role.as_deref() == Some("inbox"))
            .unwrap()
            .id;
        let raw = crate::storage::segments::tests::big_message(&[5u8; 200_000], "");
        let item = NewItem {
            kind: ItemKind::Mail,
            obj_uid: None,
            body: &raw,
            flags: &[],
            internal_date: 1,
        };
        for _ in 0..3 {
            s.append_item(inbox, &item, &Quota::default()).unwrap();
        }
        s.delete_items(inbox, &[1, 2]).unwrap();
        // Deleted just now: kept under a 30-day lifetime, and 0 keeps forever.
        assert_eq!(purge_once(&node, 30).await.unwrap(), 0);
        deleted_long_ago(&s, 31);
        assert_eq!(purge_once(&node, 0).await.unwrap(), 0);
        assert_eq!(purge_once(&node, 60).await.unwrap(), 0);
        assert_eq!(purge_once(&node, 30).await.unwrap(), 2);
        assert_eq!(s.store(st.id).unwrap().unwrap().size, raw.len() as i64);
        // The third message still needs the shared file.
        assert_eq!(s.item(inbox, 3).unwrap().1, raw);

        // The timer purges at start, then stops on shutdown.
        s.delete_items(inbox, &[3]).unwrap();
        deleted_long_ago(&s, 31);
        let (tx, rx) = watch::channel(false);
        tx.send(true).unwrap();
        run_purge_timer(node.clone(), 30, rx).await;
        assert_eq!(s.store(st.id).unwrap().unwrap().size, 0);
        assert!(s.item(inbox, 3).is_err());
        let files = std::fs::read_dir(&att)
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .count();
        assert_eq!(files, 0);

        // kc-admin --purge-softdelete 0 removes everything soft-deleted.
        s.append_item(inbox, &item, &Quota::default()).unwrap();
        s.delete_items(inbox, &[4]).unwrap();
        assert_eq!(
            purge_before(&node, admin_cutoff(0, now())).await.unwrap(),
            1
        );
    }
}
