//! Value kinds an option can have, and the load-time parsing of raw text
//! into typed [`Value`]s. Everything here is pure and allocation-bounded by
//! the input line.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// Unit a plain number means for a duration option (suffixes override it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    fn millis(self) -> u64 {
        match self {
            TimeUnit::Millis => 1,
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TimeUnit::Millis => "milliseconds",
            TimeUnit::Seconds => "seconds",
            TimeUnit::Minutes => "minutes",
            TimeUnit::Hours => "hours",
            TimeUnit::Days => "days",
        }
    }
}

/// What text an option accepts. Validation happens once, at load time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Any text, kept as written (inner spaces included).
    Str,
    /// `yes`/`no`/`true`/`false`/`1`/`0`, case-insensitive.
    Bool,
    /// A signed decimal integer.
    Int,
    /// A size; a plain number is megabytes, `k`/`m`/`g`/`t` suffixes (optionally
    /// followed by `b`) select KiB/MiB/GiB/TiB.
    SizeMb,
    /// A duration; a plain number is seconds; suffixes `ms`, `s`, `m`, `h`, `d`.
    Duration,
    /// A duration whose plain number means the given unit (e.g. days).
    DurationIn(TimeUnit),
    /// Space-separated listen addresses; empty means "disabled".
    Listen,
    /// Space-separated list of `scheme://...` URIs; may be empty.
    UriList,
    /// A single `scheme://...` URI; may be empty.
    Uri,
    /// `0x` hexadecimal or plain decimal 32-bit mask (e.g. `log_level`).
    HexMask,
    /// A file or directory path; relative paths are resolved against the
    /// directory of the file that set them. Empty means "not set".
    Path,
    /// One of a fixed set of words (case-insensitive; stored as listed).
    OneOf(&'static [&'static str]),
}

/// A validated option value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Bytes(u64),
    Duration(Duration),
    Listen(Vec<ListenAddr>),
    Uris(Vec<String>),
    Mask(u32),
    Path(String),
}

/// One listening endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListenAddr {
    /// `host:port`, `*:port`, `[v6]:port`, `*%iface:port` / `host%iface:port`.
    Tcp {
        /// `None` for `*` (every address).
        host: Option<String>,
        port: u16,
        /// Interface to bind to (`SO_BINDTODEVICE`), from the `%iface` suffix.
        iface: Option<String>,
    },
    /// `unix:/path/to/socket`.
    Unix(PathBuf),
}

const LISTEN_EXPECTED: &str =
    "a listen address like *:236, 0.0.0.0:143, [::]:993, *%lo:236 or unix:/path";

impl ValueKind {
    /// Human description used in "expected ..." of invalid-value errors.
    pub fn expected(&self) -> String {
        match self {
            ValueKind::Str => "text".into(),
            ValueKind::Bool => "yes, no, true, false, 1 or 0".into(),
            ValueKind::Int => "an integer".into(),
            ValueKind::SizeMb => "a size in megabytes, optionally with a k, m or g suffix".into(),
            ValueKind::Duration => {
                "a duration in seconds, optionally with an ms, s, m, h or d suffix".into()
            }
            ValueKind::DurationIn(u) => format!(
                "a duration in {}, optionally with an ms, s, m, h or d suffix",
                u.name()
            ),
            ValueKind::Listen => LISTEN_EXPECTED.into(),
            ValueKind::UriList => "a space-separated list of URIs like ldap://host:389".into(),
            ValueKind::Uri => "a URI like http://localhost:236/kopano".into(),
            ValueKind::HexMask => "a decimal number or a hex mask like 0x00020003".into(),
            ValueKind::Path => "a path".into(),
            ValueKind::OneOf(words) => one_of_text(words),
        }
    }

