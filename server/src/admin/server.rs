//! The node side of the admin API (see `proto.rs`).

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::proto::*;
use crate::entryid;
use crate::kcerr::KcErr;
use crate::node::{ConnInfo, Node, RequestMeta};
use crate::storage::{
    Object, ObjectData, ObjectKind, Quota, StorageError, StoreType, EVERYONE_ID, SYSTEM_ID,
};
use crate::users::password;

type Out = (StatusCode, String);

fn encode<T: Serialize>(node: &Node, r: Result<T, (KcErr, String)>) -> Out {
    let (status, reply) = match r {
        Ok(data) => (
            StatusCode::OK,
            Reply {
                node: node.settings.server_name.clone(),
                error: None,
                data: Some(data),
            },
        ),
        Err((er, message)) => (
            if er == KcErr::END_OF_SESSION || er == KcErr::NO_ACCESS {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            },
            Reply {
                node: node.settings.server_name.clone(),
                error: Some(ReplyError {
                    name: format!("KCERR_{}", er.name()),
                    code: er.wire(),
                    message,
                }),
                data: None,
            },
        ),
    };
    let json = serde_json::to_string(&reply).unwrap_or_else(|_| "{}".into());
    (status, json)
}

fn e(er: KcErr) -> (KcErr, String) {
    (er, er.name().to_ascii_lowercase().replace('_', " "))
}

fn msg(er: KcErr, m: impl Into<String>) -> (KcErr, String) {
    (er, m.into())
}

type R<T> = Result<T, (KcErr, String)>;

fn parse<T: DeserializeOwned>(body: &[u8]) -> R<Envelope<T>> {
    serde_json::from_slice(body)
        .map_err(|err| msg(KcErr::INVALID_PARAMETER, format!("bad request: {err}")))
}

fn row(o: &Object, home: Option<String>) -> UserRow {
    UserRow {
        login: o.login.clone(),
        fullname: o.fullname.clone(),
        email: o.email.clone(),
        admin: o.admin_level,
        nonactive: o.nonactive,
        hidden: o.hidden,
        home_server: home,
    }
}

/// Handle `/kc-admin/v1/<op>`.
pub async fn handle(
    node: &Node,
    conn: &ConnInfo,
    meta: &RequestMeta,
    op: &str,
    body: &[u8],
) -> Out {
    let session: R<Envelope<Empty>> = parse(body);
    let session = match session {
        Ok(s) => s.session,
        Err(err) => return encode::<()>(node, Err(err)),
    };
    let source = node.source(conn, meta);
    match node.sessions.validate(session, &source) {
        Ok(s) if s.is_admin() => {}
        Ok(_) => {
            return encode::<()>(
                node,
                Err(msg(KcErr::NO_ACCESS, "administrator rights required")),
            )
        }
        Err(er) => return encode::<()>(node, Err(e(er))),
    }
    match op {
        "users" => encode(node, list_users(node).await),
        "groups" => encode(node, list_groups(node).await),
        "user-details" => match parse::<Name>(body) {
            Ok(r) => encode(node, user_details(node, &r.body.name).await),
            Err(err) => encode::<()>(node, Err(err)),
        },
        "group-details" => match parse::<Name>(body) {
            Ok(r) => encode(node, group_details(node, &r.body.name).await),
            Err(err) => encode::<()>(node, Err(err)),
        },
        "create-user" => match parse::<UserChange>(body) {
            Ok(r) => encode(node, create_user(node, r.body).await),
            Err(err) => encode::<()>(node, Err(err)),
        },
        "update-user" => match parse::<UserChange>(body) {
            Ok(r) => encode(node, update_user(node, r.body).await),
            Err(err) => encode::<()>(node, Err(err)),
        },
        "delete-user" => match parse::<Name>(body) {
            Ok(r) => encode(
                node,
                delete_object(node, ObjectKind::User, &r.body.name).await,
            ),
            Err(err) => encode::<()>(node, Err(err)),
        },
        "create-group" => match parse::<Name>(body) {
            Ok(r) => encode(node, create_group(node, &r.body.name).await),
            Err(err) => encode::<()>(node, Err(err)),
        },
        "delete-group" => match parse::<Name>(body) {
            Ok(r) => encode(
                node,
                delete_object(node, ObjectKind::Group, &r.body.name).await,
            ),
            Err(err) => encode::<()>(node, Err(err)),
        },
        "add-member" | "remove-member" => match parse::<Membership>(body) {
            Ok(r) => encode(node, membership(node, &r.body, op == "add-member").await),
            Err(err) => encode::<()>(node, Err(err)),
        },
        "create-public-store" => encode(node, create_public_store(node).await),
        "list-orphans" => encode(node, list_orphans(node).await),
        "purge-softdelete" => match parse::<PurgeSoftdelete>(body) {
            Ok(r) => {
                let cutoff = crate::purge::admin_cutoff(r.body.days, crate::node::now());
                let res = crate::purge::purge_before(node, cutoff)
                    .await
                    .map(|items| Purged { items })
                    .map_err(e);
                encode(node, res)
            }
            Err(err) => encode::<()>(node, Err(err)),
        },
        _ => encode::<()>(
            node,
            Err(msg(
                KcErr::NOT_IMPLEMENTED,
                format!("unknown admin operation '{op}'"),
            )),
        ),
    }
}

