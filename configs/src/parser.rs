//! The line grammar of KC configuration files, independent of any schema.
//!
//! ```text
//! # comment            (only whole lines; '#' inside a value is kept)
//! key = value          (spaces around '=' optional; value trimmed at both ends)
//! !include FILE        (relative to the including file's directory)
//! !propmap FILE        (recorded for the LDAP plugin, not read here)
//! ```
//!
//! File access goes through a caller-supplied reader so the grammar can be
//! tested and fuzzed without a file system.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::ConfigError;
use crate::origin::Origin;

/// Longest accepted line (bytes); KC values are short, this only stops abuse.
pub const MAX_LINE: usize = 64 * 1024;
/// Largest accepted file (bytes).
pub const MAX_FILE: usize = 4 * 1024 * 1024;
/// Deepest accepted `!include` nesting.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Most files one configuration may pull in, to bound the work of include fans.
pub const MAX_FILES: usize = 256;

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub key: String,
    pub value: String,
    pub origin: Origin,
}

/// A whole configuration with all includes expanded, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub assignments: Vec<Assignment>,
    /// Last `!propmap` path (resolved) and where it was given.
    pub propmap: Option<(PathBuf, Origin)>,
    /// Every file read, the top one first.
    pub files: Vec<PathBuf>,
}

/// Reads an included file: returns an identity used for cycle detection (a
/// canonical path for real files) and the text.
pub type Reader<'a> = dyn FnMut(&Path) -> io::Result<(PathBuf, String)> + 'a;

/// Parses `text` (the contents of `origin`) and every file it includes.
pub fn parse_document(
    text: &str,
    origin: &Path,
    read: &mut Reader<'_>,
) -> Result<Document, ConfigError> {
    parse_document_as(text, origin, origin, read)
}

/// Like [`parse_document`], with `identity` (e.g. the canonical path) naming
/// the top file for cycle detection, so a file that includes itself under
/// another spelling is caught at once.
pub fn parse_document_as(
    text: &str,
    origin: &Path,
    identity: &Path,
    read: &mut Reader<'_>,
) -> Result<Document, ConfigError> {
    let mut doc = Document::default();
    let mut stack = vec![(origin.to_path_buf(), normalize(identity))];
    doc.files.push(origin.to_path_buf());
    parse_into(text, origin, read, &mut stack, &mut doc)?;
    Ok(doc)
}

/// Removes `.` and resolvable `..` components without touching the disk.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `target` relative to the directory holding `file` (unless absolute).
pub fn resolve_relative(file: &Path, target: &str) -> PathBuf {
    let t = Path::new(target);
    if t.is_absolute() {
        return t.to_path_buf();
    }
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(t),
        _ => t.to_path_buf(),
    }
}

fn syntax(file: &Path, line: u32, message: impl Into<String>) -> ConfigError {
    ConfigError::Syntax {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn parse_into(
    text: &str,
    file: &Path,
    read: &mut Reader<'_>,
    stack: &mut Vec<(PathBuf, PathBuf)>,
    doc: &mut Document,
) -> Result<(), ConfigError> {
    if text.len() > MAX_FILE {
        return Err(syntax(
            file,
            0,
            format!("file is larger than {MAX_FILE} bytes"),
        ));
    }
    for (idx, raw_line) in text.lines().enumerate() {
        let lineno = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        if raw_line.len() > MAX_LINE {
            return Err(syntax(
                file,
                lineno,
                format!("line is longer than {MAX_LINE} bytes"),
            ));
        }
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(directive) = line.strip_prefix('!') {
            let (word, arg) = match directive.split_once(char::is_whitespace) {
                Some((w, a)) => (w, a.trim()),
                None => (directive, ""),
            };
            let here = Origin::new(file, lineno);
            match word {
                "include" | "propmap" if arg.is_empty() => {
                    return Err(syntax(file, lineno, format!("!{word} needs a file name")));
                }
                "include" => include(arg, here, read, stack, doc)?,
                "propmap" => doc.propmap = Some((resolve_relative(file, arg), here)),
                _ => {
                    return Err(syntax(
                        file,
                        lineno,
                        format!("unknown directive '!{word}' (known: !include, !propmap)"),
                    ))
                }
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(syntax(
                file,
                lineno,
                format!("expected 'option = value', found '{line}'"),
            ));
        };
        let key = key.trim();
        if !valid_key(key) {
            return Err(syntax(
                file,
                lineno,
                format!("invalid option name '{key}' before '='"),
            ));
        }
        doc.assignments.push(Assignment {
            key: key.to_owned(),
            value: value.trim().to_owned(),
            origin: Origin::new(file, lineno),
        });
    }
    Ok(())
}

fn include(
    arg: &str,
    here: Origin,
    read: &mut Reader<'_>,
    stack: &mut Vec<(PathBuf, PathBuf)>,
    doc: &mut Document,
) -> Result<(), ConfigError> {
    let path = resolve_relative(&here.file, arg);
    if stack.len() >= MAX_INCLUDE_DEPTH {
        return Err(syntax(
            &here.file,
            here.line,
            format!("includes nested deeper than {MAX_INCLUDE_DEPTH} levels"),
        ));
    }
    if doc.files.len() >= MAX_FILES {
        return Err(syntax(
            &here.file,
            here.line,
            format!("more than {MAX_FILES} files included"),
        ));
    }
    let (identity, text) = read(&path).map_err(|source| ConfigError::Io {
        file: here.file.clone(),
        line: here.line,
        path: path.clone(),
        source,
    })?;
    let identity = normalize(&identity);
    if stack.iter().any(|(_, id)| *id == identity) {
        let mut chain: Vec<PathBuf> = stack.iter().map(|(shown, _)| shown.clone()).collect();
        chain.push(path);
        return Err(ConfigError::IncludeCycle {
            file: here.file,
            line: here.line,
            chain,
        });
    }
    doc.files.push(path.clone());
    stack.push((path.clone(), identity));
    let result = parse_into(&text, &path, read, stack, doc);
    stack.pop();
    result
}

/// Reader for real files: canonical path as identity, size-limited read.
pub fn read_file(path: &Path) -> io::Result<(PathBuf, String)> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_FILE).unwrap_or(u64::MAX) + 1;
    f.take(limit).read_to_end(&mut bytes)?;
    // Oversized files are reported by the parser with the file name. Old
    // Zarafa files may carry Latin-1 comments: decode leniently.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let id = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    Ok((id, text))
}
