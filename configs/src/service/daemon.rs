//! Classic Unix daemon steps: fork into the background and switch to
//! `run_as_user` / `run_as_group`.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io;

use crate::config::Config;

fn os_err() -> io::Error {
    io::Error::last_os_error()
}

/// Detaches from the terminal: fork, `setsid`, fork again, `chdir /`, and
/// stdin/stdout/stderr onto `/dev/null`. The original process exits with
/// status 0 inside this call.
///
/// Call it before any thread exists (in particular before a tokio runtime
/// is built), after the configuration has been loaded and validated so that
/// errors still reach the terminal.
pub fn daemonize() -> io::Result<()> {
    fork_and_leave_parent()?;
    // SAFETY: plain syscall without pointer arguments.
    if unsafe { libc::setsid() } == -1 {
        return Err(os_err());
    }
    // The second fork makes sure the daemon can never reacquire a terminal.
    fork_and_leave_parent()?;
    std::env::set_current_dir("/")?;
    let devnull = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    use std::os::fd::AsRawFd;
    for fd in 0..=2 {
        // SAFETY: both descriptors are valid; dup2 atomically replaces `fd`.
        if unsafe { libc::dup2(devnull.as_raw_fd(), fd) } == -1 {
            return Err(os_err());
        }
    }
    Ok(())
}

fn fork_and_leave_parent() -> io::Result<()> {
    // SAFETY: the caller guarantees no other threads exist, so the child
    // inherits a consistent process image.
    match unsafe { libc::fork() } {
        -1 => Err(os_err()),
        0 => Ok(()),
        // SAFETY: `_exit` skips atexit handlers and destructors that belong to the child now.
        _ => unsafe { libc::_exit(0) },
    }
}

fn not_found(what: &str, name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{what} '{name}' does not exist"),
    )
}

/// Buffer size for the reentrant passwd/group lookups; grown on ERANGE.
const LOOKUP_BUF: usize = 4096;
const LOOKUP_BUF_MAX: usize = 1 << 20;

fn lookup_user(name: &str) -> io::Result<(libc::uid_t, libc::gid_t)> {
    let cname = CString::new(name).map_err(|_| not_found("user", name))?;
    let mut size = LOOKUP_BUF;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: zeroed passwd is a valid "empty" value for an out-parameter.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the given sizes during the call.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pw,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && size < LOOKUP_BUF_MAX {
            size *= 4;
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() {
            return Err(not_found("user", name));
        }
        return Ok((pw.pw_uid, pw.pw_gid));
    }
}

fn lookup_group(name: &str) -> io::Result<libc::gid_t> {
    let cname = CString::new(name).map_err(|_| not_found("group", name))?;
    let mut size = LOOKUP_BUF;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: zeroed group is a valid "empty" value for an out-parameter.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the given sizes during the call.
        let rc = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut gr,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && size < LOOKUP_BUF_MAX {
            size *= 4;
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() {
            return Err(not_found("group", name));
        }
        return Ok(gr.gr_gid);
    }
}

/// `run_as_user` and `run_as_group` (empty when the schema has no such
/// option).
fn run_as(cfg: &Config) -> (String, String) {
    let schema = cfg.schema();
    let get = |k: &str| {
        if schema.find(k).is_some() {
            cfg.str(k).to_owned()
        } else {
            String::new()
        }
    };
    (get("run_as_user"), get("run_as_group"))
}

/// Whether [`drop_privileges`] would switch users: running as root with
/// `run_as_user` or `run_as_group` set.
pub fn will_drop_privileges(cfg: &Config) -> bool {
    let (user, group) = run_as(cfg);
    // SAFETY: plain syscall.
    let root = unsafe { libc::geteuid() } == 0;
    root && !(user.is_empty() && group.is_empty())
}

/// Checks, before anything starts, that the `run_as_user` and
/// `run_as_group` that [`drop_privileges`] will switch to exist.
pub fn check_run_as(cfg: &Config) -> io::Result<()> {
    if !will_drop_privileges(cfg) {
        return Ok(());
    }
    let (user, group) = run_as(cfg);
    if !user.is_empty() {
        lookup_user(&user)?;
    }
    if !group.is_empty() {
        lookup_group(&group)?;
    }
    Ok(())
}

/// Switches to `run_as_group` / `run_as_user` when running as root (after
/// privileged ports and files are open). Does nothing when not root, when
/// both are empty, or when the schema has no such options. A name that does
/// not exist is an error: running as root by accident is worse than not
/// starting.
pub fn drop_privileges(cfg: &Config) -> io::Result<()> {
    if !will_drop_privileges(cfg) {
        return Ok(());
    }
    let (user, group) = run_as(cfg);
    let account = if user.is_empty() {
        None
    } else {
        Some(lookup_user(&user)?)
    };
    let gid = if group.is_empty() {
        account.map(|(_, g)| g)
    } else {
        Some(lookup_group(&group)?)
    };
    if let Some(gid) = gid {
        match &account {
            Some(_) => {
                let cuser = CString::new(user.as_str()).map_err(|_| not_found("user", &user))?;
                // SAFETY: valid C string; gid is a plain integer.
                if unsafe { libc::initgroups(cuser.as_ptr(), gid) } != 0 {
                    return Err(os_err());
                }
            }
            None => {
                // SAFETY: an empty list is allowed for setgroups.
                if unsafe { libc::setgroups(0, std::ptr::null()) } != 0 {
                    return Err(os_err());
                }
            }
        }
        // SAFETY: plain syscall.
        if unsafe { libc::setgid(gid) } != 0 {
            return Err(os_err());
        }
    }
    if let Some((uid, _)) = account {
        // SAFETY: plain syscall.
        if unsafe { libc::setuid(uid) } != 0 {
            return Err(os_err());
        }
    }
    Ok(())
}
