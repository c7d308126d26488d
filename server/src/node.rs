//! The store node's SOAP service: authentication, sessions, and the store
//! calls with KC's multi-server redirects. Transport-independent: the HTTP
//! layer hands in the request body and what it knows about the connection.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tracing::{info, warn};

use crate::audit::{self, AuditLog, AuthMethod};
use crate::caps::{self, cap, logon_flag, server_details as sd, store_type};
use crate::entryid;
use crate::kcerr::KcErr;
use crate::redirect::{best_server_path, ConnKind};
use crate::session::{NewSession, Session, SessionManager};
use crate::soap::ops::{self, Logon, Request};
use crate::soap::writer::{fault, Response};
use crate::soap::xml::{self, Limits, ParseError};
use crate::storage::{
    Object, ObjectData, ObjectKind, Quota, Storage, StorageError, Store, StoreType, EVERYONE_ID,
    SYSTEM_ID,
};
use crate::users::{PluginError, UserInfo, UserPlugin};

/// The server version reported in `lpszVersion` (after KC's `"0,"` prefix).
pub const SERVER_VERSION: &str = "8,7,0,0";

/// KC `objectclass_t` values written in `user.ulObjClass`.
const ACTIVE_USER: u32 = 0x0001_0001;
const NONACTIVE_USER: u32 = 0x0001_0002;

/// Node settings taken from server.cfg.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server_name: String,
    pub distributed: bool,
    /// `proxy_header`: empty (off), `*` (always), or a header name.
    pub proxy_header: String,
    pub session_ip_check: bool,
    pub session_timeout: Duration,
    pub local_admin_users: Vec<String>,
    pub allow_local_users: bool,
    pub disabled_features: Vec<String>,
    /// `server_pipe_name`, used as the source address of socket clients.
    pub pipe_path: Option<PathBuf>,
    pub limits: Limits,
    /// server.cfg `quota_warn` / `quota_soft` / `quota_hard`, in bytes.
    pub default_quota: Quota,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            server_name: String::new(),
            distributed: false,
            proxy_header: String::new(),
            session_ip_check: true,
            session_timeout: Duration::from_secs(300),
            local_admin_users: vec!["root".into()],
            allow_local_users: true,
            disabled_features: vec!["imap".into(), "pop3".into()],
            pipe_path: None,
            limits: Limits::default(),
            default_quota: Quota::default(),
        }
    }
}

/// Decides whether a TLS client certificate is trusted (KC `sslkeys_path`).
pub trait CertAuth: Send + Sync {
    fn trusted(&self, cert: &CertificateDer<'_>) -> bool;
}

/// What the transport knows about one connection. Lives as long as the connection.
#[derive(Debug)]
pub struct ConnInfo {
    pub kind: ConnKind,
    /// Peer IP address (no port), or `file://<socket>` for the unix socket.
    pub peer: String,
    /// Unix-socket peer uid (SO_PEERCRED).
    pub peer_uid: Option<u32>,
    /// TLS client certificate, when one was sent.
    pub peer_cert: Option<CertificateDer<'static>>,
    proxied: AtomicBool,
}

impl ConnInfo {
    pub fn new(
        kind: ConnKind,
        peer: String,
        peer_uid: Option<u32>,
        peer_cert: Option<CertificateDer<'static>>,
    ) -> ConnInfo {
        ConnInfo {
            kind,
            peer,
            peer_uid,
            peer_cert,
            proxied: AtomicBool::new(false),
        }
    }

    /// The proxy header was seen on this connection; sticky until it closes.
    pub fn mark_proxied(&self) {
        self.proxied.store(true, Ordering::Relaxed);
    }

    pub fn seen_proxy_header(&self) -> bool {
        self.proxied.load(Ordering::Relaxed)
    }
}

/// Per-request facts from the HTTP headers.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// First address of `X-Forwarded-For`.
    pub forwarded_for: Option<String>,
}

/// An HTTP answer to one SOAP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapReply {
    pub status: u16,
    pub body: String,
}

