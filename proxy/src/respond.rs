//! Responses the edge writes itself: route errors, node failures, health.
//! Short plain-text bodies, so that an operator with curl sees at once what
//! went wrong.

use bytes::Bytes;
use pingora_core::ErrorType;
use pingora_http::ResponseHeader;
use pingora_proxy::Session;

use crate::state::EdgeConfig;

/// The status and body for a proxy failure of type `etype`.
pub fn failure(etype: &ErrorType, upstream: bool) -> (u16, &'static str) {
    match etype {
        ErrorType::HTTPStatus(503) => (503, "503 no node available for this request\n"),
        ErrorType::HTTPStatus(404) => (404, "404 no route\n"),
        ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout
            if upstream =>
        {
            (504, "504 the node did not answer in time\n")
        }
        ErrorType::ConnectRefused
        | ErrorType::ConnectNoRoute
        | ErrorType::ConnectError
        | ErrorType::ConnectProxyFailure
        | ErrorType::TLSHandshakeFailure
        | ErrorType::InvalidCert
        | ErrorType::HandshakeError => (502, "502 the node cannot be reached\n"),
        ErrorType::HTTPStatus(code) if *code >= 400 => (*code, "request failed\n"),
        _ if upstream => (502, "502 the node failed while answering\n"),
        _ => (400, "400 bad request\n"),
    }
}

/// Writes a plain-text response with the proxy header; errors writing to a
/// client that is gone are ignored.
pub async fn plain(
    session: &mut Session,
    cfg: &EdgeConfig,
    status: u16,
    body: &'static str,
    extra: &[(&'static str, &str)],
) {
    let Ok(mut resp) = ResponseHeader::build(status, Some(4)) else {
        return;
    };
    let _ = resp.insert_header("Content-Type", "text/plain; charset=utf-8");
    let _ = resp.insert_header("Content-Length", body.len().to_string());
    let _ = resp.insert_header("Cache-Control", "no-store");
    if let Some((name, value)) = &cfg.proxy_header {
        let _ = resp.insert_header(name.clone(), value.as_str());
    }
    for (n, v) in extra {
        let _ = resp.insert_header(*n, *v);
    }
    let _ = session
        .write_error_response(resp, Bytes::from_static(body.as_bytes()))
        .await;
}
