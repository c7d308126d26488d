//! The IMAP service entry point: one task per accepted connection.
//!
//! The session logic is in [`super::session`]; this module only opens the
//! per-connection tracing span and runs it.

use std::net::SocketAddr;
use std::sync::Arc;

use tracing::Instrument;

use crate::context::GatewayContext;
use crate::net::Conn;

use super::session::Session;

/// Serves one IMAP client until it logs out or the connection ends.
pub async fn serve_connection(conn: Conn, peer: SocketAddr, ctx: Arc<GatewayContext>) {
    let span = tracing::info_span!(
        "imap",
        %peer,
        tls = conn.is_tls(),
        user = tracing::field::Empty,
        client = tracing::field::Empty
    );
    async move {
        tracing::debug!("connection opened");
        Session::new(conn, peer, ctx).run().await;
        tracing::debug!("connection closed");
    }
    .instrument(span)
    .await
}