async fn db<T: Send + 'static>(
    node: &Node,
    f: impl FnOnce(&dyn crate::storage::Storage) -> Result<T, StorageError> + Send + 'static,
) -> R<T> {
    node.db(f).await.map_err(e)
}

async fn list_users(node: &Node) -> R<Vec<UserRow>> {
    // Mirror every plugin user first, as KC's `-l` does (it also creates stores).
    if node.plugin.name() != "db" {
        let users = node
            .plugin
            .users()
            .await
            .map_err(|er| msg(KcErr::PLUGIN_ERROR, er.to_string()))?;
        let mut rows = vec![];
        if let Some(sys) = db(node, |s| s.object(SYSTEM_ID)).await? {
            rows.push(row(&sys, None));
        }
        for u in users {
            let o = crate::home::ensure_local(node, &u).await.map_err(e)?;
            // As KC's `-l`, this creates the stores of users homed on this node.
            if matches!(crate::home::is_home(node, Some(&u)), Ok(true)) {
                if let Err(er) = crate::home::private_store(node, &o).await {
                    tracing::warn!(user = %o.login, error = %er, "cannot create store");
                }
            }
            rows.push(row(&o, u.home_server.clone()));
        }
        return Ok(rows);
    }
    let objs = db(node, |s| s.objects(ObjectKind::User)).await?;
    Ok(objs.iter().map(|o| row(o, None)).collect())
}

async fn list_groups(node: &Node) -> R<Vec<UserRow>> {
    let objs = db(node, |s| s.objects(ObjectKind::Group)).await?;
    Ok(objs.iter().map(|o| row(o, None)).collect())
}

async fn find(node: &Node, kind: ObjectKind, name: &str) -> R<Object> {
    if kind == ObjectKind::User
        && node.plugin.name() != "db"
        && !name.eq_ignore_ascii_case("SYSTEM")
    {
        let info = node
            .plugin
            .user(name)
            .await
            .map_err(|_| msg(KcErr::NOT_FOUND, format!("user '{name}' not found")))?;
        return crate::home::ensure_local(node, &info).await.map_err(e);
    }
    let n = name.to_owned();
    db(node, move |s| s.object_by_login(kind, &n))
        .await?
        .ok_or_else(|| msg(KcErr::NOT_FOUND, format!("{kind} '{name}' not found")))
}

async fn user_details(node: &Node, name: &str) -> R<UserDetails> {
    let o = find(node, ObjectKind::User, name).await?;
    let home = if node.settings.distributed && o.id != SYSTEM_ID {
        node.plugin
            .user(&o.login)
            .await
            .ok()
            .and_then(|u| u.home_server)
    } else {
        None
    };
    let id = o.id;
    let (store, groups) = db(node, move |s| {
        Ok((s.store_of(id, StoreType::Private)?, s.groups_of(id)?))
    })
    .await?;
    let mut group_names = vec!["Everyone".to_owned()];
    group_names.extend(
        groups
            .into_iter()
            .filter(|g| g.id != EVERYONE_ID)
            .map(|g| g.login),
    );
    Ok(UserDetails {
        user: row(&o, home),
        quota: o.quota,
        default_quota: node.settings.default_quota,
        store_size: store.as_ref().map(|s| s.size),
        has_store: store.is_some(),
        last_logon: o.last_logon,
        last_logoff: o.last_logoff,
        groups: group_names,
        enabled_features: o.enabled_features.clone(),
        disabled_features: o.disabled_features.clone(),
    })
}

