//! SOAP user calls: `resolveUsername` and `getUser`.

use super::logon::{is_everyone, resolve_user};
use super::writer::Response;
use crate::entryid;
use crate::kcerr::KcErr;
use crate::node::Node;
use crate::session::Session;
use crate::storage::{Object, ObjectKind, EVERYONE_ID, SYSTEM_ID};

/// KC `objectclass_t` values written in `user.ulObjClass`.
const ACTIVE_USER: u32 = 0x0001_0001;
const NONACTIVE_USER: u32 = 0x0001_0002;

/// `resolveUsername`: a login (or Everyone) to its id and address-book entry id.
pub(super) async fn resolve_username(node: &Node, login: String) -> String {
    // The response struct is `ns:resolveUserResponse`.
    let mut r = Response::new("resolveUser");
    let res: Result<Object, KcErr> = if is_everyone(&login) {
        node.db(|s| s.object(EVERYONE_ID))
            .await
            .and_then(|o| o.ok_or(KcErr::NOT_FOUND))
    } else {
        resolve_user(node, &login).await.map(|u| u.object)
    };
    match res {
        Ok(o) => {
            let ty = if o.kind == ObjectKind::Group {
                entryid::MAPI_DISTLIST
            } else {
                entryid::MAPI_MAILUSER
            };
            r.u32("ulUserId", o.id as u32)
                .b64("sUserId", &entryid::ab_eid(ty, o.id as u32, &o.external_id))
                .u32("er", 0);
        }
        Err(e) => {
            r.u32("ulUserId", 0).b64("sUserId", &[]).u32("er", e.wire());
        }
    }
    r.finish()
}

/// `getUser`: a user's details by id or entry id (the session user by default).
pub(super) async fn get_user(
    node: &Node,
    session: &Session,
    user_id: u32,
    eid: Option<Vec<u8>>,
) -> String {
    let id = match eid.as_deref().map(entryid::parse_ab_eid) {
        Some(Some(id)) => i64::from(id),
        Some(None) => return user_error(KcErr::INVALID_ENTRYID),
        None if user_id == 0 => session.user_id,
        None => i64::from(user_id),
    };
    let obj = match node.db(move |s| s.object(id)).await {
        Ok(Some(o)) if o.kind == ObjectKind::User => o,
        Ok(_) => return user_error(KcErr::NOT_FOUND),
        Err(e) => return user_error(e),
    };
    let home = if obj.id == SYSTEM_ID {
        None
    } else if node.settings.distributed {
        node.plugin
            .user(&obj.login)
            .await
            .ok()
            .and_then(|u| u.home_server)
    } else {
        Some(node.settings.server_name.clone())
    };
    let mut r = Response::new("getUser");
    r.open("lpsUser")
        .u32("ulUserId", obj.id as u32)
        .str("lpszUsername", Some(&obj.login))
        .str("lpszPassword", None)
        .str("lpszMailAddress", Some(&obj.email))
        .str("lpszFullName", Some(&obj.fullname))
        .str("lpszServername", home.as_deref())
        .u32("ulIsNonActive", u32::from(obj.nonactive))
        .u32("ulIsAdmin", obj.admin_level)
        .u32("ulIsABHidden", u32::from(obj.hidden))
        .u32("ulCapacity", 0)
        .u32(
            "ulObjClass",
            if obj.nonactive {
                NONACTIVE_USER
            } else {
                ACTIVE_USER
            },
        )
        .b64(
            "sUserId",
            &entryid::ab_eid(entryid::MAPI_MAILUSER, obj.id as u32, &obj.external_id),
        )
        .close();
    r.u32("er", 0);
    r.finish()
}

/// A `getUser` answer carrying only an error.
pub(super) fn user_error(er: KcErr) -> String {
    let mut r = Response::new("getUser");
    r.str("lpsUser", None).u32("er", er.wire());
    r.finish()
}
