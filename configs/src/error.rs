//! Load-time configuration errors. Every variant that stems from a file
//! carries its `FILE:LINE` so the operator can go straight to the culprit.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Formats `FILE:LINE`, or only `FILE` when the line is 0 (whole-file or
/// command-line problems).
struct Loc<'a>(&'a Path, u32);

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 == 0 {
            write!(f, "{}", self.0.display())
        } else {
            write!(f, "{}:{}", self.0.display(), self.1)
        }
    }
}

fn hint(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

fn show_chain(c: &[PathBuf]) -> String {
    c.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A configuration file (the main one, or one named by `!include`/`!propmap`)
    /// could not be read. `file`/`line` is the directive that named it, or the
    /// file itself with line 0.
    #[error("{}: cannot read '{}': {source}", Loc(file, *line), path.display())]
    Io {
        file: PathBuf,
        line: u32,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An option name that is neither in the schema nor one of its aliases.
    #[error("{}: unknown option '{name}'{}", Loc(file, *line), hint(suggestion))]
    UnknownOption {
        file: PathBuf,
        line: u32,
        name: String,
        /// The closest known option name, when one is close enough to be a typo.
        suggestion: Option<String>,
    },
    /// A value that does not parse as the option's [`crate::ValueKind`].
    #[error("{}: invalid value '{value}' for option '{option}': expected {expected}", Loc(file, *line))]
    InvalidValue {
        file: PathBuf,
        line: u32,
        option: String,
        value: String,
        expected: String,
    },
    /// `!include` chain that comes back to a file already being read.
    /// `chain` starts with the outermost file and ends with the repeated one.
    #[error("{}: include cycle: {}", Loc(file, *line), show_chain(chain))]
    IncludeCycle {
        file: PathBuf,
        line: u32,
        chain: Vec<PathBuf>,
    },
    /// A line that is not a comment, a directive or `key = value`, or includes
    /// nested too deeply.
    #[error("{}: syntax error: {message}", Loc(file, *line))]
    Syntax {
        file: PathBuf,
        line: u32,
        message: String,
    },
}

impl ConfigError {
    /// `FILE:LINE` the error points at (line 0 when it concerns a whole file).
    pub fn location(&self) -> (&Path, u32) {
        match self {
            ConfigError::Io { file, line, .. }
            | ConfigError::UnknownOption { file, line, .. }
            | ConfigError::InvalidValue { file, line, .. }
            | ConfigError::IncludeCycle { file, line, .. }
            | ConfigError::Syntax { file, line, .. } => (file, *line),
        }
    }
}
