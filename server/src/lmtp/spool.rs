//! Message bodies while they arrive ([`Spool`]) and once complete
//! ([`Message`]): small bodies stay in memory, larger ones move to an
//! anonymous temporary file (unlinked at creation, so nothing is left behind
//! if the process dies) so that many concurrent large deliveries do not
//! exhaust RAM.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncWriteExt, BufWriter};

/// A complete message body, cheap to clone (so a store can move it into
/// `spawn_blocking`).
#[derive(Debug, Clone)]
pub enum Message {
    /// Held in memory.
    Memory(Bytes),
    /// Spooled to an unlinked temporary file of `len` bytes; read it with
    /// positional reads ([`Message::reader`], [`Message::read_all`]).
    File {
        /// The temporary file.
        file: Arc<File>,
        /// Its length.
        len: u64,
    },
}

impl Message {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Message::Memory(b) => b.len() as u64,
            Message::File { len, .. } => *len,
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, if the body is in memory.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Message::Memory(b) => Some(b),
            Message::File { .. } => None,
        }
    }

    /// The whole body. Blocking for spooled bodies: call it from
    /// `spawn_blocking` or use [`Message::load`].
    pub fn read_all(&self) -> io::Result<Cow<'_, [u8]>> {
        match self {
            Message::Memory(b) => Ok(Cow::Borrowed(b)),
            Message::File { .. } => {
                let mut buf = Vec::new();
                self.reader().read_to_end(&mut buf)?;
                Ok(Cow::Owned(buf))
            }
        }
    }

    /// The whole body in memory, reading a spooled body on the blocking pool.
    pub async fn load(&self) -> io::Result<Bytes> {
        match self {
            Message::Memory(b) => Ok(b.clone()),
            Message::File { .. } => {
                let me = self.clone();
                tokio::task::spawn_blocking(move || {
                    me.read_all().map(|c| Bytes::from(c.into_owned()))
                })
                .await
                .map_err(io::Error::other)?
            }
        }
    }

    /// A blocking reader from the start; several may run at once.
    pub fn reader(&self) -> MessageReader<'_> {
        MessageReader {
            message: self,
            pos: 0,
        }
    }
}

/// A [`Read`] over a [`Message`].
#[derive(Debug)]
pub struct MessageReader<'a> {
    message: &'a Message,
    pos: u64,
}

impl Read for MessageReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.message {
            Message::Memory(b) => {
                let start = usize::try_from(self.pos).unwrap_or(usize::MAX).min(b.len());
                let n = buf.len().min(b.len() - start);
                buf[..n].copy_from_slice(&b[start..start + n]);
                n
            }
            Message::File { file, len } => {
                let left = len.saturating_sub(self.pos);
                let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                if want == 0 {
                    0
                } else {
                    file.read_at(&mut buf[..want], self.pos)?
                }
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

/// Collects a body: in memory up to a threshold, then in a temporary file.
#[derive(Debug)]
pub struct Spool {
    threshold: usize,
    dir: Option<PathBuf>,
    memory: Vec<u8>,
    file: Option<BufWriter<tokio::fs::File>>,
    len: u64,
}

impl Spool {
    /// A spool keeping up to `threshold` bytes in memory; beyond that it
    /// writes to an unlinked file in `dir` (the system temp directory if
    /// `None`).
    pub fn new(threshold: usize, dir: Option<PathBuf>) -> Spool {
        Spool {
            threshold,
            dir,
            memory: Vec::new(),
            file: None,
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the body has moved to a file.
    pub fn is_spooled(&self) -> bool {
        self.file.is_some()
    }

    /// Appends `data`.
    pub async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.len += data.len() as u64;
        if let Some(file) = &mut self.file {
            return file.write_all(data).await;
        }
        if self.memory.len() + data.len() <= self.threshold {
            self.memory.extend_from_slice(data);
            return Ok(());
        }
        let dir = self.dir.clone();
        let std_file = tokio::task::spawn_blocking(move || match dir {
            Some(d) => tempfile::tempfile_in(d),
            None => tempfile::tempfile(),
        })
        .await
        .map_err(io::Error::other)??;
        let mut file = BufWriter::with_capacity(64 * 1024, tokio::fs::File::from_std(std_file));
        file.write_all(&self.memory).await?;
        file.write_all(data).await?;
        self.memory = Vec::new();
        self.file = Some(file);
        Ok(())
    }

    /// The complete body.
    pub async fn finish(self) -> io::Result<Message> {
        match self.file {
            None => Ok(Message::Memory(Bytes::from(self.memory))),
            Some(mut file) => {
                file.flush().await?;
                let file = file.into_inner().into_std().await;
                Ok(Message::File {
                    file: Arc::new(file),
                    len: self.len,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn spool(chunks: &[&[u8]], threshold: usize) -> (Message, bool) {
        let mut s = Spool::new(threshold, None);
        for c in chunks {
            if let Err(e) = s.write(c).await {
                panic!("write: {e}");
            }
        }
        let spooled = s.is_spooled();
        match s.finish().await {
            Ok(m) => (m, spooled),
            Err(e) => panic!("finish: {e}"),
        }
    }

    #[tokio::test]
    async fn small_bodies_stay_in_memory() {
        let (m, spooled) = spool(&[b"abc", b"def"], 6).await;
        assert!(!spooled);
        assert_eq!(m.as_bytes(), Some(&b"abcdef"[..]));
        assert_eq!(m.len(), 6);
    }

    #[tokio::test]
    async fn large_bodies_go_to_a_file() {
        let chunk: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let (m, spooled) = spool(&[b"head", &chunk, &chunk], 1000).await;
        assert!(spooled);
        assert!(m.as_bytes().is_none());
        let mut want = b"head".to_vec();
        want.extend_from_slice(&chunk);
        want.extend_from_slice(&chunk);
        assert_eq!(m.len(), want.len() as u64);
        match m.load().await {
            Ok(b) => assert_eq!(&b[..], &want[..]),
            Err(e) => panic!("load: {e}"),
        }
        // Two readers at once see the same bytes.
        let mut a = Vec::new();
        let mut r1 = m.reader();
        let mut r2 = m.reader();
        let mut b = Vec::new();
        assert!(r1.read_to_end(&mut a).is_ok() && r2.read_to_end(&mut b).is_ok());
        assert_eq!(a, want);
        assert_eq!(b, want);
    }
}