async fn group_details(node: &Node, name: &str) -> R<GroupDetails> {
    let g = find(node, ObjectKind::Group, name).await?;
    let id = g.id;
    let members = if id == EVERYONE_ID {
        db(node, |s| s.objects(ObjectKind::User)).await?
    } else {
        db(node, move |s| s.members(id)).await?
    };
    Ok(GroupDetails {
        name: g.login.clone(),
        fullname: g.fullname.clone(),
        email: g.email.clone(),
        hidden: g.hidden,
        members: members
            .iter()
            .filter(|m| m.id != SYSTEM_ID)
            .map(|m| row(m, None))
            .collect(),
    })
}

fn require_writable(node: &Node) -> R<()> {
    if node.plugin.writable() {
        Ok(())
    } else {
        Err(msg(
            KcErr::NO_SUPPORT,
            format!(
                "the {} user plugin does not allow changes; edit the directory instead",
                node.plugin.name()
            ),
        ))
    }
}

fn valid_name(name: &str) -> R<()> {
    if name.is_empty() || name.len() > 255 || name.chars().any(|c| c.is_control()) {
        return Err(msg(KcErr::INVALID_PARAMETER, "invalid name"));
    }
    if name.eq_ignore_ascii_case("SYSTEM") || name.eq_ignore_ascii_case("Everyone") {
        return Err(msg(
            KcErr::COLLISION,
            format!("'{name}' is a built-in object"),
        ));
    }
    Ok(())
}

async fn create_user(node: &Node, c: UserChange) -> R<serde_json::Value> {
    require_writable(node)?;
    valid_name(&c.login)?;
    let pass = c
        .password
        .clone()
        .ok_or_else(|| msg(KcErr::INVALID_PARAMETER, "a password is required"))?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pass))
        .await
        .map_err(|_| e(KcErr::UNKNOWN))?
        .map_err(|er| msg(KcErr::UNKNOWN, er.to_string()))?;
    let data = ObjectData {
        login: c.login.clone(),
        fullname: c.fullname.clone().unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
        admin_level: c.admin.unwrap_or(0).min(2),
        nonactive: c.nonactive.unwrap_or(false),
        hidden: false,
    };
    let login = c.login.clone();
    let id = db(node, move |s| {
        let id = s.create_object(ObjectKind::User, "db", &login, &data)?;
        s.set_password_hash(id, &hash)?;
        Ok(id)
    })
    .await
    .map_err(|(er, m)| {
        if er == KcErr::COLLISION {
            msg(er, format!("user '{}' already exists", c.login))
        } else {
            (er, m)
        }
    })?;
    apply_extras(node, id, &c).await?;
    Ok(
        serde_json::json!({ "id": id, "entryid": hex::encode(entryid::ab_eid(entryid::MAPI_MAILUSER, id as u32, &c.login)) }),
    )
}

async fn apply_extras(node: &Node, id: i64, c: &UserChange) -> R<()> {
    let o = db(node, move |s| s.object(id))
        .await?
        .ok_or_else(|| e(KcErr::NOT_FOUND))?;
    if c.quota_override.is_some()
        || c.quota_warn.is_some()
        || c.quota_soft.is_some()
        || c.quota_hard.is_some()
    {
        let q = Quota {
            override_default: c.quota_override.unwrap_or(o.quota.override_default),
            warn: c.quota_warn.unwrap_or(o.quota.warn),
            soft: c.quota_soft.unwrap_or(o.quota.soft),
            hard: c.quota_hard.unwrap_or(o.quota.hard),
        };
        db(node, move |s| s.set_quota(id, &q)).await?;
    }
    if !c.enable_features.is_empty() || !c.disable_features.is_empty() {
        let mut en = o.enabled_features.clone();
        let mut dis = o.disabled_features.clone();
        for f in &c.enable_features {
            let f = f.to_ascii_lowercase();
            dis.retain(|x| *x != f);
            if !en.contains(&f) {
                en.push(f);
            }
        }
        for f in &c.disable_features {
            let f = f.to_ascii_lowercase();
            en.retain(|x| *x != f);
            if !dis.contains(&f) {
                dis.push(f);
            }
        }
        db(node, move |s| s.set_features(id, &en, &dis)).await?;
    }
    Ok(())
}

