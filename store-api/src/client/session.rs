//! A logged-on user on the node holding the store, and every store-API call
//! it makes: request bodies are [`crate::wire`] types, answers are read into
//! them.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request};
use http_body_util::Full;
use serde::Serialize;

use super::query::{append_query, list_query, parse_json, parse_ndjson, percent_encode};
use super::{soap, Answer, ClientError, StoreClient};
use super::{MAX_BULK, MAX_JSON_ANSWER, MAX_MESSAGE, MAX_PROP, MAX_WAIT};
use crate::frames;
use crate::wire::{
    Appended, BodiesRequest, BodyPart, Change, ChangedReply, CopyRequest, DeletedReply,
    ExpungeRequest, ExpungedReply, FlagOp, FlagsRequest, FolderChange, FolderInfo, ItemInfo,
    ModseqReply, NewFolder, QuotaInfo, UidMapReply, UidsRequest, UserInfo,
};
use crate::{SESSION_HEADER, STORE_PREFIX, UID_NEXT_HEADER, UID_VALIDITY_HEADER};

/// A listing of a folder's items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// `Kc-Uid-Validity`.
    pub uid_validity: u32,
    /// `Kc-Uid-Next`: every listed UID is below it.
    pub uid_next: u32,
    /// The items by ascending UID.
    pub items: Vec<ItemInfo>,
}

pub(super) struct SessionInner {
    pub(super) client: StoreClient,
    pub(super) base: String,
    pub(super) id: u64,
    pub(super) login: String,
    pub(super) source: Option<IpAddr>,
    pub(super) user: Option<UserInfo>,
}

/// A logged-on user on the node holding the store; clones share it.
#[derive(Clone)]
pub struct Session {
    pub(super) inner: Arc<SessionInner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("login", &self.inner.login)
            .field("node", &self.inner.base)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The user's login as the node spells it.
    pub fn login(&self) -> &str {
        &self.inner.login
    }

    /// `scheme://authority` of the node holding the store.
    pub fn node(&self) -> &str {
        &self.inner.base
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Request<Full<Bytes>>, ClientError> {
        let s = &self.inner;
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{STORE_PREFIX}me/{path}", s.base))
            .header(SESSION_HEADER, s.id.to_string())
            .header(header::USER_AGENT, "kc-gateway");
        if let Some(ip) = s.source {
            b = b.header("x-forwarded-for", ip.to_string());
        }
        let body = match body {
            Some((ctype, data)) => {
                b = b.header(header::CONTENT_TYPE, ctype);
                data
            }
            None => Bytes::new(),
        };
        b.body(Full::new(body))
            .map_err(|e| ClientError::Protocol(format!("cannot build request for {path}: {e}")))
    }

    /// A GET with any status returned (redirects are the caller's business).
    pub(super) async fn get(
        &self,
        path: &str,
        limit: usize,
        extra_wait: Option<Duration>,
    ) -> Result<Answer, ClientError> {
        let req = self.request(Method::GET, path, None)?;
        let timeout = self.inner.client.inner.timeout + extra_wait.unwrap_or_default();
        self.inner.client.send(req, limit, timeout).await
    }

    /// A request whose non-2xx answer is an error.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Bytes)>,
        limit: usize,
        extra_wait: Option<Duration>,
    ) -> Result<Answer, ClientError> {
        let req = self.request(method, path, body)?;
        let timeout = self.inner.client.inner.timeout + extra_wait.unwrap_or_default();
        let a = self.inner.client.send(req, limit, timeout).await?;
        if a.status.is_success() {
            Ok(a)
        } else if a.status.is_redirection() {
            Err(ClientError::Protocol(format!(
                "store moved while logged on ({})",
                a.status
            )))
        } else {
            Err(ClientError::from_status(a.status.as_u16(), &a.body))
        }
    }

    async fn post_json(&self, path: &str, v: &impl Serialize) -> Result<Answer, ClientError> {
        let body = serde_json::to_vec(v).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.call(
            Method::POST,
            path,
            Some(("application/json", Bytes::from(body))),
            MAX_JSON_ANSWER,
            None,
        )
        .await
    }

    /// The user with features; the answer of the logon probe when there was one.
    pub async fn user(&self) -> Result<UserInfo, ClientError> {
        if let Some(u) = &self.inner.user {
            return Ok(u.clone());
        }
        let a = self
            .call(Method::GET, "user", None, MAX_JSON_ANSWER, None)
            .await?;
        parse_json(&a.body)
    }

