//! The admin listener: `/healthz` and Prometheus `/metrics`, kept off the
//! public listeners.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::protocols::http::ServerSession;

use crate::state::Shared;

/// The admin HTTP application.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Shared state (metrics, node table, directory statistics).
    pub shared: Arc<Shared>,
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut resp = Response::new(body);
    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    let len = resp.body().len();
    resp.headers_mut()
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    resp
}

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_string();
        match path.as_str() {
            "/healthz" => {
                let nodes = self.shared.nodes.load().nodes().len();
                if nodes == 0 {
                    reply(503, "text/plain", b"no nodes\n".to_vec())
                } else {
                    reply(
                        200,
                        "text/plain",
                        format!("ok {nodes} nodes\n").into_bytes(),
                    )
                }
            }
            "/metrics" => {
                if let Some(home) = &self.shared.home {
                    let (hits, misses) = home.cache_stats();
                    self.shared
                        .metrics
                        .dir_hits
                        .set(i64::try_from(hits).unwrap_or(i64::MAX));
                    self.shared
                        .metrics
                        .dir_misses
                        .set(i64::try_from(misses).unwrap_or(i64::MAX));
                }
                reply(
                    200,
                    "text/plain; version=0.0.4",
                    self.shared.metrics.render(),
                )
            }
            _ => reply(404, "text/plain", b"not found\n".to_vec()),
        }
    }
}