async fn update_user(node: &Node, c: UserChange) -> R<()> {
    require_writable(node)?;
    let o = find(node, ObjectKind::User, &c.login).await?;
    if o.id == SYSTEM_ID {
        return Err(msg(KcErr::NO_ACCESS, "SYSTEM cannot be changed"));
    }
    if let Some(n) = &c.new_login {
        valid_name(n)?;
    }
    let data = ObjectData {
        login: c.new_login.clone().unwrap_or_else(|| o.login.clone()),
        fullname: c.fullname.clone().unwrap_or_else(|| o.fullname.clone()),
        email: c.email.clone().unwrap_or_else(|| o.email.clone()),
        admin_level: c.admin.map(|a| a.min(2)).unwrap_or(o.admin_level),
        nonactive: c.nonactive.unwrap_or(o.nonactive),
        hidden: o.hidden,
    };
    let id = o.id;
    db(node, move |s| s.update_object(id, &data)).await?;
    if let Some(pass) = c.password.clone() {
        let hash = tokio::task::spawn_blocking(move || password::hash(&pass))
            .await
            .map_err(|_| e(KcErr::UNKNOWN))?
            .map_err(|er| msg(KcErr::UNKNOWN, er.to_string()))?;
        db(node, move |s| s.set_password_hash(id, &hash)).await?;
    }
    apply_extras(node, id, &c).await
}

async fn delete_object(node: &Node, kind: ObjectKind, name: &str) -> R<()> {
    require_writable(node)?;
    valid_name(name)?;
    let o = find(node, kind, name).await?;
    let id = o.id;
    db(node, move |s| s.delete_object(id)).await
}

async fn create_group(node: &Node, name: &str) -> R<()> {
    require_writable(node)?;
    valid_name(name)?;
    let data = ObjectData {
        login: name.to_owned(),
        fullname: name.to_owned(),
        ..Default::default()
    };
    let n = name.to_owned();
    db(node, move |s| {
        s.create_object(ObjectKind::Group, "db", &n, &data)
    })
    .await
    .map(|_| ())
    .map_err(|(er, m)| {
        if er == KcErr::COLLISION {
            msg(er, format!("group '{name}' already exists"))
        } else {
            (er, m)
        }
    })
}

async fn membership(node: &Node, m: &Membership, add: bool) -> R<()> {
    require_writable(node)?;
    let g = find(node, ObjectKind::Group, &m.group).await?;
    if g.id == EVERYONE_ID {
        return Err(msg(
            KcErr::NO_ACCESS,
            "membership of Everyone cannot be changed",
        ));
    }
    let u = find(node, ObjectKind::User, &m.user).await?;
    let (gid, uid) = (g.id, u.id);
    let r = if add {
        db(node, move |s| s.add_member(gid, uid)).await
    } else {
        db(node, move |s| s.remove_member(gid, uid)).await
    };
    r.map_err(|(er, mm)| match er {
        KcErr::COLLISION => msg(
            er,
            format!("user '{}' is already a member of '{}'", m.user, m.group),
        ),
        KcErr::NOT_FOUND => msg(
            er,
            format!("user '{}' is not a member of '{}'", m.user, m.group),
        ),
        _ => (er, mm),
    })
}

async fn create_public_store(node: &Node) -> R<String> {
    if node.settings.distributed {
        match node.plugin.public_store_server().await {
            Ok(Some(s)) if !s.eq_ignore_ascii_case(&node.settings.server_name) => {
                return Err(msg(
                    KcErr::UNABLE_TO_COMPLETE,
                    format!("the public store belongs on node '{s}' (kopanoContainsPublic)"),
                ))
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(msg(
                    KcErr::NOT_FOUND,
                    "no node has kopanoContainsPublic set",
                ))
            }
            Err(er) => return Err(msg(KcErr::PLUGIN_ERROR, er.to_string())),
        }
    }
    let st = db(node, |s| s.create_store(StoreType::Public, None, ""))
        .await
        .map_err(|(er, m)| {
            if er == KcErr::COLLISION {
                msg(er, "the public store already exists")
            } else {
                (er, m)
            }
        })?;
    Ok(hex::encode_upper(st.guid))
}

async fn list_orphans(node: &Node) -> R<Orphans> {
    let (stores, users) = db(node, |s| {
        let stores = s.orphan_stores()?;
        let mut without = vec![];
        for u in s.objects(ObjectKind::User)? {
            if u.id != SYSTEM_ID && s.store_of(u.id, StoreType::Private)?.is_none() {
                without.push(u.login);
            }
        }
        Ok((stores, without))
    })
    .await?;
    Ok(Orphans {
        stores: stores
            .into_iter()
            .map(|s| OrphanStore {
                guid: hex::encode_upper(s.guid),
                owner_name: s.owner_name,
                modified: s.modified,
                size: s.size,
            })
            .collect(),
        users_without_store: users,
    })
}
