//! The store owner: `GET user` (identity and features, KC's feature rule)
//! and `GET quota` (size against the limits).

use std::collections::BTreeSet;

use http::Response;
use kc_store_api::wire::{QuotaInfo, QuotaLevel, UserInfo};

use super::body::Body;
use super::reply::{ok, R};
use super::Call;
use crate::storage::{self, Object};

/// Features reported by `GET {store}/user` besides those named in the
/// configuration or on the user.
const KNOWN_FEATURES: &[&str] = &["imap", "mobile", "outlook", "pop3", "webapp"];

/// KC's feature rule (the user's own enable/disable lists win over
/// server.cfg `disabled_features`), defined once in kc-directory.
pub use kc_directory::feature_enabled;

/// The owner of a store as `GET user` answers it.
fn user_info(
    info: &crate::users::UserInfo,
    object: &Object,
    server_disabled: &[String],
) -> UserInfo {
    let mut names: BTreeSet<String> = KNOWN_FEATURES.iter().map(|f| (*f).to_owned()).collect();
    for f in info
        .enabled_features
        .iter()
        .chain(&info.disabled_features)
        .chain(server_disabled)
    {
        names.insert(f.to_ascii_lowercase());
    }
    let features = names
        .into_iter()
        .map(|n| {
            let on = feature_enabled(
                &n,
                &info.enabled_features,
                &info.disabled_features,
                server_disabled,
            );
            (n, on)
        })
        .collect();
    UserInfo {
        admin: info.admin_level.max(object.admin_level) >= 1,
        aliases: info.aliases.clone(),
        email: info.email.clone(),
        features,
        fullname: info.fullname.clone(),
        login: info.login.clone(),
    }
}

/// `GET user`: the store owner, read anew on every call.
pub(super) fn get(cx: &Call<'_>) -> R<Response<Body>> {
    let o = cx.opened;
    ok(&user_info(
        &o.info,
        &o.object,
        &cx.node.settings.disabled_features,
    ))
}

/// `GET quota`: the store's size against its effective limits.
pub(super) async fn quota(cx: &Call<'_>) -> R<Response<Body>> {
    let sid = cx.sid();
    let defaults = cx.node.settings.default_quota;
    let q = cx.node.db(move |s| s.quota_status(sid, &defaults)).await?;
    ok(&QuotaInfo {
        hard: q.hard,
        level: match q.level {
            storage::QuotaLevel::Ok => QuotaLevel::Ok,
            storage::QuotaLevel::Warn => QuotaLevel::Warn,
            storage::QuotaLevel::Soft => QuotaLevel::Soft,
            storage::QuotaLevel::Hard => QuotaLevel::Hard,
        },
        size: q.size,
        soft: q.soft,
        warn: q.warn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_rule() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(feature_enabled("imap", &s(&["IMAP"]), &[], &s(&["imap"])));
        assert!(!feature_enabled("imap", &[], &s(&["imap"]), &[]));
        assert!(!feature_enabled("pop3", &[], &[], &s(&["pop3"])));
        assert!(feature_enabled("webapp", &[], &[], &s(&["pop3"])));
    }

    /// The quota answer has the bytes the storage status always serialized to.
    #[test]
    fn quota_same_bytes_as_storage_status() {
        let st = storage::quota::status(
            250,
            &storage::Quota {
                warn: 100,
                soft: 200,
                hard: 300,
                ..Default::default()
            },
        );
        let q = QuotaInfo {
            hard: st.hard,
            level: QuotaLevel::Soft,
            size: st.size,
            soft: st.soft,
            warn: st.warn,
        };
        assert_eq!(
            serde_json::to_string(&q).unwrap(),
            serde_json::to_string(&serde_json::to_value(st).unwrap()).unwrap()
        );
    }
}