    /// Parses `raw` (already trimmed) into a typed value, or returns the
    /// "expected ..." text on failure.
    pub fn parse(&self, raw: &str) -> Result<Value, String> {
        let bad = || Err(self.expected());
        match self {
            ValueKind::Str => Ok(Value::Str(raw.to_owned())),
            ValueKind::Path => Ok(Value::Path(raw.to_owned())),
            ValueKind::Bool => match parse_bool(raw) {
                Some(b) => Ok(Value::Bool(b)),
                None => bad(),
            },
            ValueKind::Int => raw.parse::<i64>().map(Value::Int).or_else(|_| bad()),
            ValueKind::SizeMb => parse_size(raw)
                .map(Value::Bytes)
                .ok_or_else(|| self.expected()),
            ValueKind::Duration => parse_duration(raw, TimeUnit::Seconds)
                .map(Value::Duration)
                .ok_or_else(|| self.expected()),
            ValueKind::DurationIn(u) => parse_duration(raw, *u)
                .map(Value::Duration)
                .ok_or_else(|| self.expected()),
            ValueKind::Listen => parse_listen_list(raw)
                .map(Value::Listen)
                .ok_or_else(|| self.expected()),
            ValueKind::UriList => {
                let mut out = Vec::new();
                for u in raw.split_whitespace() {
                    if !is_uri(u) {
                        return bad();
                    }
                    out.push(u.to_owned());
                }
                Ok(Value::Uris(out))
            }
            ValueKind::Uri => {
                if raw.is_empty() || is_uri(raw) {
                    Ok(Value::Str(raw.to_owned()))
                } else {
                    bad()
                }
            }
            ValueKind::HexMask => parse_mask(raw)
                .map(Value::Mask)
                .ok_or_else(|| self.expected()),
            ValueKind::OneOf(words) => words
                .iter()
                .find(|w| w.eq_ignore_ascii_case(raw))
                .map(|w| Value::Str((*w).to_owned()))
                .ok_or_else(|| self.expected()),
        }
    }
}

fn one_of_text(words: &[&str]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| {
            if w.is_empty() {
                "an empty value".to_owned()
            } else {
                (*w).to_owned()
            }
        })
        .collect();
    match quoted.split_last() {
        None => "nothing".into(),
        Some((only, [])) => only.clone(),
        Some((last, rest)) => format!("one of {} or {}", rest.join(", "), last),
    }
}

/// KC booleans: yes/no, true/false, 1/0 in any case.
pub fn parse_bool(raw: &str) -> Option<bool> {
    const T: [&str; 3] = ["yes", "true", "1"];
    const F: [&str; 3] = ["no", "false", "0"];
    if T.iter().any(|t| t.eq_ignore_ascii_case(raw)) {
        Some(true)
    } else if F.iter().any(|f| f.eq_ignore_ascii_case(raw)) {
        Some(false)
    } else {
        None
    }
}

/// Splits `123abc` into (123, "abc") when the number part is non-empty.
fn split_number(raw: &str) -> Option<(u64, &str)> {
    let end = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    if end == 0 {
        return None;
    }
    let n = raw[..end].parse::<u64>().ok()?;
    Some((n, raw[end..].trim_start()))
}

fn parse_size(raw: &str) -> Option<u64> {
    let (n, suffix) = split_number(raw)?;
    let lower = suffix.to_ascii_lowercase();
    let unit_part = lower
        .strip_suffix('b')
        .filter(|s| !s.is_empty())
        .unwrap_or(&lower);
    let mult: u64 = match unit_part {
        "" | "m" => 1 << 20,
        "k" => 1 << 10,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn parse_duration(raw: &str, unit: TimeUnit) -> Option<Duration> {
    let (n, suffix) = split_number(raw)?;
    let ms_per = match suffix.to_ascii_lowercase().as_str() {
        "" => unit.millis(),
        "ms" => TimeUnit::Millis.millis(),
        "s" => TimeUnit::Seconds.millis(),
        "m" => TimeUnit::Minutes.millis(),
        "h" => TimeUnit::Hours.millis(),
        "d" => TimeUnit::Days.millis(),
        _ => return None,
    };
    n.checked_mul(ms_per).map(Duration::from_millis)
}

fn parse_mask(raw: &str) -> Option<u32> {
    if let Some(hex) = raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
        if hex.is_empty() || hex.starts_with('+') {
            return None;
        }
        u32::from_str_radix(hex, 16).ok()
    } else if raw.starts_with('+') {
        None
    } else {
        raw.parse::<u32>().ok()
    }
}

/// `scheme://rest` with an RFC 3986 scheme and no whitespace.
fn is_uri(u: &str) -> bool {
    let Some((scheme, rest)) = u.split_once("://") else {
        return false;
    };
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.chars().any(char::is_whitespace)
}

fn parse_listen_list(raw: &str) -> Option<Vec<ListenAddr>> {
    raw.split_whitespace().map(ListenAddr::parse).collect()
}

fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
}

