//! SOAP `logon`: KC's authentication order (TLS client certificate, unix
//! socket credentials, password), impersonation, the audit log, session
//! creation, and the user resolution the other calls share.

use std::sync::atomic::Ordering;

use tracing::warn;

use super::ops::Logon;
use super::writer::Response;
use crate::audit::{self, AuthMethod};
use crate::caps::{self, cap, logon_flag};
use crate::home;
use crate::kcerr::KcErr;
use crate::node::{now, ConnInfo, Node, SERVER_VERSION};
use crate::redirect::ConnKind;
use crate::session::NewSession;
use crate::storage::{Object, SYSTEM_ID};
use crate::users::UserInfo;

/// The authenticated identity of a logon.
pub(super) struct AuthUser {
    pub(super) object: Object,
    pub(super) info: Option<UserInfo>,
}

/// KC's built-in SYSTEM user (any case).
pub(super) fn is_system(login: &str) -> bool {
    login.eq_ignore_ascii_case("SYSTEM")
}

/// KC's built-in Everyone group (any case).
pub(super) fn is_everyone(login: &str) -> bool {
    login.eq_ignore_ascii_case("Everyone")
}

/// The user name of a local uid (getpwuid_r).
pub(super) fn uid_to_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: zeroed passwd is a valid out-parameter; buf outlives the call and
    // its length is passed; result points either to pwd or is null.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// Clients before KC 6 (`lpszVersion` major below 6) are refused.
pub(super) fn version_too_old(v: &str) -> bool {
    let first = v.split([',', '.']).next().unwrap_or("").trim();
    matches!(first.parse::<u32>(), Ok(major) if major < 6)
}

/// Whether a unix-socket peer may log on as `username` without a password:
/// the server's own uid, a `local_admin_users` account, or (with
/// `allow_local_users`) the same user.
pub(super) fn socket_trusted(node: &Node, conn: &ConnInfo, username: &str) -> bool {
    let Some(uid) = conn.peer_uid else {
        return false;
    };
    // SAFETY: geteuid has no preconditions.
    if uid == unsafe { libc::geteuid() } {
        return true;
    }
    let Some(name) = uid_to_name(uid) else {
        return false;
    };
    if node.settings.local_admin_users.contains(&name) {
        return true;
    }
    node.settings.allow_local_users && name == username
}

/// Resolve a login to a local object (SYSTEM, or a plugin user mirrored locally).
pub(super) async fn resolve_user(node: &Node, login: &str) -> Result<AuthUser, KcErr> {
    if login.is_empty() {
        return Err(KcErr::NOT_FOUND);
    }
    if is_system(login) {
        let o = node
            .db(|s| s.object(SYSTEM_ID))
            .await?
            .ok_or(KcErr::NOT_FOUND)?;
        return Ok(AuthUser {
            object: o,
            info: None,
        });
    }
    let (info, object) = home::user(node, login).await?;
    Ok(AuthUser {
        object,
        info: Some(info),
    })
}

