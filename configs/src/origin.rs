//! Where an assignment came from, for error messages and `--check-config`.

use std::fmt;
use std::path::PathBuf;

/// `FILE:LINE` of one assignment (line numbers start at 1; 0 means "not from a file").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub file: PathBuf,
    pub line: u32,
}

impl Origin {
    pub fn new(file: impl Into<PathBuf>, line: u32) -> Self {
        Origin {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}