fn valid_iface(i: &str) -> bool {
    // IFNAMSIZ is 16 including the NUL.
    !i.is_empty() && i.len() < 16 && !i.contains(['/', ' ', ':'])
}

impl ListenAddr {
    /// Parses one listen address (see [`ListenAddr`] for the accepted forms).
    pub fn parse(s: &str) -> Option<ListenAddr> {
        if let Some(path) = s.strip_prefix("unix:") {
            return if path.is_empty() {
                None
            } else {
                Some(ListenAddr::Unix(PathBuf::from(path)))
            };
        }
        let (hostpart, port) = if let Some(rest) = s.strip_prefix('[') {
            let (inside, after) = rest.split_once(']')?;
            let port = after.strip_prefix(':')?;
            let (ip, iface) = match inside.split_once('%') {
                Some((ip, i)) => (ip, Some(i)),
                None => (inside, None),
            };
            ip.parse::<Ipv6Addr>().ok()?;
            ((Some(ip.to_owned()), iface.map(str::to_owned)), port)
        } else {
            let (host, port) = s.rsplit_once(':')?;
            let (h, iface) = match host.split_once('%') {
                Some((h, i)) => (h, Some(i)),
                None => (host, None),
            };
            let h = if h == "*" {
                None
            } else if h.parse::<Ipv4Addr>().is_ok() || valid_hostname(h) {
                Some(h.to_owned())
            } else {
                return None;
            };
            ((h, iface.map(str::to_owned)), port)
        };
        if !port.bytes().all(|b| b.is_ascii_digit()) || port.is_empty() {
            return None;
        }
        let port = port.parse::<u16>().ok()?;
        let (host, iface) = hostpart;
        if let Some(i) = &iface {
            if !valid_iface(i) {
                return None;
            }
        }
        Some(ListenAddr::Tcp { host, port, iface })
    }

    /// Port of a TCP address, `None` for unix sockets.
    pub fn port(&self) -> Option<u16> {
        match self {
            ListenAddr::Tcp { port, .. } => Some(*port),
            ListenAddr::Unix(_) => None,
        }
    }

    /// Socket addresses to bind. `*` yields the IPv6 wildcard when the host
    /// has IPv6 (a dual-stack socket then also accepts IPv4) and the IPv4
    /// wildcard otherwise; host names are resolved. Unix sockets are an
    /// `InvalidInput` error.
    pub fn to_socket_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        match self {
            ListenAddr::Unix(p) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unix:{} is not a TCP address", p.display()),
            )),
            ListenAddr::Tcp {
                host: None, port, ..
            } => {
                let ip = if ipv6_available() {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                };
                Ok(vec![SocketAddr::new(ip, *port)])
            }
            ListenAddr::Tcp {
                host: Some(h),
                port,
                ..
            } => {
                if let Ok(ip) = h.parse::<IpAddr>() {
                    return Ok(vec![SocketAddr::new(ip, *port)]);
                }
                let addrs: Vec<SocketAddr> = (h.as_str(), *port).to_socket_addrs()?.collect();
                if addrs.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{h} does not resolve to any address"),
                    ));
                }
                Ok(addrs)
            }
        }
    }
}

fn ipv6_available() -> bool {
    std::net::UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).is_ok()
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ListenAddr::Tcp { host, port, iface } => {
                let h = host.as_deref().unwrap_or("*");
                let i = iface
                    .as_deref()
                    .map(|i| format!("%{i}"))
                    .unwrap_or_default();
                if h.contains(':') {
                    write!(f, "[{h}{i}]:{port}")
                } else {
                    write!(f, "{h}{i}:{port}")
                }
            }
        }
    }
}
