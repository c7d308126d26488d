//! Logging after KC's `log_method` / `log_file` / `log_level` /
//! `log_timestamp`, on top of tracing-subscriber.
//!
//! KC log levels: 0 none, 1 fatal, 2 error, 3 warning, 4 notice, 5 info,
//! 6 debug. KC also accepts hex masks such as `0x00020003` whose upper bits
//! select extra categories (e.g. LDAP query tracing); only the low byte is a
//! level. Mapping onto tracing: 0 off, 1-2 ERROR, 3 WARN, 4 INFO, 5 DEBUG,
//! 6 and above TRACE. `RUST_LOG`, when set, replaces the configured level
//! (developer override).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tracing::level_filters::LevelFilter;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use tokio::sync::broadcast;

use super::signals::Signals;
use crate::config::Config;

/// tracing level for a KC `log_level` (level number or hex mask).
pub fn kc_level_filter(mask: u32) -> LevelFilter {
    match mask & 0xff {
        0 => LevelFilter::OFF,
        1 | 2 => LevelFilter::ERROR,
        3 => LevelFilter::WARN,
        4 => LevelFilter::INFO,
        5 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

fn encode(f: LevelFilter) -> u8 {
    match f.into_level() {
        None => 0,
        Some(Level::ERROR) => 1,
        Some(Level::WARN) => 2,
        Some(Level::INFO) => 3,
        Some(Level::DEBUG) => 4,
        Some(Level::TRACE) => 5,
    }
}

fn decode(v: u8) -> LevelFilter {
    match v {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// An append-mode log file that can be reopened (after logrotate moved it)
/// without restarting. Cheap to clone; clones share the file.
#[derive(Debug, Clone)]
pub struct ReopenableFile {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

impl ReopenableFile {
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(ReopenableFile {
            path: path.to_path_buf(),
            file: Arc::new(Mutex::new(open_append(path)?)),
        })
    }

    /// Opens the path again and swaps the handle; on error keeps the old one.
    pub fn reopen(&self) -> io::Result<()> {
        let new = open_append(&self.path)?;
        *self.lock() = new;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        // A panic while writing a log line leaves the File usable.
        self.file.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One log event's write; the formatter emits the whole line in one go.
pub struct FileWriter<'a>(MutexGuard<'a, File>);

impl Write for FileWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for ReopenableFile {
    type Writer = FileWriter<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        FileWriter(self.lock())
    }
}

/// Sends each formatted event to syslog(3) (facility mail, as KC did).
#[derive(Clone, Copy)]
struct Syslog;

struct SyslogLine {
    priority: libc::c_int,
    buf: Vec<u8>,
}

/// Longest message handed to syslog; longer ones are cut.
const MAX_SYSLOG_LINE: usize = 8 * 1024;

impl Write for SyslogLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = MAX_SYSLOG_LINE.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&buf[..buf.len().min(room)]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine {
    fn drop(&mut self) {
        let text: Vec<u8> = self.buf.iter().copied().filter(|b| *b != 0).collect();
        let text = String::from_utf8_lossy(&text);
        let Ok(msg) = CString::new(text.trim_end()) else {
            return;
        };
        // SAFETY: both pointers are valid NUL-terminated strings for the call;
        // the format string consumes exactly one %s argument.
        unsafe { libc::syslog(self.priority, c"%s".as_ptr(), msg.as_ptr()) };
    }
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = SyslogLine;
    fn make_writer(&'a self) -> Self::Writer {
        SyslogLine {
            priority: libc::LOG_INFO,
            buf: Vec::new(),
        }
    }
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        let priority = match *meta.level() {
            Level::ERROR => libc::LOG_ERR,
            Level::WARN => libc::LOG_WARNING,
            Level::INFO => libc::LOG_NOTICE,
            Level::DEBUG => libc::LOG_INFO,
            Level::TRACE => libc::LOG_DEBUG,
        };
        SyslogLine {
            priority,
            buf: Vec::new(),
        }
    }
}

fn open_syslog(component: &str) {
    static IDENT: OnceLock<CString> = OnceLock::new();
    let ident = IDENT.get_or_init(|| {
        CString::new(format!("kc-{component}")).unwrap_or_else(|_| c"kc".to_owned())
    });
    // SAFETY: `ident` lives for the rest of the process, as openlog requires.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY,
            libc::LOG_MAIL,
        )
    };
}

/// Keeps logging reconfigurable: reopen the file on SIGHUP and apply a
/// changed `log_level`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LogGuard {
    file: Option<ReopenableFile>,
    level: Arc<AtomicU8>,
    /// Where logs actually go: "file PATH", "syslog" or "stderr".
    target: String,
}

