//! [`Config`]: a component's effective settings, validated against its schema.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::ConfigError;
use crate::origin::Origin;
use crate::parser::{self, Document};
use crate::schema::{LegacyRole, OptionSpec, Schema};
use crate::value::{ListenAddr, Value, ValueKind};

/// Shown instead of secret values.
pub const MASK: &str = "********";

/// Origin used for values given through [`Config::set`].
const SET_ORIGIN: &str = "<set>";

#[derive(Debug, Clone)]
struct Slot {
    /// Normalised text (trimmed; canonical spelling for one-of values).
    raw: String,
    value: Value,
    /// `None` while the schema default is in effect.
    origin: Option<Origin>,
}

/// The effective values of one component after includes, aliases and legacy
/// options are resolved. Every value has been validated, so the accessors
/// cannot fail on input; they panic only when asked for an option the
/// schema does not define (or with the wrong accessor for its kind), which
/// is a programming error caught by the first test that touches it.
#[derive(Debug, Clone)]
pub struct Config {
    schema: &'static Schema,
    slots: Vec<Slot>,
    propmap: Option<PathBuf>,
    source: Option<PathBuf>,
    files: Vec<PathBuf>,
    warnings: Vec<String>,
}

/// Neutral value for a kind, used only if a schema default were invalid (a
/// test guards against that), so construction never panics.
fn zero(kind: ValueKind) -> Value {
    match kind {
        ValueKind::Bool => Value::Bool(false),
        ValueKind::Int => Value::Int(0),
        ValueKind::SizeMb => Value::Bytes(0),
        ValueKind::Duration | ValueKind::DurationIn(_) => Value::Duration(Duration::ZERO),
        ValueKind::Listen => Value::Listen(Vec::new()),
        ValueKind::UriList => Value::Uris(Vec::new()),
        ValueKind::HexMask => Value::Mask(0),
        ValueKind::Path => Value::Path(String::new()),
        ValueKind::Str | ValueKind::Uri | ValueKind::OneOf(_) => Value::Str(String::new()),
    }
}

/// Text stored for a parsed value: one-of words in their listed spelling.
fn normalized_raw(raw: &str, value: &Value, kind: ValueKind) -> String {
    match (kind, value) {
        (ValueKind::OneOf(_), Value::Str(s)) => s.clone(),
        _ => raw.to_owned(),
    }
}

