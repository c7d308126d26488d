//! After a login: hand over what each side sent early (the node's bytes
//! already read during the login, the client's commands pipelined behind
//! it), then copy both ways until either side closes.

use std::io;

use super::stream::{send, LineConn, MailStream};

/// Relays between a logged-in client and its node connection.
pub async fn relay(
    mut client: MailStream,
    node: LineConn,
    client_pending: Vec<u8>,
) -> io::Result<()> {
    let LineConn {
        stream: mut node_stream,
        mut reader,
        ..
    } = node;
    let node_pending = reader.take_all();
    if !node_pending.is_empty() {
        send(&mut client, &node_pending).await?;
    }
    if !client_pending.is_empty() {
        send(&mut node_stream, &client_pending).await?;
    }
    let (up, down) = tokio::io::copy_bidirectional(&mut client, &mut node_stream).await?;
    tracing::debug!(bytes_to_node = up, bytes_to_client = down, "relay finished");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (b, _) = l.accept().await.unwrap();
        (a, b)
    }

    /// The node's bytes read during the login reach the client first, the
    /// client's pipelined commands reach the node first, then both
    /// directions flow until one side closes.
    #[tokio::test]
    async fn early_bytes_go_first_then_both_ways() {
        let (mut client, edge_client) = pair().await;
        let (edge_node, mut node) = pair().await;
        let mut conn = LineConn::new(MailStream::Plain(edge_node), 1024, Duration::from_secs(5));
        conn.reader.feed(b"* 3 EXISTS\r\n");
        let task = tokio::spawn(relay(
            MailStream::Plain(edge_client),
            conn,
            b"a2 SELECT INBOX\r\n".to_vec(),
        ));
        let mut buf = vec![0u8; 12];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, b"* 3 EXISTS\r\n");
        let mut buf = vec![0u8; 17];
        node.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, b"a2 SELECT INBOX\r\n");
        node.write_all(b"a2 OK\r\n").await.unwrap();
        let mut buf = vec![0u8; 7];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, b"a2 OK\r\n");
        client.write_all(b"a3 LOGOUT\r\n").await.unwrap();
        let mut buf = vec![0u8; 11];
        node.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, b"a3 LOGOUT\r\n");
        drop(node);
        drop(client);
        // Ends once both sides have closed (how it ends does not matter).
        let _ = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