impl LogGuard {
    /// Reopens the log file (no-op for syslog/stderr).
    pub fn reopen(&self) -> io::Result<()> {
        match &self.file {
            Some(f) => f.reopen(),
            None => Ok(()),
        }
    }

    /// Applies a new KC `log_level` at run time.
    pub fn set_level(&self, mask: u32) {
        self.level
            .store(encode(kc_level_filter(mask)), Ordering::Relaxed);
    }

    /// The current level.
    pub fn level(&self) -> LevelFilter {
        decode(self.level.load(Ordering::Relaxed))
    }

    /// On SIGHUP: reopen the file and take over the new `log_level`.
    pub fn reload(&self, cfg: &Config) -> io::Result<()> {
        self.set_level(cfg.mask("log_level"));
        self.reopen()
    }

    /// Spawns a task (inside tokio) that reopens the log file on every
    /// SIGHUP; failures are logged and the old file is kept. Programs that
    /// reload their whole configuration on SIGHUP call [`Self::reload`]
    /// themselves instead.
    pub fn reopen_on_hup(&self, signals: &Signals) -> tokio::task::JoinHandle<()> {
        let mut rx = signals.subscribe_hup();
        let me = self.clone();
        tokio::spawn(async move {
            while let Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) = rx.recv().await {
                if let Err(e) = me.reopen() {
                    tracing::error!("cannot reopen {}: {e}", me.target);
                }
            }
        })
    }

    /// Human description of the log destination.
    pub fn target(&self) -> &str {
        &self.target
    }
}

enum Sink {
    File(ReopenableFile),
    Syslog,
    Stderr,
}

/// Chooses the sink from `log_method` / `log_file`. An unusable log file
/// falls back to stderr (KC fell back to stdout), with a note there.
fn choose_sink(cfg: &Config, component: &str) -> Sink {
    let method = cfg.str("log_method");
    let file = cfg.str("log_file");
    let wants_file = match method {
        "syslog" => {
            open_syslog(component);
            return Sink::Syslog;
        }
        "stderr" => false,
        "auto" => !file.is_empty() && file != "-",
        _ => file != "-" && !file.is_empty(),
    };
    if !wants_file {
        return Sink::Stderr;
    }
    let Some(path) = cfg.path("log_file") else {
        return Sink::Stderr;
    };
    match ReopenableFile::open(&path) {
        Ok(f) => Sink::File(f),
        Err(e) => {
            eprintln!(
                "kc-{component}: cannot open log file {}: {e}; logging to stderr",
                path.display()
            );
            Sink::Stderr
        }
    }
}

/// Installs the global tracing subscriber for `component` (e.g. "server")
/// according to the configuration. If a global subscriber is already set
/// (tests), the existing one stays and the returned guard only tracks level.
pub fn init_logging(cfg: &Config, component: &str) -> LogGuard {
    let level = Arc::new(AtomicU8::new(encode(kc_level_filter(
        cfg.mask("log_level"),
    ))));
    let timestamps = cfg.bool("log_timestamp");
    let sink = choose_sink(cfg, component);
    let (writer, file, target, ts) = match sink {
        Sink::File(f) => {
            let target = format!("file {}", f.path().display());
            (BoxMakeWriter::new(f.clone()), Some(f), target, timestamps)
        }
        // syslog adds its own time stamp.
        Sink::Syslog => (BoxMakeWriter::new(Syslog), None, "syslog".to_owned(), false),
        Sink::Stderr => (
            BoxMakeWriter::new(io::stderr),
            None,
            "stderr".to_owned(),
            timestamps,
        ),
    };
    let shared = level.clone();
    let dynamic = filter_fn(move |meta| *meta.level() <= decode(shared.load(Ordering::Relaxed)));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer);
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = match (ts, std::env::var("RUST_LOG").ok()) {
        (true, None) => fmt.with_filter(dynamic).boxed(),
        (false, None) => fmt.without_time().with_filter(dynamic).boxed(),
        (true, Some(spec)) => fmt.with_filter(EnvFilter::new(spec)).boxed(),
        (false, Some(spec)) => fmt.without_time().with_filter(EnvFilter::new(spec)).boxed(),
    };
    // Err only means a subscriber is already installed; keep that one.
    let _ = tracing_subscriber::registry().with(fmt).try_init();
    LogGuard {
        file,
        level,
        target,
    }
}
