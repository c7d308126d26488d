//! `pid_file`, the same way for every daemon (the skeleton in
//! `kc_configs::service`): written in the foreground too, refused while it
//! names a live copy of the same program, replaced when stale, removed on a
//! clean exit; in daemon mode it names the forked daemon.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kc_tests::cluster::Cluster;
use kc_tests::gateway_harness::start_gateway;
use kc_tests::pki::Pki;
use kc_tests::proxy_support::{start_edge, EchoNode, Scratch};
use kc_tests::server_harness::{start_server, NodeSpec};
use kc_tests::{bin, Proc};

/// The pid in `path`, waiting up to a minute for the file to appear.
fn pid_in(path: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `path` names `expected` (a restarted daemon replaces a
/// stale file), failing after a minute.
fn assert_names(path: &Path, expected: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while pid_in(path) != expected {
        assert!(
            Instant::now() < deadline,
            "{} names {}, not {expected}",
            path.display(),
            pid_in(path)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid of a process that has exited.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("run true");
    let pid = child.id();
    child.wait().expect("wait for true");
    pid
}

/// A second copy with the same configuration exits at once with an error
/// naming the running one, and leaves its pid file alone.
fn second_copy_is_refused(program: &str, cfg: &Path, pid_file: &Path, running: u32) {
    let out = Command::new(bin(program))
        .arg("-F")
        .arg("-c")
        .arg(cfg)
        .output()
        .expect("run the second copy");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "second {program} started: {stderr}");
    assert!(
        stderr.contains(&format!("{program} is already running with pid {running}")),
        "{program}: {stderr}"
    );
    assert_eq!(pid_in(pid_file), running);
}

/// Stops the process gracefully; it exits 0 and its pid file is gone.
fn clean_exit_removes(program: &str, status: Option<std::process::ExitStatus>, pid_file: &Path) {
    let status = status.unwrap_or_else(|| panic!("{program} did not stop on SIGTERM"));
    assert!(status.success(), "{program} exited with {status}");
    assert!(!pid_file.exists(), "{program} left {}", pid_file.display());
}

#[test]
fn server_pid_file_lifecycle() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let pki = Pki::new(&tmp.path().join("pki"));
    let sslkeys = tmp.path().join("sslkeys");
    std::fs::create_dir_all(&sslkeys).expect("sslkeys");
    let spec = NodeSpec::new("z1");
    let mut node = start_server(tmp.path(), &spec, &pki, &sslkeys);
    assert_names(&node.pid_file, node.pid());
    second_copy_is_refused("kc-server", &node.cfg_path, &node.pid_file, node.pid());
    clean_exit_removes("kc-server", node.terminate(), &node.pid_file);

    // A pid file left by a dead process is replaced.
    std::fs::write(&node.pid_file, format!("{}\n", dead_pid())).expect("stale pid file");
    node.restart();
    assert_names(&node.pid_file, node.pid());
    clean_exit_removes("kc-server", node.terminate(), &node.pid_file);
}

#[test]
fn gateway_pid_file_lifecycle() {
    let cluster = Cluster::start(&[("z1", &[])], &[]);
    let mut gw = start_gateway(&cluster, "z1", &[]);
    let pid_file = gw.dir.join("gateway.pid");
    assert_names(&pid_file, gw.pid());
    second_copy_is_refused("kc-gateway", &gw.cfg, &pid_file, gw.pid());
    clean_exit_removes("kc-gateway", gw.terminate(), &pid_file);

    std::fs::write(&pid_file, format!("{}\n", dead_pid())).expect("stale pid file");
    gw.restart();
    assert_names(&pid_file, gw.pid());
    clean_exit_removes("kc-gateway", gw.terminate(), &pid_file);
}

#[test]
fn gateway_daemon_mode_names_the_forked_process() {
    let cluster = Cluster::start(&[("z1", &[])], &[]);
    let mut gw = start_gateway(&cluster, "z1", &[]);
    let pid_file = gw.dir.join("gateway.pid");
    clean_exit_removes("kc-gateway", gw.terminate(), &pid_file);
    // Without -F: the started process exits 0 once the daemon is forked.
    let out = Command::new(bin("kc-gateway"))
        .arg("-c")
        .arg(&gw.cfg)
        .output()
        .expect("start the daemon");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let daemon = pid_in(&pid_file);
    let comm = std::fs::read_to_string(format!("/proc/{daemon}/comm")).unwrap_or_default();
    assert_eq!(comm.trim(), "kc-gateway", "the pid file names the daemon");
    // SAFETY: kill(2) with a valid signal on the daemon this test started.
    assert_eq!(
        unsafe { libc::kill(daemon as libc::pid_t, libc::SIGTERM) },
        0
    );
    // Gone, or a zombie nobody reaped yet (the daemon's parent is init).
    let running = || {
        std::fs::read_to_string(format!("/proc/{daemon}/stat"))
            .map(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(false)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while pid_file.exists() || running() {
        assert!(
            Instant::now() < deadline,
            "the daemon did not stop (pid file there: {}, running: {})\n{}",
            pid_file.exists(),
            running(),
            gw.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn proxy_pid_file_lifecycle() {
    let dir = Scratch::new("pid-file");
    let pki = Pki::new(&dir.0);
    let node = EchoNode::start();
    let nodes = format!(
        "node_source = static\nnodes = z1=http://127.0.0.1:{}\n",
        node.port
    );
    let mut edge = start_edge(&dir.0, &pki, &nodes);
    let pid_file = dir.0.join("proxy.pid");
    let pid = edge.proc.pid();
    assert_names(&pid_file, pid);
    second_copy_is_refused("kc-proxy", &edge.config, &pid_file, pid);
    let status = edge
        .proc
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(60));
    clean_exit_removes("kc-proxy", status, &pid_file);

    std::fs::write(&pid_file, format!("{}\n", dead_pid())).expect("stale pid file");
    let mut cmd = Command::new(bin("kc-proxy"));
    cmd.arg("-F").arg("-c").arg(&edge.config);
    let mut again = Proc::spawn("kc-proxy-again", cmd, &dir.0);
    assert_names(&pid_file, again.pid());
    let status = again.signal_and_wait(libc::SIGTERM, Duration::from_secs(60));
    clean_exit_removes("kc-proxy", status, &pid_file);
}
