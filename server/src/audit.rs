//! The security (audit) log: KC's line formats (ZCP manual §7.3), written to a
//! file or to syslog with facility authpriv. Secrets never reach this module.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use parking_lot::Mutex;

/// The service name at the start of the startup and signal lines, as KC writes it.
pub const SERVICE: &str = "kopano-server";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    /// `audit_log_method = syslog`.
    Syslog,
    /// `audit_log_method = file`; `None` is `-` (standard error).
    File(Option<PathBuf>),
}

#[derive(Debug, Clone)]
pub struct AuditConfig {
    pub enabled: bool,
    pub target: AuditTarget,
    /// `audit_log_level`; 0 writes nothing.
    pub level: i64,
    pub timestamp: bool,
}

/// How a logon was authenticated; the strings are what KC writes as `method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    Certificate,
    Socket,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "User supplied password",
            AuthMethod::Certificate => "SSL Certificate",
            AuthMethod::Socket => "Pipe socket",
        }
    }
}

/// Quote a value the way KC prints it; quotes and control characters inside
/// user-supplied names are replaced so a line can never be forged.
fn q(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\'' || c.is_control() { '?' } else { c })
        .collect()
}

pub fn startup_line(uid: u32) -> String {
    format!("{SERVICE} startup by user uid={uid}")
}

pub fn signal_line(sig: i32) -> String {
    format!("{SERVICE} signalled sig={sig}")
}

pub fn auth_ok_line(user: &str, from: &str, method: AuthMethod, program: &str) -> String {
    format!(
        "authenticate ok user='{}' from='{}' method='{}' program='{}'",
        q(user),
        q(from),
        method.as_str(),
        q(program)
    )
}

pub fn auth_failed_line(user: &str, from: &str, program: &str) -> String {
    format!(
        "authenticate failed user='{}' from='{}' program='{}'",
        q(user),
        q(from),
        q(program)
    )
}

pub fn impersonate_line(ok: bool, user: &str, from: &str, program: &str, by: &str) -> String {
    format!(
        "impersonate {} user='{}', from='{}' program='{}' impersonator='{}'",
        if ok { "ok" } else { "failed" },
        q(user),
        q(from),
        q(program),
        q(by)
    )
}

enum Sink {
    Off,
    Syslog,
    Stderr,
    File { path: PathBuf, file: Option<File> },
}

pub struct AuditLog {
    sink: Mutex<Sink>,
    timestamp: bool,
}

fn open_append(path: &PathBuf) -> Option<File> {
    match OpenOptions::new().create(true).append(true).open(path) {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot open audit log");
            None
        }
    }
}

impl AuditLog {
    pub fn new(cfg: &AuditConfig) -> AuditLog {
        let sink = if !cfg.enabled || cfg.level <= 0 {
            Sink::Off
        } else {
            match &cfg.target {
                AuditTarget::Syslog => Sink::Syslog,
                AuditTarget::File(None) => Sink::Stderr,
                AuditTarget::File(Some(p)) => Sink::File {
                    path: p.clone(),
                    file: open_append(p),
                },
            }
        };
        AuditLog {
            sink: Mutex::new(sink),
            timestamp: cfg.timestamp,
        }
    }

    pub fn disabled() -> AuditLog {
        AuditLog {
            sink: Mutex::new(Sink::Off),
            timestamp: false,
        }
    }

    /// Reopen the file (log rotation on SIGHUP).
    pub fn reopen(&self) {
        let mut s = self.sink.lock();
        if let Sink::File { path, file } = &mut *s {
            *file = open_append(path);
        }
    }

    pub fn write(&self, line: &str) {
        let mut s = self.sink.lock();
        match &mut *s {
            Sink::Off => {}
            Sink::Syslog => {
                if let Ok(msg) = CString::new(line) {
                    // SAFETY: both pointers are valid NUL-terminated strings and
                    // the format consumes exactly one string argument.
                    unsafe {
                        libc::syslog(
                            libc::LOG_AUTHPRIV | libc::LOG_NOTICE,
                            c"%s".as_ptr(),
                            msg.as_ptr(),
                        );
                    }
                }
            }
            Sink::Stderr => {
                let text = self.format(line);
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
            Sink::File { file, .. } => {
                if let Some(f) = file {
                    let text = self.format(line);
                    if let Err(e) = f.write_all(text.as_bytes()) {
                        tracing::error!(error = %e, "cannot write audit log");
                    }
                }
            }
        }
    }

    fn format(&self, line: &str) -> String {
        if self.timestamp {
            let fmt = time::macros::format_description!(
                "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
            );
            let now = time::OffsetDateTime::now_utc();
            let ts = now.format(&fmt).unwrap_or_default();
            format!("{ts}: {line}\n")
        } else {
            format!("{line}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_formats() {
        assert_eq!(startup_line(0), "kopano-server startup by user uid=0");
        assert_eq!(signal_line(15), "kopano-server signalled sig=15");
        assert_eq!(
            auth_ok_line("john", "127.0.0.1", AuthMethod::Password, "apache2"),
            "authenticate ok user='john' from='127.0.0.1' method='User supplied password' program='apache2'"
        );
        assert_eq!(
            auth_failed_line("john", "127.0.0.1", "apache2"),
            "authenticate failed user='john' from='127.0.0.1' program='apache2'"
        );
        assert_eq!(
            impersonate_line(true, "jane", "127.0.0.1", "apache2", "john"),
            "impersonate ok user='jane', from='127.0.0.1' program='apache2' impersonator='john'"
        );
        assert_eq!(
            auth_failed_line("x' evil='1\n", "h", "p"),
            "authenticate failed user='x? evil=?1?' from='h' program='p'"
        );
    }

    #[test]
    fn file_sink() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.log");
        let log = AuditLog::new(&AuditConfig {
            enabled: true,
            target: AuditTarget::File(Some(p.clone())),
            level: 1,
            timestamp: false,
        });
        log.write(&startup_line(7));
        log.reopen();
        log.write(&signal_line(1));
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "kopano-server startup by user uid=7\nkopano-server signalled sig=1\n"
        );
    }
}
