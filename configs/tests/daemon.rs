//! daemonize() and drop_privileges() change the whole process, so they run
//! in a child process: this test binary started again with only
//! `child_entry` selected and an environment variable saying what to do.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kc_configs::{schemas, service, Config};

const MODE: &str = "KC_CONFIGS_TEST_CHILD";
const OUT: &str = "KC_CONFIGS_TEST_OUT";

fn write_result(dir: &Path, text: &str) {
    let tmp = dir.join("result.tmp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, dir.join("result")).unwrap();
}

/// The child side; does nothing unless started by the tests below.
#[test]
fn child_entry() {
    let (Ok(mode), Ok(out)) = (std::env::var(MODE), std::env::var(OUT)) else {
        return;
    };
    let out = PathBuf::from(out);
    match mode.as_str() {
        "daemonize" => {
            let before = std::process::id();
            service::daemonize().unwrap();
            let pid = std::process::id();
            // SAFETY: plain syscalls.
            let (sid, ppid) = unsafe { (libc::getsid(0), libc::getppid()) };
            let cwd = std::env::current_dir().unwrap();
            let stdin = fs::read_link("/proc/self/fd/0").unwrap();
            let pidfile = service::write_pid_file(&out.join("d.pid")).unwrap();
            std::mem::forget(pidfile);
            write_result(
                &out,
                &format!(
                    "{before} {pid} {sid} {ppid} {} {}",
                    cwd.display(),
                    stdin.display()
                ),
            );
        }
        "drop" => {
            let mut cfg = Config::defaults(schemas::server());
            cfg.set("run_as_user", "nobody").unwrap();
            cfg.set("run_as_group", "nogroup").unwrap();
            service::drop_privileges(&cfg).unwrap();
            // SAFETY: plain syscalls.
            let ids = unsafe {
                (
                    libc::getuid(),
                    libc::geteuid(),
                    libc::getgid(),
                    libc::getegid(),
                )
            };
            // Back to root must be impossible now.
            // SAFETY: plain syscall.
            let regain = unsafe { libc::setuid(0) };
            write_result(
                &out,
                &format!("{} {} {} {} {regain}", ids.0, ids.1, ids.2, ids.3),
            );
        }
        other => panic!("unknown child mode {other}"),
    }
    // Leave without returning into the test harness (whose other threads
    // do not exist in a forked daemon).
    // SAFETY: ends this process at once.
    unsafe { libc::_exit(0) };
}

fn run_child(mode: &str, dir: &Path) -> String {
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--test-threads=1", "--nocapture"])
        .env(MODE, mode)
        .env(OUT, dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "child exited with {status}");
    // The daemon lives on after its parent exited: wait for its report.
    let deadline = Instant::now() + Duration::from_secs(120);
    let result = dir.join("result");
    while !result.exists() {
        assert!(Instant::now() < deadline, "the child never reported back");
        std::thread::sleep(Duration::from_millis(20));
    }
    fs::read_to_string(result).unwrap()
}

#[test]
fn daemonize_detaches() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_child("daemonize", dir.path());
    let f: Vec<&str> = r.split(' ').collect();
    assert_eq!(f.len(), 6, "{r}");
    let (before, pid, sid) = (f[0], f[1], f[2]);
    assert_ne!(before, pid, "daemon must be a new process");
    assert_ne!(sid, before, "daemon must be in a new session");
    assert_ne!(
        sid, pid,
        "daemon must not be a session leader (second fork)"
    );
    assert_eq!(f[4], "/");
    assert_eq!(f[5], "/dev/null");
    assert_eq!(
        fs::read_to_string(dir.path().join("d.pid")).unwrap(),
        format!("{pid}\n")
    );
}

fn id_of(file: &str, name: &str) -> String {
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f[0] == name).then(|| f[2].to_owned())
        })
        .unwrap_or_else(|| panic!("{name} is missing from {file}"))
}

#[test]
fn drop_privileges_switches_user_and_group() {
    // SAFETY: plain syscalls.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if euid != 0 {
        // Not root: the documented behaviour is to change nothing.
        let mut cfg = Config::defaults(schemas::server());
        cfg.set("run_as_user", "nobody").unwrap();
        service::drop_privileges(&cfg).unwrap();
        // SAFETY: plain syscalls.
        assert_eq!(unsafe { (libc::geteuid(), libc::getegid()) }, (euid, egid));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The unprivileged child must be able to write its report.
    fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let r = run_child("drop", dir.path());
    let uid = id_of("/etc/passwd", "nobody");
    let gid = id_of("/etc/group", "nogroup");
    assert_eq!(r, format!("{uid} {uid} {gid} {gid} -1"));
}
