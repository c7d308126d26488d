//! Response bodies of the node's listeners: a whole buffer, or a stream of
//! chunks produced by a task (long listings are read and sent page by page so
//! that neither memory nor the database lock grows with the row count).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Frame;
use tokio::sync::mpsc;

/// What every listener answers with.
pub type Body = Either<Full<Bytes>, ChannelBody>;

/// A whole body.
pub fn full(b: impl Into<Bytes>) -> Body {
    Either::Left(Full::new(b.into()))
}

/// A streamed body; an `Err` chunk aborts the response (the client sees a
/// truncated chunked body, never a silently short one).
pub struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

/// A streamed body and the sender its producer writes to.
pub fn channel(depth: usize) -> (mpsc::Sender<Result<Bytes, std::io::Error>>, Body) {
    let (tx, rx) = mpsc::channel(depth.max(1));
    (tx, Either::Right(ChannelBody { rx }))
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}