    /// The live folders of the store.
    pub async fn folders(&self) -> Result<Vec<FolderInfo>, ClientError> {
        let a = self
            .call(Method::GET, "folders", None, MAX_JSON_ANSWER, None)
            .await?;
        parse_json(&a.body)
    }

    /// One folder with its counters.
    pub async fn folder(&self, id: i64) -> Result<FolderInfo, ClientError> {
        let a = self
            .call(
                Method::GET,
                &format!("folders/{id}"),
                None,
                MAX_JSON_ANSWER,
                None,
            )
            .await?;
        parse_json(&a.body)
    }

    /// Creates a folder below `parent`.
    pub async fn create_folder(
        &self,
        parent: i64,
        name: &str,
        class: &str,
    ) -> Result<FolderInfo, ClientError> {
        let a = self
            .post_json(
                "folders",
                &NewFolder {
                    class: Some(class.to_owned()),
                    name: name.to_owned(),
                    parent,
                },
            )
            .await?;
        parse_json(&a.body)
    }

    /// Renames and/or moves a folder; returns the change number.
    pub async fn update_folder(
        &self,
        id: i64,
        name: Option<&str>,
        parent: Option<i64>,
    ) -> Result<i64, ClientError> {
        let change = FolderChange {
            name: name.map(str::to_owned),
            parent,
        };
        let body = serde_json::to_vec(&change).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let a = self
            .call(
                Method::PATCH,
                &format!("folders/{id}"),
                Some(("application/json", Bytes::from(body))),
                MAX_JSON_ANSWER,
                None,
            )
            .await?;
        Ok(parse_json::<ModseqReply>(&a.body)?.modseq)
    }

    /// Soft-deletes a folder subtree; returns the change number.
    pub async fn delete_folder(&self, id: i64) -> Result<i64, ClientError> {
        let a = self
            .call(
                Method::DELETE,
                &format!("folders/{id}"),
                None,
                MAX_JSON_ANSWER,
                None,
            )
            .await?;
        Ok(parse_json::<ModseqReply>(&a.body)?.modseq)
    }

