//! The access log: one line per request, in Apache's combined format or as
//! JSON. Formatting is pure; [`AccessLog`] only appends lines to a file.

use std::fs::{File, OpenOptions};
use std::io::{LineWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use time::OffsetDateTime;

/// Line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`.
    Combined,
    /// One JSON object per line.
    Json,
}

/// What is logged about one request.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Client address.
    pub client: Option<IpAddr>,
    /// User name from the request, if any (not verified by the edge).
    pub user: Option<&'a str>,
    /// Time the request arrived.
    pub time: OffsetDateTime,
    /// Method.
    pub method: &'a str,
    /// Request target as received.
    pub target: &'a str,
    /// `HTTP/1.1`, `HTTP/2`, `HTTP/3`.
    pub version: &'a str,
    /// Status sent (0 when none was).
    pub status: u16,
    /// Response body bytes sent.
    pub bytes: usize,
    /// `Referer` header.
    pub referer: Option<&'a str>,
    /// `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// Route label.
    pub route: &'a str,
    /// Upstream node name.
    pub node: Option<&'a str>,
    /// Total time in milliseconds.
    pub duration_ms: u64,
}

/// Quotes a value for the combined format: `"` and `\` are escaped and
/// control characters are written as `\xNN`, so a line cannot be forged.
fn quoted(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if c.is_control() => s.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// A token for the combined format: `-` when empty, spaces escaped.
fn token(v: Option<&str>) -> String {
    match v {
        None | Some("") => "-".to_string(),
        Some(v) => {
            let q = quoted(v);
            q[1..q.len() - 1].replace(' ', "\\x20")
        }
    }
}

/// Formats one line (without the newline).
pub fn format(e: &Entry<'_>, f: Format) -> String {
    let tfmt = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    match f {
        Format::Combined => {
            let t = e.time.format(&tfmt).unwrap_or_else(|_| "-".into());
            let request = format!("{} {} {}", e.method, e.target, e.version);
            format!(
                "{} - {} [{}] {} {} {} {} {}",
                e.client.map_or_else(|| "-".to_string(), |c| c.to_string()),
                token(e.user),
                t,
                quoted(&request),
                e.status,
                if e.bytes == 0 {
                    "-".to_string()
                } else {
                    e.bytes.to_string()
                },
                quoted(e.referer.unwrap_or("-")),
                quoted(e.user_agent.unwrap_or("-")),
            )
        }
        Format::Json => {
            let t = e
                .time
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            serde_json::json!({
                "time": t,
                "client": e.client.map(|c| c.to_string()),
                "user": e.user,
                "method": e.method,
                "target": e.target,
                "version": e.version,
                "status": e.status,
                "bytes": e.bytes,
                "referer": e.referer,
                "user_agent": e.user_agent,
                "route": e.route,
                "node": e.node,
                "duration_ms": e.duration_ms,
            })
            .to_string()
        }
    }
}

enum Sink {
    Stdout,
    File(LineWriter<File>),
}

/// An open access log.
pub struct AccessLog {
    path: Option<PathBuf>,
    format: Format,
    sink: Mutex<Sink>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("path", &self.path)
            .finish()
    }
}

fn open(path: &Path) -> std::io::Result<LineWriter<File>> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(LineWriter::new)
}

impl AccessLog {
    /// Opens `path` for appending; `None` means standard output.
    pub fn open(path: Option<&Path>, format: Format) -> std::io::Result<AccessLog> {
        let sink = match path {
            Some(p) => Sink::File(open(p)?),
            None => Sink::Stdout,
        };
        Ok(AccessLog {
            path: path.map(Path::to_path_buf),
            format,
            sink: Mutex::new(sink),
        })
    }

    /// Reopens the file (after log rotation, on SIGHUP).
    pub fn reopen(&self) -> std::io::Result<()> {
        if let Some(p) = &self.path {
            *self.sink.lock() = Sink::File(open(p)?);
        }
        Ok(())
    }

    /// Appends one entry. Write errors are logged, not returned: a full disk
    /// must not fail requests.
    pub fn write(&self, e: &Entry<'_>) {
        let mut line = format(e, self.format);
        line.push('\n');
        let res = match &mut *self.sink.lock() {
            Sink::Stdout => std::io::stdout().lock().write_all(line.as_bytes()),
            Sink::File(w) => w.write_all(line.as_bytes()),
        };
        if let Err(err) = res {
            tracing::warn!("access log write failed: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>() -> Entry<'a> {
        Entry {
            client: Some(IpAddr::from([192, 0, 2, 1])),
            user: Some("alice"),
            time: time::macros::datetime!(2026-11-23 19:06:14 UTC),
            method: "POST",
            target: "/kopano",
            version: "HTTP/1.1",
            status: 200,
            bytes: 512,
            referer: None,
            user_agent: Some("gSOAP/2.8 \"x\""),
            route: "default",
            node: Some("z1"),
            duration_ms: 3,
        }
    }

    #[test]
    fn combined_line() {
        assert_eq!(
            format(&entry(), Format::Combined),
            r#"192.0.2.1 - alice [23/Nov/2026:19:06:14 +0000] "POST /kopano HTTP/1.1" 200 512 "-" "gSOAP/2.8 \"x\"""#
        );
        let mut e = entry();
        e.target = "/x\n1.2.3.4 - - [";
        e.user = Some("a b");
        let line = format(&e, Format::Combined);
        assert!(!line.contains('\n'));
        assert!(line.contains(" a\\x20b "));
    }

    #[test]
    fn json_line() {
        let v: serde_json::Value = serde_json::from_str(&format(&entry(), Format::Json)).unwrap();
        assert_eq!(v["status"], 200);
        assert_eq!(v["node"], "z1");
        assert_eq!(v["time"], "2026-11-23T19:06:14Z");
    }
}