/// Closest known name, if it is close enough to be a typo.
fn suggest(name: &str, known: &[&'static str]) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let (best, dist) = known
        .iter()
        .map(|k| (*k, strsim::damerau_levenshtein(&lower, k)))
        .min_by_key(|(_, d)| *d)?;
    let limit = (lower.chars().count() / 3).clamp(1, 4);
    (dist <= limit).then(|| best.to_owned())
}

#[derive(Debug)]
enum LegacyValue {
    Enable(bool),
    Port(u16),
    Bind(String),
    UriHost(String),
    UriPort(u16),
    UriProtocol(String),
}

impl Config {
    /// Reads `path` (and everything it includes) and validates it.
    pub fn load(path: &Path, schema: &'static Schema) -> Result<Config, ConfigError> {
        let (_, text) = parser::read_file(path).map_err(|source| ConfigError::Io {
            file: path.to_path_buf(),
            line: 0,
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, schema)
    }

    /// Parses `text` as if it were the contents of `origin`. `!include`s are
    /// read from disk relative to `origin`'s directory.
    pub fn parse(
        text: &str,
        origin: &Path,
        schema: &'static Schema,
    ) -> Result<Config, ConfigError> {
        let mut reader = parser::read_file;
        let identity = std::fs::canonicalize(origin).unwrap_or_else(|_| origin.to_path_buf());
        let doc = parser::parse_document_as(text, origin, &identity, &mut reader)?;
        Self::from_document(doc, origin, schema)
    }

    /// Builds a configuration from an already parsed document.
    pub fn from_document(
        doc: Document,
        origin: &Path,
        schema: &'static Schema,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config::defaults(schema);
        cfg.source = Some(origin.to_path_buf());
        cfg.files = doc.files;
        cfg.propmap = doc.propmap.map(|(p, _)| p);
        let mut legacy: HashMap<&'static str, (LegacyValue, Origin)> = HashMap::new();
        for a in doc.assignments {
            if let Some(i) = schema.index_of(&a.key) {
                cfg.assign(i, &a.value, a.origin)?;
            } else if let Some((name, role)) = schema.legacy_name(&a.key) {
                let v = parse_legacy(name, role, &a.value, &a.origin)?;
                legacy.insert(name, (v, a.origin));
            } else {
                return Err(ConfigError::UnknownOption {
                    suggestion: suggest(&a.key, &schema.known_names()),
                    file: a.origin.file,
                    line: a.origin.line,
                    name: a.key,
                });
            }
        }
        cfg.apply_legacy(&legacy)?;
        cfg.apply_legacy_uri(&legacy)?;
        Ok(cfg)
    }

    /// Every option at its schema default.
    pub fn defaults(schema: &'static Schema) -> Config {
        let slots = schema
            .options
            .iter()
            .map(|o| {
                let value = o.kind.parse(o.default).unwrap_or_else(|_| zero(o.kind));
                Slot {
                    raw: normalized_raw(o.default, &value, o.kind),
                    value,
                    origin: None,
                }
            })
            .collect();
        Config {
            schema,
            slots,
            propmap: None,
            source: None,
            files: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Sets one option as if it were the last line of the file (for tests
    /// and command-line overrides). Aliases are accepted.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let origin = Origin::new(SET_ORIGIN, 0);
        match self.schema.index_of(key) {
            Some(i) => self.assign(i, value.trim(), origin),
            None => Err(ConfigError::UnknownOption {
                file: origin.file,
                line: 0,
                name: key.to_owned(),
                suggestion: suggest(key, &self.schema.known_names()),
            }),
        }
    }

    fn assign(&mut self, i: usize, raw: &str, origin: Origin) -> Result<(), ConfigError> {
        let spec = &self.schema.options[i];
        let value = spec
            .kind
            .parse(raw)
            .map_err(|expected| ConfigError::InvalidValue {
                file: origin.file.clone(),
                line: origin.line,
                option: spec.name.to_owned(),
                // Error messages end up in logs: never echo a secret.
                value: if spec.secret {
                    MASK.to_owned()
                } else {
                    raw.to_owned()
                },
                expected,
            })?;
        self.slots[i] = Slot {
            raw: normalized_raw(raw, &value, spec.kind),
            value,
            origin: Some(origin),
        };
        Ok(())
    }

    fn apply_legacy(
        &mut self,
        legacy: &HashMap<&'static str, (LegacyValue, Origin)>,
    ) -> Result<(), ConfigError> {
        for l in self.schema.legacy_listen {
            let parts: Vec<&(LegacyValue, Origin)> = [l.enable, l.port, l.bind]
                .iter()
                .filter(|n| !n.is_empty())
                .filter_map(|n| legacy.get(n))
                .collect();
            if parts.is_empty() {
                continue;
            }
            let Some(t) = self.schema.index_of(l.target) else {
                continue;
            };
            if let Some(set_at) = self.slots[t].origin.clone() {
                for (name, (_, o)) in legacy
                    .iter()
                    .filter(|(n, _)| [l.enable, l.port, l.bind].contains(n))
                {
                    let w = format!(
                        "{o}: legacy option '{name}' ignored because '{}' is set at {set_at}",
                        l.target
                    );
                    if !self.warnings.contains(&w) {
                        self.warnings.push(w);
                    }
                }
                continue;
            }
            let mut enabled = l.enabled_by_default;
            let mut port = l.default_port;
            let mut host = "*".to_owned();
            for (v, _) in &parts {
                match v {
                    LegacyValue::Enable(b) => enabled = *b,
                    LegacyValue::Port(p) => port = *p,
                    LegacyValue::Bind(h) if !h.is_empty() => host = h.clone(),
                    _ => {}
                }
            }
            let raw = if !enabled {
                String::new()
            } else if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            // The most specific part names the place to look at.
            let origin = parts
                .iter()
                .find(|(v, _)| matches!(v, LegacyValue::Port(_)))
                .or_else(|| parts.first())
                .map(|(_, o)| o.clone())
                .unwrap_or_else(|| Origin::new(SET_ORIGIN, 0));
            self.assign(t, &raw, origin)?;
        }
        Ok(())
    }

    fn apply_legacy_uri(
        &mut self,
        legacy: &HashMap<&'static str, (LegacyValue, Origin)>,
    ) -> Result<(), ConfigError> {
        let Some(u) = self.schema.legacy_uri else {
            return Ok(());
        };
        let names = [u.host, u.port, u.protocol];
        let given: Vec<(&'static str, &(LegacyValue, Origin))> = names
            .iter()
            .filter_map(|n| legacy.get(n).map(|v| (*n, v)))
            .collect();
        if given.is_empty() {
            return Ok(());
        }
        let Some(t) = self.schema.index_of(u.target) else {
            return Ok(());
        };
        if let Some(set_at) = self.slots[t].origin.clone() {
            for (name, (_, o)) in given {
                self.warnings.push(format!(
                    "{o}: legacy option '{name}' ignored because '{}' is set at {set_at}",
                    u.target
                ));
            }
            return Ok(());
        }
        let mut hosts = "localhost".to_owned();
        let mut port = None;
        let mut proto = "ldap".to_owned();
        for (_, (v, _)) in &given {
            match v {
                LegacyValue::UriHost(h) if !h.is_empty() => hosts = h.clone(),
                LegacyValue::UriPort(p) => port = Some(*p),
                LegacyValue::UriProtocol(p) => proto = p.clone(),
                _ => {}
            }
        }
        let port = port.unwrap_or(if proto == "ldaps" { 636 } else { 389 });
        let raw = hosts
            .split_whitespace()
            .map(|h| format!("{proto}://{h}:{port}/"))
            .collect::<Vec<_>>()
            .join(" ");
        let origin = given
            .last()
            .map(|(_, (_, o))| o.clone())
            .unwrap_or_else(|| Origin::new(SET_ORIGIN, 0));
        self.assign(t, &raw, origin)
    }

    fn slot(&self, key: &str) -> (&'static OptionSpec, &Slot) {
        match self.schema.index_of(key) {
            Some(i) => (&self.schema.options[i], &self.slots[i]),
            None => panic!(
                "kc-configs: option '{key}' is not defined in the {} schema",
                self.schema.component
            ),
        }
    }

    fn mismatch(&self, key: &str, want: &str) -> ! {
        panic!(
            "kc-configs: option '{key}' of the {} schema is not {want}",
            self.schema.component
        )
    }

    /// The value as text (schema default when unset; "" when empty).
    pub fn str(&self, key: &str) -> &str {
        &self.slot(key).1.raw
    }

    /// The value as text, `None` when empty.
    pub fn opt_str(&self, key: &str) -> Option<&str> {
        Some(self.str(key)).filter(|s| !s.is_empty())
    }

    /// A [`ValueKind::Bool`] option.
    pub fn bool(&self, key: &str) -> bool {
        match &self.slot(key).1.value {
            Value::Bool(b) => *b,
            _ => self.mismatch(key, "a bool"),
        }
    }

    /// An [`ValueKind::Int`] (or [`ValueKind::HexMask`]) option.
    pub fn int(&self, key: &str) -> i64 {
        match &self.slot(key).1.value {
            Value::Int(i) => *i,
            Value::Mask(m) => i64::from(*m),
            _ => self.mismatch(key, "an integer"),
        }
    }

    /// A [`ValueKind::SizeMb`] option, in bytes.
    pub fn size_bytes(&self, key: &str) -> u64 {
        match &self.slot(key).1.value {
            Value::Bytes(b) => *b,
            _ => self.mismatch(key, "a size"),
        }
    }

    /// A [`ValueKind::Duration`] / [`ValueKind::DurationIn`] option.
    pub fn duration(&self, key: &str) -> Duration {
        match &self.slot(key).1.value {
            Value::Duration(d) => *d,
            _ => self.mismatch(key, "a duration"),
        }
    }

    /// A [`ValueKind::Listen`] option; empty when the listener is disabled.
    pub fn listen(&self, key: &str) -> Vec<ListenAddr> {
        match &self.slot(key).1.value {
            Value::Listen(l) => l.clone(),
            _ => self.mismatch(key, "a listen list"),
        }
    }

    /// A [`ValueKind::UriList`] (or single [`ValueKind::Uri`]) option.
    pub fn uris(&self, key: &str) -> Vec<String> {
        match &self.slot(key).1.value {
            Value::Uris(u) => u.clone(),
            Value::Str(s) if self.slot(key).0.kind == ValueKind::Uri => {
                if s.is_empty() {
                    Vec::new()
                } else {
                    vec![s.clone()]
                }
            }
            _ => self.mismatch(key, "a URI list"),
        }
    }

    /// A [`ValueKind::HexMask`] (or non-negative [`ValueKind::Int`]) option.
    pub fn mask(&self, key: &str) -> u32 {
        match &self.slot(key).1.value {
            Value::Mask(m) => *m,
            Value::Int(i) => u32::try_from(*i).unwrap_or(0),
            _ => self.mismatch(key, "a mask"),
        }
    }

    /// A path option; `None` when empty. Relative paths are resolved against
    /// the directory of the file that set them (the main file for defaults).
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        let (_, slot) = self.slot(key);
        let p = match &slot.value {
            Value::Path(p) | Value::Str(p) => p,
            _ => self.mismatch(key, "a path"),
        };
        if p.is_empty() {
            return None;
        }
        let base = match &slot.origin {
            Some(o) if o.line > 0 => Some(o.file.as_path()),
            _ => self.source.as_deref(),
        };
        Some(match base {
            Some(b) => parser::resolve_relative(b, p),
            None => PathBuf::from(p),
        })
    }

    /// Whether the option was assigned (in a file or by [`Config::set`]).
    pub fn is_set(&self, key: &str) -> bool {
        self.slot(key).1.origin.is_some()
    }

    /// `FILE:LINE` of the winning assignment; `None` while at the default.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.slot(key).1.origin.as_ref()
    }

    /// The `!propmap` file (resolved), if one was given.
    pub fn propmap(&self) -> Option<&Path> {
        self.propmap.as_deref()
    }

    /// The main file this configuration was loaded from.
    pub fn source_path(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Every file read, main file first (for reload diagnostics).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The schema this configuration was validated against.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// Non-fatal findings, e.g. legacy options overridden by current ones.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Reads the same file again (for SIGHUP); errors leave `self` untouched.
    pub fn reload(&self) -> Result<Config, ConfigError> {
        match &self.source {
            Some(p) => Config::load(p, self.schema),
            None => Ok(self.clone()),
        }
    }

    /// The typed value of an option (see [`Value`]).
    pub fn value(&self, key: &str) -> &Value {
        &self.slot(key).1.value
    }

    /// Options whose effective value differs in `newer` (same schema
    /// assumed), e.g. to act on a SIGHUP reload.
    pub fn changed(&self, newer: &Config) -> Vec<&'static OptionSpec> {
        self.schema
            .options
            .iter()
            .zip(self.slots.iter().zip(&newer.slots))
            .filter(|(_, (a, b))| a.value != b.value)
            .map(|(o, _)| o)
            .collect()
    }

    /// Names of changed options that are not reloadable: a reload cannot
    /// apply them, a restart is needed.
    pub fn restart_required(&self, newer: &Config) -> Vec<&'static str> {
        self.changed(newer)
            .into_iter()
            .filter(|o| !o.reloadable)
            .map(|o| o.name)
            .collect()
    }

    /// Every option in schema order with its effective text; non-empty
    /// secrets are replaced by `********`.
    pub fn effective(&self) -> Vec<(&'static str, String)> {
        self.schema
            .options
            .iter()
            .zip(&self.slots)
            .map(|(o, s)| {
                let v = if o.secret && !s.raw.is_empty() {
                    MASK.to_owned()
                } else {
                    s.raw.clone()
                };
                (o.name, v)
            })
            .collect()
    }
}

fn parse_legacy(
    name: &str,
    role: LegacyRole,
    raw: &str,
    origin: &Origin,
) -> Result<LegacyValue, ConfigError> {
    let invalid = |expected: &str| ConfigError::InvalidValue {
        file: origin.file.clone(),
        line: origin.line,
        option: name.to_owned(),
        value: raw.to_owned(),
        expected: expected.to_owned(),
    };
    match role {
        LegacyRole::Enable => crate::value::parse_bool(raw)
            .map(LegacyValue::Enable)
            .ok_or_else(|| invalid(&ValueKind::Bool.expected())),
        LegacyRole::Port => raw
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .map(LegacyValue::Port)
            .ok_or_else(|| invalid("a port number from 1 to 65535")),
        LegacyRole::UriHost => {
            let ok = raw.split_whitespace().all(|h| {
                ListenAddr::parse(&format!("{h}:1")).is_some_and(|a| {
                    matches!(
                        a,
                        ListenAddr::Tcp {
                            host: Some(_),
                            iface: None,
                            ..
                        }
                    )
                })
            });
            if ok {
                Ok(LegacyValue::UriHost(raw.to_owned()))
            } else {
                Err(invalid("space-separated LDAP host names"))
            }
        }
        LegacyRole::UriPort => raw
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .map(LegacyValue::UriPort)
            .ok_or_else(|| invalid("a port number from 1 to 65535")),
        LegacyRole::UriProtocol => match raw.to_ascii_lowercase().as_str() {
            p @ ("ldap" | "ldaps") => Ok(LegacyValue::UriProtocol(p.to_owned())),
            _ => Err(invalid("one of ldap or ldaps")),
        },
        LegacyRole::Bind => {
            let ok = raw.is_empty()
                || raw == "*"
                || ListenAddr::parse(&format!("{raw}:1")).is_some()
                || ListenAddr::parse(&format!("[{raw}]:1")).is_some();
            if ok {
                Ok(LegacyValue::Bind(if raw == "*" {
                    String::new()
                } else {
                    raw.to_owned()
                }))
            } else {
                Err(invalid("an IP address or host name to bind to"))
            }
        }
    }
}