    /// Items above `after_uid` (at most `limit`, 0 = the server's maximum),
    /// with the given fields (empty = all).
    pub async fn list_items(
        &self,
        folder: i64,
        after_uid: u32,
        limit: u32,
        fields: &[&str],
    ) -> Result<Listing, ClientError> {
        let path = format!(
            "folders/{folder}/items{}",
            list_query(after_uid, limit, fields)
        );
        let a = self
            .call(Method::GET, &path, None, MAX_JSON_ANSWER, None)
            .await?;
        let num = |h: &str| {
            a.headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok())
                .ok_or_else(|| ClientError::Protocol(format!("listing without {h}")))
        };
        Ok(Listing {
            uid_validity: num(UID_VALIDITY_HEADER)?,
            uid_next: num(UID_NEXT_HEADER)?,
            items: parse_ndjson(&a.body)?,
        })
    }

    /// The raw message, byte-exact.
    pub async fn fetch(&self, folder: i64, uid: u32) -> Result<Bytes, ClientError> {
        let a = self
            .call(
                Method::GET,
                &format!("folders/{folder}/items/{uid}"),
                None,
                MAX_MESSAGE,
                None,
            )
            .await?;
        Ok(a.body)
    }

    /// The header block of a message (up to and including the blank line;
    /// the whole message when it has none), byte-exact; the node reads it
    /// without the message's attachment files.
    pub async fn fetch_header(&self, folder: i64, uid: u32) -> Result<Bytes, ClientError> {
        let a = self
            .call(
                Method::GET,
                &format!("folders/{folder}/items/{uid}?part=header"),
                None,
                MAX_MESSAGE,
                None,
            )
            .await?;
        Ok(a.body)
    }

    /// Whole messages `uids` of `folder` in one streamed answer per
    /// [`frames::MAX_UIDS`] UIDs (`POST folders/{id}/bodies`), byte-exact and in
    /// the requested order; unknown and expunged UIDs are left out. More than
    /// [`MAX_BULK`] message bytes in all is [`ClientError::TooLarge`]: callers
    /// chunk by the sizes they know.
    pub async fn fetch_many(
        &self,
        folder: i64,
        uids: &[u32],
    ) -> Result<Vec<(u32, Bytes)>, ClientError> {
        self.bodies(folder, uids, false).await
    }

    /// As [`Self::fetch_many`], the header blocks only (as [`Self::fetch_header`]).
    pub async fn fetch_headers_many(
        &self,
        folder: i64,
        uids: &[u32],
    ) -> Result<Vec<(u32, Bytes)>, ClientError> {
        self.bodies(folder, uids, true).await
    }

    async fn bodies(
        &self,
        folder: i64,
        uids: &[u32],
        header_only: bool,
    ) -> Result<Vec<(u32, Bytes)>, ClientError> {
        let mut out = Vec::with_capacity(uids.len());
        let mut total = 0usize;
        for chunk in uids.chunks(frames::MAX_UIDS) {
            let budget = MAX_BULK - total;
            let req = BodiesRequest {
                part: header_only.then_some(BodyPart::Header),
                uids: chunk.to_vec(),
            };
            let body =
                serde_json::to_vec(&req).map_err(|e| ClientError::Protocol(e.to_string()))?;
            // The frame heads come on top of the message bytes.
            let limit = budget + chunk.len() * (frames::MAX_HEAD + frames::FRAME_END.len());
            let a = self
                .call(
                    Method::POST,
                    &format!("folders/{folder}/bodies"),
                    Some(("application/json", Bytes::from(body))),
                    limit,
                    None,
                )
                .await?;
            let ctype = a
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if ctype != frames::CONTENT_TYPE {
                return Err(ClientError::Protocol(format!(
                    "bulk fetch answered '{ctype}'"
                )));
            }
            let got = frames::decode(
                &a.body,
                frames::FrameLimits {
                    max_frames: chunk.len(),
                    max_total: budget as u64,
                },
            )
            .map_err(|e| match e {
                frames::FrameError::TooLarge => ClientError::TooLarge,
                e => ClientError::Protocol(format!("bulk fetch: {e}")),
            })?;
            let order: Vec<u32> = got.iter().map(|(u, _)| *u).collect();
            if !frames::in_request_order(chunk, &order) {
                return Err(ClientError::Protocol(
                    "bulk fetch answered UIDs out of request order".into(),
                ));
            }
            total += got.iter().map(|(_, b)| b.len()).sum::<usize>();
            out.extend(got);
        }
        Ok(out)
    }

    /// Store property `name` (1-64 characters of `A-Z a-z 0-9 . _ -`);
    /// `None` when it is not set.
    pub async fn prop(&self, name: &str) -> Result<Option<Bytes>, ClientError> {
        let path = format!("props/{}", percent_encode(name));
        match self.call(Method::GET, &path, None, MAX_PROP, None).await {
            Ok(a) => Ok(Some(a.body)),
            Err(ClientError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets (`Some`, at most [`MAX_PROP`] bytes) or removes (`None`) store
    /// property `name`; durable on the node when this returns.
    pub async fn set_prop(&self, name: &str, value: Option<Bytes>) -> Result<(), ClientError> {
        let path = format!("props/{}", percent_encode(name));
        match value {
            Some(v) if v.len() > MAX_PROP => Err(ClientError::TooLarge),
            Some(v) => self
                .call(
                    Method::PUT,
                    &path,
                    Some(("application/octet-stream", v)),
                    MAX_JSON_ANSWER,
                    None,
                )
                .await
                .map(|_| ()),
            None => self
                .call(Method::DELETE, &path, None, MAX_JSON_ANSWER, None)
                .await
                .map(|_| ()),
        }
    }

    /// Appends a raw RFC 5322 message.
    pub async fn append(
        &self,
        folder: i64,
        body: Bytes,
        flags: &[String],
        internal_date: Option<i64>,
    ) -> Result<Appended, ClientError> {
        let path = format!(
            "folders/{folder}/items{}",
            append_query(flags, internal_date)
        );
        let a = self
            .call(
                Method::POST,
                &path,
                Some(("message/rfc822", body)),
                MAX_JSON_ANSWER,
                None,
            )
            .await?;
        parse_json(&a.body)
    }

    /// Changes flags; returns `(uid, modseq)` of the items that changed.
    pub async fn set_flags(
        &self,
        folder: i64,
        uids: &[u32],
        op: FlagOp,
        flags: &[String],
    ) -> Result<Vec<(u32, i64)>, ClientError> {
        let a = self
            .post_json(
                &format!("folders/{folder}/flags"),
                &FlagsRequest {
                    flags: flags.to_vec(),
                    op: Some(op),
                    uids: uids.to_vec(),
                },
            )
            .await?;
        let r: ChangedReply = parse_json(&a.body)?;
        Ok(r.changed.into_iter().map(|c| (c.uid, c.modseq)).collect())
    }

    async fn uid_map(
        &self,
        op: &str,
        folder: i64,
        uids: &[u32],
        dest: i64,
    ) -> Result<Vec<(u32, u32)>, ClientError> {
        let a = self
            .post_json(
                &format!("folders/{folder}/{op}"),
                &CopyRequest {
                    dest: Some(dest),
                    uids: uids.to_vec(),
                },
            )
            .await?;
        let r: UidMapReply = parse_json(&a.body)?;
        Ok(r.uids.into_iter().map(|m| (m.uid, m.new_uid)).collect())
    }

    /// Copies items; returns `(uid, new_uid)` pairs.
    pub async fn copy(
        &self,
        folder: i64,
        uids: &[u32],
        dest: i64,
    ) -> Result<Vec<(u32, u32)>, ClientError> {
        self.uid_map("copy", folder, uids, dest).await
    }

    /// Moves items within the store; returns `(uid, new_uid)` pairs.
    pub async fn move_items(
        &self,
        folder: i64,
        uids: &[u32],
        dest: i64,
    ) -> Result<Vec<(u32, u32)>, ClientError> {
        self.uid_map("move", folder, uids, dest).await
    }

    /// Soft-deletes items; returns the UIDs deleted.
    pub async fn delete(&self, folder: i64, uids: &[u32]) -> Result<Vec<u32>, ClientError> {
        let a = self
            .post_json(
                &format!("folders/{folder}/delete"),
                &UidsRequest {
                    uids: uids.to_vec(),
                },
            )
            .await?;
        Ok(parse_json::<DeletedReply>(&a.body)?.deleted)
    }

    /// Removes the items flagged `\Deleted` (only those of `uids` when given).
    pub async fn expunge(
        &self,
        folder: i64,
        uids: Option<&[u32]>,
    ) -> Result<Vec<u32>, ClientError> {
        let path = format!("folders/{folder}/expunge");
        let a = match uids {
            Some(u) => {
                let req = ExpungeRequest {
                    uids: Some(u.to_vec()),
                };
                self.post_json(&path, &req).await?
            }
            None => {
                self.call(Method::POST, &path, None, MAX_JSON_ANSWER, None)
                    .await?
            }
        };
        Ok(parse_json::<ExpungedReply>(&a.body)?.expunged)
    }

    /// Changes after `since`, oldest first; with `wait`, the node holds the
    /// answer until something changes or the wait (at most [`MAX_WAIT`]) ends.
    pub async fn changes(
        &self,
        since: i64,
        limit: u32,
        wait: Option<Duration>,
    ) -> Result<Vec<Change>, ClientError> {
        let mut path = format!("changes?since={since}");
        if limit > 0 {
            path.push_str(&format!("&limit={limit}"));
        }
        let wait = wait.map(|w| w.min(MAX_WAIT));
        if let Some(w) = wait {
            path.push_str(&format!("&wait={}", w.as_secs().max(1)));
        }
        let a = self
            .call(Method::GET, &path, None, MAX_JSON_ANSWER, wait)
            .await?;
        parse_ndjson(&a.body)
    }

    /// Quota state of the store.
    pub async fn quota(&self) -> Result<QuotaInfo, ClientError> {
        let a = self
            .call(Method::GET, "quota", None, MAX_JSON_ANSWER, None)
            .await?;
        parse_json(&a.body)
    }

    /// Keeps the node session from expiring (`session_timeout`) while the
    /// gateway's client idles: one cheap request.
    pub async fn keepalive(&self) -> Result<(), ClientError> {
        self.call(Method::GET, "quota", None, MAX_JSON_ANSWER, None)
            .await
            .map(|_| ())
    }

    /// Ends the session on the node; failures are only logged (the node
    /// expires the session anyway).
    pub async fn logoff(&self) {
        let s = &self.inner;
        if let Err(e) = s
            .client
            .soap(&s.base, soap::logoff_request(s.id), s.source)
            .await
        {
            tracing::debug!(error = %e, "logoff failed");
        }
    }
}
