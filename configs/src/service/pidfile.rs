//! The `pid_file` a daemon writes at start-up, as KC does: in the
//! foreground too, removed again on a clean exit, and a guard against a
//! second copy of the same program using the same file.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A written pid file; removed again when dropped (if it still names us).
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path)
            .map(|s| s.trim() == self.pid.to_string())
            .unwrap_or(false);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Why a pid file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    /// The file names a running process of this program.
    #[error("{program} is already running with pid {pid} ({path})")]
    Running {
        /// This program's name, as the kernel knows it.
        program: String,
        /// The running process.
        pid: u32,
        /// The pid file.
        path: PathBuf,
    },
    /// Reading, removing or writing the file failed.
    #[error("pid file {path}: {source}")]
    Io {
        /// The pid file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// The kernel's short name of a process (`/proc/PID/comm`).
fn command_name(pid: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_owned())
}

/// Fails when `path` names a live process, other than this one, that runs
/// the same program (same command name) as this process. A missing file, a
/// file that names no pid, a dead process or another program are fine: the
/// file is stale and will be replaced.
///
/// Daemons call this before forking, so that the refusal reaches the
/// terminal; [`write_pid_file`] checks again.
pub fn check_pid_file(path: &Path) -> Result<(), PidFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(PidFileError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return Ok(());
    };
    if pid == 0 || pid == std::process::id() {
        return Ok(());
    }
    let (Some(theirs), Some(ours)) = (command_name(&pid.to_string()), command_name("self")) else {
        // No such process (or /proc is not there to ask).
        return Ok(());
    };
    if theirs == ours {
        return Err(PidFileError::Running {
            program: ours,
            pid,
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Writes this process's id to `path` (mode 0644), after [`check_pid_file`];
/// a stale file is replaced. The returned guard removes the file when
/// dropped.
pub fn write_pid_file(path: &Path) -> Result<PidFile, PidFileError> {
    check_pid_file(path)?;
    let io_err = |source| PidFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let pid = std::process::id();
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .map_err(io_err)?;
    writeln!(f, "{pid}").map_err(io_err)?;
    Ok(PidFile {
        path: path.to_path_buf(),
        pid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_and_foreign_files_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pid");
        // A process that has exited.
        let mut done = std::process::Command::new("true").spawn().unwrap();
        let dead = done.id();
        done.wait().unwrap();
        std::fs::write(&p, format!("{dead}\n")).unwrap();
        check_pid_file(&p).unwrap();
        // A live process of another program.
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::write(&p, format!("{}\n", other.id())).unwrap();
        let written = write_pid_file(&p);
        let _ = other.kill();
        let _ = other.wait();
        let guard = written.unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(guard);
        assert!(!p.exists());
    }

    #[test]
    fn garbage_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pid");
        std::fs::write(&p, "not a pid\n").unwrap();
        check_pid_file(&p).unwrap();
        check_pid_file(&dir.path().join("missing.pid")).unwrap();
    }

    #[test]
    fn a_file_someone_else_rewrote_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pid");
        let guard = write_pid_file(&p).unwrap();
        std::fs::write(&p, "1\n").unwrap();
        drop(guard);
        assert!(p.exists());
    }
}
