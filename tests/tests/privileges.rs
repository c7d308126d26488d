//! `run_as_user` / `run_as_group` through the daemon skeleton: started as
//! root, each daemon binds its listeners first and then runs as the
//! configured user, and still serves. (The tests run as root, as the
//! daemons do in production; as another user the switch is skipped.)

use std::time::{Duration, Instant};

use kc_tests::cluster::Cluster;
use kc_tests::gateway_harness::start_gateway;
use kc_tests::pki::Pki;
use kc_tests::proxy_support::{curl, start_edge, EchoNode, Scratch};
use kc_tests::server_harness::{start_server, NodeSpec};

const AS_NOBODY: [&str; 2] = ["run_as_user = nobody", "run_as_group = nogroup"];

/// The real, effective, saved and file-system ids of `pid`, from a
/// `/proc/PID/status` line (`Uid:` or `Gid:`).
fn ids(pid: u32, line: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Waits until `pid` runs as nobody/nogroup (uid and gid 65534).
fn assert_runs_as_nobody(pid: u32, what: &str) {
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        panic!("these tests must run as root (they check the switch away from it)");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while ids(pid, "Uid:") != "65534 65534 65534 65534"
        || ids(pid, "Gid:") != "65534 65534 65534 65534"
    {
        assert!(
            Instant::now() < deadline,
            "{what} still runs as uid {} gid {}",
            ids(pid, "Uid:"),
            ids(pid, "Gid:")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn gateway_runs_as_run_as_user() {
    let cluster = Cluster::start(&[("z1", &[])], &[]);
    let gw = start_gateway(&cluster, "z1", &AS_NOBODY);
    assert_runs_as_nobody(gw.pid(), "kc-gateway");
    kc_tests::wait_for_port(gw.pop3_addr(), Duration::from_secs(10));
}

/// pingora binds the edge's HTTP listeners after start-up; the switch
/// waits for them.
#[test]
fn proxy_runs_as_run_as_user() {
    let dir = Scratch::new("privileges");
    let pki = Pki::new(&dir.0);
    let node = EchoNode::start();
    let extra = format!(
        "node_source = static\nnodes = z1=http://127.0.0.1:{}\n{}\n",
        node.port,
        AS_NOBODY.join("\n")
    );
    let edge = start_edge(&dir.0, &pki, &extra);
    assert_runs_as_nobody(edge.proc.pid(), "kc-proxy");
    let r = curl(&[&format!("http://127.0.0.1:{}/healthz", edge.admin)]);
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn server_runs_as_run_as_user() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let pki = Pki::new(&tmp.path().join("pki"));
    let sslkeys = tmp.path().join("sslkeys");
    std::fs::create_dir_all(&sslkeys).expect("sslkeys");
    let mut spec = NodeSpec::new("z1");
    spec.extra = AS_NOBODY.iter().map(|l| l.to_string()).collect();
    // Binding waits for every listener, the root-owned unix socket included.
    let node = start_server(tmp.path(), &spec, &pki, &sslkeys);
    assert_runs_as_nobody(node.pid(), "kc-server");
}
