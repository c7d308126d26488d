//! Building answers: success bodies from the wire types, and every failure
//! (a KC error, a plain HTTP condition, a redirect to the home node) through
//! the one status table of kc-store-api.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use kc_store_api::wire::{ErrorBody, ErrorDetail, RedirectBody};
use kc_store_api::{ErrorKind, JSON_TYPE};
use serde::Serialize;

use super::body::{self, Body};
use super::params::ParamError;
use crate::kcerr::KcErr;

/// Why a request failed.
#[derive(Debug)]
pub(super) enum Fail {
    /// A KC error with a message; the status comes from its [`ErrorKind`].
    Kc(KcErr, String),
    /// The store lives on another node: 307 to this URL.
    Redirect(String),
    /// A plain HTTP condition (unknown route, wrong method, failed precondition).
    Http(ErrorKind, String),
}

impl From<KcErr> for Fail {
    fn from(e: KcErr) -> Fail {
        Fail::Kc(e, e.name().to_ascii_lowercase().replace('_', " "))
    }
}

impl From<ParamError> for Fail {
    fn from(e: ParamError) -> Fail {
        bad(e.0)
    }
}

/// What handlers return.
pub(super) type R<T> = Result<T, Fail>;

/// A bad parameter or body (400).
pub(super) fn bad(m: impl Into<String>) -> Fail {
    Fail::Kc(KcErr::INVALID_PARAMETER, m.into())
}

/// The status of an error class.
fn status_of(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A whole answer with a content type.
pub(super) fn respond(
    status: StatusCode,
    ctype: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(body::full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

/// A JSON answer of one wire type.
pub(super) fn json(status: StatusCode, v: &impl Serialize) -> Response<Body> {
    respond(status, JSON_TYPE, serde_json::to_vec(v).unwrap_or_default())
}

/// A 200 JSON answer.
pub(super) fn ok(v: &impl Serialize) -> R<Response<Body>> {
    Ok(json(StatusCode::OK, v))
}

/// An empty 204 answer (property writes).
pub(super) fn no_content() -> Response<Body> {
    let mut r = Response::new(body::full(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// A streamed answer of `ctype` (its producer holds the sender).
pub(super) fn streamed(body: Body, ctype: &'static str) -> Response<Body> {
    let mut r = Response::new(body);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

/// An `ETag` header value: the hex digest in quotes.
pub(super) fn etag_header(etag: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{etag}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// The answer to a failed request, from node `node`.
pub(super) fn failure(node: &str, f: Fail) -> Response<Body> {
    let (kind, detail) = match f {
        Fail::Redirect(location) => {
            let mut r = json(
                StatusCode::TEMPORARY_REDIRECT,
                &RedirectBody {
                    location: location.clone(),
                    node: node.to_owned(),
                },
            );
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        Fail::Kc(er, message) => (
            ErrorKind::of_kc(er),
            ErrorDetail {
                code: er.wire(),
                message,
                name: format!("KCERR_{}", er.name()),
            },
        ),
        Fail::Http(kind, message) => (
            kind,
            ErrorDetail {
                code: 0,
                message,
                name: String::new(),
            },
        ),
    };
    json(
        status_of(kind),
        &ErrorBody {
            error: detail,
            node: node.to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(r: Response<Body>) -> (u16, String) {
        let status = r.status().as_u16();
        let b = r.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&b).into_owned())
    }

    /// The bytes of every failure answer are those of the former
    /// hand-written JSON, and the client reads them back.
    #[tokio::test]
    async fn failures() {
        let (s, b) = body_of(failure(
            "n1",
            Fail::Kc(KcErr::NOT_FOUND, "no folder 7".into()),
        ))
        .await;
        assert_eq!(s, 404);
        assert_eq!(
            b,
            r#"{"error":{"code":2147483650,"message":"no folder 7","name":"KCERR_NOT_FOUND"},"node":"n1"}"#
        );
        let e: ErrorBody = serde_json::from_str(&b).unwrap();
        assert_eq!(e.error.message, "no folder 7");
        let (s, b) = body_of(failure(
            "n1",
            Fail::Http(ErrorKind::MethodNotAllowed, "method not allowed".into()),
        ))
        .await;
        assert_eq!(s, 405);
        assert_eq!(
            b,
            r#"{"error":{"code":0,"message":"method not allowed","name":""},"node":"n1"}"#
        );
        let r = failure(
            "n1",
            Fail::Redirect("http://n2:236/kc-store/v1/me/user".into()),
        );
        assert_eq!(
            r.headers().get(header::LOCATION).unwrap(),
            "http://n2:236/kc-store/v1/me/user"
        );
        let (s, b) = body_of(r).await;
        assert_eq!(s, 307);
        assert_eq!(
            b,
            r#"{"location":"http://n2:236/kc-store/v1/me/user","node":"n1"}"#
        );
        let (s, _) = body_of(failure("n1", KcErr::STORE_FULL.into())).await;
        assert_eq!(s, 507);
        let (s, _) = body_of(failure("n1", KcErr::DATABASE_ERROR.into())).await;
        assert_eq!(s, 500);
    }
}
