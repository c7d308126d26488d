//! The node's SOAP service: parse a request, check its session, dispatch it
//! to the logon (`logon.rs`), store (`store.rs`) or user (`users.rs`) calls,
//! and answer. Transport-independent: the HTTP layer hands in the request
//! body and what it knows about the connection.

use tracing::info;

use super::logon::logon;
use super::ops::{self, Request};
use super::store::{
    get_public_store, get_server_details, get_store, resolve_pseudo_url, resolve_user_store,
};
use super::users::{get_user, resolve_username, user_error};
use super::writer::{fault, Response};
use super::xml::{self, ParseError};
use crate::kcerr::KcErr;
use crate::node::{now, ConnInfo, Node, RequestMeta};

/// An HTTP answer to one SOAP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapReply {
    pub status: u16,
    pub body: String,
}

impl SoapReply {
    pub(super) fn ok(body: String) -> SoapReply {
        SoapReply { status: 200, body }
    }

    /// A Fault: HTTP 500, as gSOAP answers.
    pub fn fault(client: bool, reason: &str) -> SoapReply {
        SoapReply {
            status: 500,
            body: fault(client, reason),
        }
    }
}

/// Parse, dispatch and answer one SOAP request.
pub async fn handle(node: &Node, conn: &ConnInfo, meta: &RequestMeta, body: &[u8]) -> SoapReply {
    let op = match xml::parse_request(body, &node.settings.limits) {
        Ok(op) => op,
        Err(e) => {
            let client = !matches!(e, ParseError::BodyTooLarge);
            info!(error = %e, "bad SOAP request");
            return SoapReply::fault(client, &e.to_string());
        }
    };
    let req = match ops::decode(&op) {
        Ok(r) => r,
        Err(e) => return SoapReply::fault(true, &e.to_string()),
    };
    tracing::debug!(op = req.op_name(), "SOAP call");
    dispatch(node, conn, meta, req).await
}

/// Check the session (all calls but `logon`) and run the call.
pub(super) async fn dispatch(
    node: &Node,
    conn: &ConnInfo,
    meta: &RequestMeta,
    req: Request,
) -> SoapReply {
    let source = node.source(conn, meta);
    if let Request::Logon(l) = &req {
        return SoapReply::ok(logon(node, conn, &source, l).await);
    }
    if let Request::Unknown(name) = &req {
        return SoapReply::fault(true, &format!("Method '{name}' not implemented"));
    }
    let op = req.op_name().to_owned();
    let session = match req.session() {
        Some(id) => match node.sessions.validate(id, &source) {
            Ok(s) => s,
            Err(e) => return SoapReply::ok(error_response(&op, e)),
        },
        None => return SoapReply::ok(error_response(&op, KcErr::END_OF_SESSION)),
    };
    let body = match req {
        Request::Logoff { session: id } => {
            node.sessions.remove(id);
            let uid = session.user_id;
            let now = now();
            let _ = node.db(move |s| s.record_logon(uid, false, now)).await;
            let mut r = Response::new("logoff");
            r.u32("result", 0);
            r.finish()
        }
        Request::GetStore { entry_id, .. } => get_store(node, conn, &session, entry_id).await,
        Request::GetPublicStore { flags, .. } => get_public_store(node, conn, flags).await,
        Request::ResolveUserStore {
            username,
            type_mask,
            flags,
            ..
        } => resolve_user_store(node, conn, &session, username, type_mask, flags).await,
        Request::ResolvePseudoUrl { url, .. } => resolve_pseudo_url(node, conn, url).await,
        Request::GetServerDetails { names, flags, .. } => {
            get_server_details(node, conn, names, flags).await
        }
        Request::ResolveUsername { username, .. } => {
            resolve_username(node, username.unwrap_or_default()).await
        }
        Request::GetUser {
            user_id, entry_id, ..
        } => get_user(node, &session, user_id, entry_id).await,
        Request::Logon(_) | Request::Unknown(_) => {
            return SoapReply::fault(false, "internal dispatch error")
        }
    };
    SoapReply::ok(body)
}

// ---- logon -------------------------------------------------------------

/// A response carrying only an error, in the shape of the operation's response.
fn error_response(op: &str, er: KcErr) -> String {
    match op {
        "logoff" => {
            let mut r = Response::new("logoff");
            r.u32("result", er.wire());
            r.finish()
        }
        // Both answer with `ns:getStoreResponse`.
        "getStore" | "getPublicStore" => {
            let mut r = Response::new("getStore");
            r.u32("er", er.wire())
                .b64("sStoreId", &[])
                .b64("sRootId", &[])
                .b64("guid", &[])
                .str("lpszServerPath", None);
            r.finish()
        }
        "resolveUserStore" => {
            let mut r = Response::new(op);
            r.u32("ulUserId", 0)
                .b64("sUserId", &[])
                .b64("sStoreId", &[])
                .b64("guid", &[])
                .u32("er", er.wire())
                .str("lpszServerPath", None);
            r.finish()
        }
        "resolvePseudoUrl" => {
            let mut r = Response::new(op);
            r.str("lpszServerPath", None)
                .bool("bIsPeer", false)
                .u32("er", er.wire());
            r.finish()
        }
        "getServerDetails" => {
            let mut r = Response::new(op);
            r.open_array("sServerList", "ns:server", 0).close();
            r.u32("er", er.wire());
            r.finish()
        }
        "resolveUsername" => {
            let mut r = Response::new("resolveUser");
            r.u32("ulUserId", 0)
                .b64("sUserId", &[])
                .u32("er", er.wire());
            r.finish()
        }
        "getUser" => user_error(er),
        _ => {
            let mut r = Response::new(op);
            r.u32("er", er.wire());
            r.finish()
        }
    }
}