impl SoapReply {
    fn ok(body: String) -> SoapReply {
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

/// Counters exposed in logs and tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub redirects: AtomicU64,
    pub logons: AtomicU64,
    pub logon_failures: AtomicU64,
}

pub struct Node {
    pub settings: Settings,
    pub storage: Arc<dyn Storage>,
    pub plugin: Arc<dyn UserPlugin>,
    pub sessions: SessionManager,
    pub audit: AuditLog,
    pub certs: Option<Arc<dyn CertAuth>>,
    pub guid: [u8; 16],
    pub stats: Stats,
    /// `proxy_header`, reloadable on SIGHUP (starts as `settings.proxy_header`).
    pub proxy_header: parking_lot::RwLock<String>,
}

/// The authenticated identity of a logon.
struct AuthUser {
    object: Object,
    info: Option<UserInfo>,
}

fn storage_err(e: StorageError) -> KcErr {
    match e {
        StorageError::Collision => KcErr::COLLISION,
        StorageError::NotFound => KcErr::NOT_FOUND,
        other => {
            warn!(error = %other, "database error");
            KcErr::DATABASE_ERROR
        }
    }
}

fn plugin_err(e: PluginError) -> KcErr {
    match e {
        PluginError::NotFound => KcErr::NOT_FOUND,
        PluginError::InvalidCredentials => KcErr::LOGON_FAILED,
        PluginError::NotSupported(_) => KcErr::NO_SUPPORT,
        PluginError::Unavailable(m) => {
            warn!(error = %m, "user plugin unavailable");
            KcErr::PLUGIN_ERROR
        }
    }
}

fn is_system(login: &str) -> bool {
    login.eq_ignore_ascii_case("SYSTEM")
}

fn is_everyone(login: &str) -> bool {
    login.eq_ignore_ascii_case("Everyone")
}

/// The user name of a local uid (getpwuid_r).
pub fn uid_to_name(uid: u32) -> Option<String> {
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

fn version_too_old(v: &str) -> bool {
    let first = v.split([',', '.']).next().unwrap_or("").trim();
    matches!(first.parse::<u32>(), Ok(major) if major < 6)
}

impl Node {
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, KcErr> {
        let s = self.storage.clone();
        match tokio::task::spawn_blocking(move || f(s.as_ref())).await {
            Ok(r) => r.map_err(storage_err),
            Err(_) => Err(KcErr::UNKNOWN),
        }
    }

    /// `proxy_header = *`, or the header was seen on this connection.
    pub fn proxied(&self, conn: &ConnInfo) -> bool {
        *self.proxy_header.read() == "*" || conn.seen_proxy_header()
    }

    /// Apply a reloaded `proxy_header` value.
    pub fn set_proxy_header(&self, value: &str) {
        *self.proxy_header.write() = value.trim().to_owned();
    }

    /// The client address: X-Forwarded-For on proxied connections, else the peer.
    pub fn source(&self, conn: &ConnInfo, meta: &RequestMeta) -> String {
        if self.proxied(conn) {
            if let Some(f) = meta.forwarded_for.as_deref().filter(|f| !f.is_empty()) {
                return f.to_owned();
            }
        }
        conn.peer.clone()
    }

    /// Parse, dispatch and answer one SOAP request.
    pub async fn handle_soap(&self, conn: &ConnInfo, meta: &RequestMeta, body: &[u8]) -> SoapReply {
        let op = match xml::parse_request(body, &self.settings.limits) {
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
        self.dispatch(conn, meta, req).await
    }

    async fn dispatch(&self, conn: &ConnInfo, meta: &RequestMeta, req: Request) -> SoapReply {
        let source = self.source(conn, meta);
        if let Request::Logon(l) = &req {
            return SoapReply::ok(self.logon(conn, &source, l).await);
        }
        if let Request::Unknown(name) = &req {
            return SoapReply::fault(true, &format!("Method '{name}' not implemented"));
        }
        let op = req.op_name().to_owned();
        let session = match req.session() {
            Some(id) => match self.sessions.validate(id, &source) {
                Ok(s) => s,
                Err(e) => return SoapReply::ok(error_response(&op, e)),
            },
            None => return SoapReply::ok(error_response(&op, KcErr::END_OF_SESSION)),
        };
        let body = match req {
            Request::Logoff { session: id } => {
                self.sessions.remove(id);
                let uid = session.user_id;
                let now = now();
                let _ = self.db(move |s| s.record_logon(uid, false, now)).await;
                let mut r = Response::new("logoff");
                r.u32("result", 0);
                r.finish()
            }
            Request::GetStore { entry_id, .. } => self.get_store(conn, &session, entry_id).await,
            Request::GetPublicStore { flags, .. } => self.get_public_store(conn, flags).await,
            Request::ResolveUserStore {
                username,
                type_mask,
                flags,
                ..
            } => {
                self.resolve_user_store(conn, &session, username, type_mask, flags)
                    .await
            }
            Request::ResolvePseudoUrl { url, .. } => self.resolve_pseudo_url(conn, url).await,
            Request::GetServerDetails { names, flags, .. } => {
                self.get_server_details(conn, names, flags).await
            }
            Request::ResolveUsername { username, .. } => {
                self.resolve_username(username.unwrap_or_default()).await
            }
            Request::GetUser {
                user_id, entry_id, ..
            } => self.get_user(&session, user_id, entry_id).await,
            Request::Logon(_) | Request::Unknown(_) => {
                return SoapReply::fault(false, "internal dispatch error")
            }
        };
        SoapReply::ok(body)
    }

    // ---- logon -------------------------------------------------------------

    fn socket_trusted(&self, conn: &ConnInfo, username: &str) -> bool {
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
        if self.settings.local_admin_users.contains(&name) {
            return true;
        }
        self.settings.allow_local_users && name == username
    }

    /// Resolve a login to a local object (SYSTEM, or a plugin user mirrored locally).
    async fn resolve_user(&self, login: &str) -> Result<AuthUser, KcErr> {
        if login.is_empty() {
            return Err(KcErr::NOT_FOUND);
        }
        if is_system(login) {
            let o = self
                .db(|s| s.object(SYSTEM_ID))
                .await?
                .ok_or(KcErr::NOT_FOUND)?;
            return Ok(AuthUser {
                object: o,
                info: None,
            });
        }
        let info = self.plugin.user(login).await.map_err(plugin_err)?;
        let object = self.ensure_local(&info).await?;
        Ok(AuthUser {
            object,
            info: Some(info),
        })
    }

    /// Mirror a plugin user into the objects table (KC's just-in-time sync).
    pub async fn ensure_local(&self, info: &UserInfo) -> Result<Object, KcErr> {
        let source = self.plugin.name();
        let info = info.clone();
        self.db(move |s| {
            if let Some(o) = s.object_by_external(source, &info.external_id)? {
                let data = ObjectData {
                    login: info.login.clone(),
                    fullname: info.fullname.clone(),
                    email: info.email.clone(),
                    admin_level: info.admin_level,
                    nonactive: info.nonactive,
                    hidden: o.hidden,
                };
                let current = ObjectData {
                    login: o.login.clone(),
                    fullname: o.fullname.clone(),
                    email: o.email.clone(),
                    admin_level: o.admin_level,
                    nonactive: o.nonactive,
                    hidden: o.hidden,
                };
                let mut changed = false;
                if data != current && source != "db" {
                    s.update_object(o.id, &data)?;
                    changed = true;
                }
                if let Some(q) = &info.quota {
                    if o.quota != *q {
                        s.set_quota(o.id, q)?;
                        changed = true;
                    }
                }
                if changed {
                    return s.object(o.id)?.ok_or(StorageError::NotFound);
                }
                return Ok(o);
            }
            let data = ObjectData {
                login: info.login.clone(),
                fullname: info.fullname.clone(),
                email: info.email.clone(),
                admin_level: info.admin_level,
                nonactive: info.nonactive,
                hidden: false,
            };
            match s.create_object(ObjectKind::User, source, &info.external_id, &data) {
                Ok(id) => {
                    if let Some(q) = &info.quota {
                        s.set_quota(id, q)?;
                    }
                    s.object(id)?.ok_or(StorageError::NotFound)
                }
                // A concurrent first logon of the same user created it.
                Err(StorageError::Collision) => s
                    .object_by_external(source, &info.external_id)?
                    .ok_or(StorageError::Collision),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Whether the user's mailbox lives on this node.
    pub(crate) fn is_home(&self, info: Option<&UserInfo>) -> Result<bool, KcErr> {
        if !self.settings.distributed {
            return Ok(true);
        }
        let Some(info) = info else {
            // Internal objects (SYSTEM, Everyone) never redirect.
            return Ok(true);
        };
        match info.home_server.as_deref() {
            None => Err(KcErr::NOT_FOUND),
            Some(h) => Ok(h.eq_ignore_ascii_case(&self.settings.server_name)),
        }
    }

    /// The user's private store on this node, created on first use.
    pub(crate) async fn ensure_private_store(&self, user: &Object) -> Result<Store, KcErr> {
        let id = user.id;
        let name = user.login.clone();
        self.db(move |s| match s.store_of(id, StoreType::Private)? {
            Some(st) => Ok(st),
            None => match s.create_store(StoreType::Private, Some(id), &name) {
                // A concurrent logon created it first.
                Err(StorageError::Collision) => s
                    .store_of(id, StoreType::Private)?
                    .ok_or(StorageError::NotFound),
                other => other,
            },
        })
        .await
    }

    async fn logon(&self, conn: &ConnInfo, source: &str, l: &Logon) -> String {
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
            if let (Some(cert), Some(certs)) = (&conn.peer_cert, &self.certs) {
                if certs.trusted(cert) {
                    method = Some(AuthMethod::Certificate);
                }
            }
        }
        if method.is_none()
            && conn.kind == ConnKind::Unix
            && l.flags & logon_flag::NO_UID_AUTH == 0
            && self.socket_trusted(conn, &l.username)
        {
            method = Some(AuthMethod::Socket);
        }
        let authed: Result<AuthUser, KcErr> = match method {
            Some(_) => self.resolve_user(&l.username).await,
            None if is_system(&l.username) || l.username.is_empty() => Err(KcErr::LOGON_FAILED),
            None => match self.plugin.authenticate(&l.username, &l.password).await {
                Ok(info) => self.ensure_local(&info).await.map(|object| AuthUser {
                    object,
                    info: Some(info),
                }),
                Err(e) => Err(plugin_err(e)),
            },
        };
        let method = method.unwrap_or(AuthMethod::Password);
        let mut user = match authed {
            Ok(u) if !u.object.nonactive => u,
            Ok(_) | Err(_) => {
                self.stats.logon_failures.fetch_add(1, Ordering::Relaxed);
                if audit_user {
                    self.audit
                        .write(&audit::auth_failed_line(&l.username, source, &program));
                }
                return reply(KcErr::LOGON_FAILED);
            }
        };
        if audit_user {
            self.audit.write(&audit::auth_ok_line(
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
                self.resolve_user(target).await.ok()
            } else {
                None
            };
            match resolved {
                Some(t) if !t.object.nonactive => {
                    self.audit.write(&audit::impersonate_line(
                        true,
                        &t.object.login,
                        source,
                        &program,
                        &authenticator,
                    ));
                    user = t;
                }
                _ => {
                    self.audit.write(&audit::impersonate_line(
                        false,
                        target,
                        source,
                        &program,
                        &authenticator,
                    ));
                    self.stats.logon_failures.fetch_add(1, Ordering::Relaxed);
                    return reply(KcErr::LOGON_FAILED);
                }
            }
        }
        if user.object.id != SYSTEM_ID && matches!(self.is_home(user.info.as_ref()), Ok(true)) {
            if let Err(e) = self.ensure_private_store(&user.object).await {
                warn!(user = %user.object.login, error = %e, "cannot create store");
            }
        }
        let granted = caps::negotiate(l.capabilities, false);
        let admin_level = if user.object.id == SYSTEM_ID {
            2
        } else {
            user.object.admin_level
        };
        let id = match self.sessions.create(NewSession {
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
        self.stats.logons.fetch_add(1, Ordering::Relaxed);
        let uid = user.object.id;
        let t = now();
        let _ = self.db(move |s| s.record_logon(uid, true, t)).await;
        let mut r = Response::new("logon");
        r.u32("er", 0)
            .u64("ulSessionId", id)
            .str("lpszVersion", Some(&format!("0,{SERVER_VERSION}")))
            .u32("ulCapabilities", granted)
            .b64("sLicenseResponse", &[])
            .b64("sServerGuid", &self.guid);
        r.finish()
    }

    // ---- redirects -----------------------------------------------------------

    /// The best URL of node `name` for this connection (GetBestServerPath).
    async fn server_path(&self, conn: &ConnInfo, name: &str) -> Result<String, KcErr> {
        let info = self.plugin.server(name).await.map_err(plugin_err)?;
        let best = best_server_path(
            &info.paths,
            conn.kind,
            self.proxied(conn),
            &self.settings.server_name,
        );
        if best.proxy_path_missing {
            warn!(server = name, "Proxy path not set for server {name}");
        }
        best.path
    }

    async fn redirect(&self, conn: &ConnInfo, name: &str) -> Result<String, KcErr> {
        let path = self.server_path(conn, name).await?;
        info!("Redirecting request to {path}");
        self.stats.redirects.fetch_add(1, Ordering::Relaxed);
        Ok(path)
    }

    fn pseudo_url(&self) -> String {
        format!("pseudo://{}", self.settings.server_name)
    }

    // ---- store calls ---------------------------------------------------------

    fn store_response(&self, er: KcErr, store: Option<&Store>, path: Option<&str>) -> String {
        let mut r = Response::new("getStore");
        r.u32("er", er.wire());
        match store {
            Some(st) => {
                r.b64(
                    "sStoreId",
                    &entryid::store_eid(&st.guid, &self.pseudo_url()),
                )
                .b64("sRootId", &entryid::folder_eid(&st.guid, st.root_folder))
                .b64("guid", &st.guid);
            }
            None => {
                r.b64("sStoreId", &[]).b64("sRootId", &[]).b64("guid", &[]);
            }
        }
        r.str("lpszServerPath", path);
        r.finish()
    }

    async fn get_store(&self, conn: &ConnInfo, session: &Session, eid: Option<Vec<u8>>) -> String {
        let result: Result<Store, (KcErr, Option<String>)> = async {
            if let Some(eid) = eid {
                let guid = entryid::parse_store_eid(&eid).ok_or((KcErr::INVALID_ENTRYID, None))?;
                return self
                    .db(move |s| s.store_by_guid(&guid))
                    .await
                    .map_err(|e| (e, None))?
                    .ok_or((KcErr::NOT_FOUND, None));
            }
            if session.user_id == SYSTEM_ID {
                return Err((KcErr::NOT_FOUND, None));
            }
            let user = self
                .resolve_user(&session.login)
                .await
                .map_err(|e| (e, None))?;
            if !self.is_home(user.info.as_ref()).map_err(|e| (e, None))? {
                let home = user
                    .info
                    .as_ref()
                    .and_then(|i| i.home_server.clone())
                    .unwrap_or_default();
                return match self.redirect(conn, &home).await {
                    Ok(path) => Err((KcErr::UNABLE_TO_COMPLETE, Some(path))),
                    Err(e) => Err((e, None)),
                };
            }
            self.ensure_private_store(&user.object)
                .await
                .map_err(|e| (e, None))
        }
        .await;
        match result {
            Ok(st) => self.store_response(KcErr::NONE, Some(&st), Some(&self.pseudo_url())),
            Err((e, path)) => self.store_response(e, None, path.as_deref()),
        }
    }

    async fn get_public_store(&self, conn: &ConnInfo, flags: u32) -> String {
        if self.settings.distributed {
            let server = match self.plugin.public_store_server().await {
                Ok(Some(s)) => s,
                Ok(None) => return self.store_response(KcErr::NOT_FOUND, None, None),
                Err(e) => return self.store_response(plugin_err(e), None, None),
            };
            if !server.eq_ignore_ascii_case(&self.settings.server_name)
                && flags & caps::EC_OVERRIDE_HOMESERVER == 0
            {
                return match self.redirect(conn, &server).await {
                    Ok(path) => self.store_response(KcErr::UNABLE_TO_COMPLETE, None, Some(&path)),
                    Err(e) => self.store_response(e, None, None),
                };
            }
        }
        match self.db(|s| s.public_store()).await {
            Ok(Some(st)) => self.store_response(KcErr::NONE, Some(&st), Some(&self.pseudo_url())),
            Ok(None) => self.store_response(KcErr::NOT_FOUND, None, None),
            Err(e) => self.store_response(e, None, None),
        }
    }

    async fn resolve_user_store(
        &self,
        conn: &ConnInfo,
        session: &Session,
        username: Option<String>,
        mask: u32,
        flags: u32,
    ) -> String {
        let reply =
            |er: KcErr, user: Option<&Object>, store: Option<&Store>, path: Option<&str>| {
                let mut r = Response::new("resolveUserStore");
                match user {
                    Some(u) => r.u32("ulUserId", u.id as u32).b64(
                        "sUserId",
                        &entryid::ab_eid(entryid::MAPI_MAILUSER, u.id as u32, &u.external_id),
                    ),
                    None => r.u32("ulUserId", 0).b64("sUserId", &[]),
                };
                match store {
                    Some(st) => r
                        .b64(
                            "sStoreId",
                            &entryid::store_eid(&st.guid, &self.pseudo_url()),
                        )
                        .b64("guid", &st.guid),
                    None => r.b64("sStoreId", &[]).b64("guid", &[]),
                };
                r.u32("er", er.wire()).str("lpszServerPath", path);
                r.finish()
            };
        let mask = if mask == 0 {
            store_type::bit(store_type::PRIVATE) | store_type::bit(store_type::PUBLIC)
        } else {
            mask
        };
        let login = username
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| session.login.clone());
        let user = match self.resolve_user(&login).await {
            Ok(u) => u,
            Err(e) => return reply(e, None, None, None),
        };
        let wants_private = mask
            & (store_type::bit(store_type::PRIVATE) | store_type::bit(store_type::PUBLIC))
            != 0;
        if !wants_private {
            // Archive stores are not kept by kc; never a redirect.
            return reply(KcErr::NOT_FOUND, None, None, None);
        }
        if user.object.id == SYSTEM_ID || is_everyone(&login) {
            return reply(KcErr::NOT_FOUND, None, None, None);
        }
        let home = match self.is_home(user.info.as_ref()) {
            Ok(h) => h,
            Err(e) => return reply(e, None, None, None),
        };
        if !home && flags & caps::OPENSTORE_OVERRIDE_HOME_MDB == 0 {
            let name = user
                .info
                .as_ref()
                .and_then(|i| i.home_server.clone())
                .unwrap_or_default();
            return match self.redirect(conn, &name).await {
                Ok(path) => reply(KcErr::UNABLE_TO_COMPLETE, None, None, Some(&path)),
                Err(e) => reply(e, None, None, None),
            };
        }
        let store = if home {
            self.ensure_private_store(&user.object).await
        } else {
            let id = user.object.id;
            self.db(move |s| s.store_of(id, StoreType::Private))
                .await
                .and_then(|o| o.ok_or(KcErr::NOT_FOUND))
        };
        match store {
            Ok(st) => reply(
                KcErr::NONE,
                Some(&user.object),
                Some(&st),
                Some(&self.pseudo_url()),
            ),
            Err(e) => reply(e, None, None, None),
        }
    }

    async fn resolve_pseudo_url(&self, conn: &ConnInfo, url: Option<String>) -> String {
        let reply = |er: KcErr, path: Option<&str>, peer: bool| {
            let mut r = Response::new("resolvePseudoUrl");
            r.str("lpszServerPath", path)
                .bool("bIsPeer", peer)
                .u32("er", er.wire());
            r.finish()
        };
        let url = url.unwrap_or_default();
        let Some(name) = url.strip_prefix("pseudo://") else {
            return reply(KcErr::INVALID_PARAMETER, None, false);
        };
        if !self.settings.distributed {
            return reply(KcErr::NONE, Some(&url), true);
        }
        let peer = name.eq_ignore_ascii_case(&self.settings.server_name);
        match self.server_path(conn, name).await {
            Ok(path) => reply(KcErr::NONE, Some(&path), peer),
            Err(e) => reply(e, None, false),
        }
    }

    async fn get_server_details(&self, conn: &ConnInfo, names: Vec<String>, flags: u32) -> String {
        let reply_err = |er: KcErr| {
            let mut r = Response::new("getServerDetails");
            r.open_array("sServerList", "ns:server", 0).close();
            r.u32("er", er.wire());
            r.finish()
        };
        if !self.settings.distributed {
            return reply_err(KcErr::NETWORK_ERROR);
        }
        if flags & !sd::ALL != 0 {
            return reply_err(KcErr::UNKNOWN_FLAGS);
        }
        let flags = if flags == 0 {
            sd::ALL & !sd::NO_NAME
        } else {
            flags
        };
        let servers = if names.is_empty() {
            match self.plugin.servers().await {
                Ok(s) => s,
                Err(e) => return reply_err(plugin_err(e)),
            }
        } else {
            let mut v = Vec::with_capacity(names.len());
            for n in names.iter().take(1000) {
                match self.plugin.server(n).await {
                    Ok(s) => v.push(s),
                    Err(e) => return reply_err(plugin_err(e)),
                }
            }
            v
        };
        let mut r = Response::new("getServerDetails");
        r.open_array("sServerList", "ns:server", servers.len());
        for s in &servers {
            let p = &s.paths;
            r.open("item");
            if flags & sd::NO_NAME == 0 {
                r.str("lpszName", Some(&p.name));
            }
            if flags & sd::FILEPATH != 0 {
                r.str("lpszFilePath", p.file_path.as_deref());
            }
            if flags & sd::HTTPPATH != 0 {
                r.str("lpszHttpPath", p.http_path.as_deref());
            }
            if flags & sd::SSLPATH != 0 {
                r.str("lpszSslPath", p.ssl_path.as_deref());
            }
            if flags & sd::PREFEREDPATH != 0 {
                let best =
                    best_server_path(p, conn.kind, self.proxied(conn), &self.settings.server_name);
                r.str("lpszPreferedPath", best.path.ok().as_deref());
            }
            let mut f = 0;
            if p.name.eq_ignore_ascii_case(&self.settings.server_name) {
                f |= sd::IS_PEER;
            }
            if s.contains_public {
                f |= sd::HAS_PUBLIC;
            }
            r.u32("ulFlags", f);
            r.close();
        }
        r.close();
        r.u32("er", 0);
        r.finish()
    }

    async fn resolve_username(&self, login: String) -> String {
        // The response struct is `ns:resolveUserResponse`.
        let mut r = Response::new("resolveUser");
        let res: Result<Object, KcErr> = if is_everyone(&login) {
            self.db(|s| s.object(EVERYONE_ID))
                .await
                .and_then(|o| o.ok_or(KcErr::NOT_FOUND))
        } else {
            self.resolve_user(&login).await.map(|u| u.object)
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

    async fn get_user(&self, session: &Session, user_id: u32, eid: Option<Vec<u8>>) -> String {
        let id = match eid.as_deref().map(entryid::parse_ab_eid) {
            Some(Some(id)) => i64::from(id),
            Some(None) => return user_error(KcErr::INVALID_ENTRYID),
            None if user_id == 0 => session.user_id,
            None => i64::from(user_id),
        };
        let obj = match self.db(move |s| s.object(id)).await {
            Ok(Some(o)) if o.kind == ObjectKind::User => o,
            Ok(_) => return user_error(KcErr::NOT_FOUND),
            Err(e) => return user_error(e),
        };
        let home = if obj.id == SYSTEM_ID {
            None
        } else if self.settings.distributed {
            self.plugin
                .user(&obj.login)
                .await
                .ok()
                .and_then(|u| u.home_server)
        } else {
            Some(self.settings.server_name.clone())
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
}

fn user_error(er: KcErr) -> String {
    let mut r = Response::new("getUser");
    r.str("lpsUser", None).u32("er", er.wire());
    r.finish()
}

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

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