/// `logon`: authenticate (certificate, socket credentials, then password),
/// impersonate when asked and allowed, audit, create the private store of a
/// user homed here, and open a session.
pub(super) async fn logon(node: &Node, conn: &ConnInfo, source: &str, l: &Logon) -> String {
    let reply = |er: KcErr| {
        let mut r = Response::new("logon");
        r.u32("er", er.wire())
            .u64("ulSessionId", 0)
            .str("lpszVersion", None)
            .u32("ulCapabilities", 0)
            .b64("sLicenseResponse", &[])
            .b64("sServerGuid", &[]);
        r.finish()
    };
    if l.capabilities & cap::UNICODE == 0 {
        return reply(KcErr::BAD_CHARWIDTH);
    }
    if l.version.as_deref().is_some_and(version_too_old) {
        return reply(KcErr::INVALID_VERSION);
    }
    let program = l.client_app.clone().unwrap_or_default();
    let audit_user = !is_system(&l.username);

    // KC's order: certificate, then socket credentials, then password.
    let mut method = None;
    if conn.kind == ConnKind::Https {
        if let (Some(cert), Some(certs)) = (&conn.peer_cert, &node.certs) {
            if certs.trusted(cert) {
                method = Some(AuthMethod::Certificate);
            }
        }
    }
    if method.is_none()
        && conn.kind == ConnKind::Unix
        && l.flags & logon_flag::NO_UID_AUTH == 0
        && socket_trusted(node, conn, &l.username)
    {
        method = Some(AuthMethod::Socket);
    }
    let authed: Result<AuthUser, KcErr> = match method {
        Some(_) => resolve_user(node, &l.username).await,
        None if is_system(&l.username) || l.username.is_empty() => Err(KcErr::LOGON_FAILED),
        None => match node.plugin.authenticate(&l.username, &l.password).await {
            Ok(info) => home::ensure_local(node, &info)
                .await
                .map(|object| AuthUser {
                    object,
                    info: Some(info),
                }),
            Err(e) => Err(home::plugin_err(e)),
        },
    };
    let method = method.unwrap_or(AuthMethod::Password);
    let mut user = match authed {
        Ok(u) if !u.object.nonactive => u,
        Ok(_) | Err(_) => {
            node.stats.logon_failures.fetch_add(1, Ordering::Relaxed);
            if audit_user {
                node.audit
                    .write(&audit::auth_failed_line(&l.username, source, &program));
            }
            return reply(KcErr::LOGON_FAILED);
        }
    };
    if audit_user {
        node.audit.write(&audit::auth_ok_line(
            &user.object.login,
            source,
            method,
            &program,
        ));
    }
    if let Some(target) = l.impersonate.as_deref() {
        let authenticator = user.object.login.clone();
        let allowed = user.object.admin_level > 0 || user.object.id == SYSTEM_ID;
        let resolved = if allowed {
            resolve_user(node, target).await.ok()
        } else {
            None
        };
        match resolved {
            Some(t) if !t.object.nonactive => {
                node.audit.write(&audit::impersonate_line(
                    true,
                    &t.object.login,
                    source,
                    &program,
                    &authenticator,
                ));
                user = t;
            }
            _ => {
                node.audit.write(&audit::impersonate_line(
                    false,
                    target,
                    source,
                    &program,
                    &authenticator,
                ));
                node.stats.logon_failures.fetch_add(1, Ordering::Relaxed);
                return reply(KcErr::LOGON_FAILED);
            }
        }
    }
    if user.object.id != SYSTEM_ID && matches!(home::is_home(node, user.info.as_ref()), Ok(true)) {
        if let Err(e) = home::private_store(node, &user.object).await {
            warn!(user = %user.object.login, error = %e, "cannot create store");
        }
    }
    let granted = caps::negotiate(l.capabilities, false);
    let admin_level = if user.object.id == SYSTEM_ID {
        2
    } else {
        user.object.admin_level
    };
    let id = match node.sessions.create(NewSession {
        user_id: user.object.id,
        login: user.object.login.clone(),
        admin_level,
        source: source.to_owned(),
        capabilities: granted,
        client_app: program,
    }) {
        Ok(id) => id,
        Err(e) => return reply(e),
    };
    node.stats.logons.fetch_add(1, Ordering::Relaxed);
    let uid = user.object.id;
    let t = now();
    let _ = node.db(move |s| s.record_logon(uid, true, t)).await;
    let mut r = Response::new("logon");
    r.u32("er", 0)
        .u64("ulSessionId", id)
        .str("lpszVersion", Some(&format!("0,{SERVER_VERSION}")))
        .u32("ulCapabilities", granted)
        .b64("sLicenseResponse", &[])
        .b64("sServerGuid", &node.guid);
    r.finish()
}

// ---- redirects -----------------------------------------------------------
