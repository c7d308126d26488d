//! kc-gateway for end-to-end tests: writes a gateway.cfg for one node of a
//! [`Cluster`](crate::cluster::Cluster) (free loopback ports, the test PKI's
//! server certificate) and runs the real binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::cluster::Cluster;

/// A running kc-gateway; killed on drop.
pub struct GatewayProc {
    pub address: std::net::IpAddr,
    pub dir: PathBuf,
    pub cfg: PathBuf,
    pub log: PathBuf,
    pub pop3_port: u16,
    pub pop3s_port: u16,
    proc: crate::Proc,
}

impl GatewayProc {
    pub fn pop3_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.pop3_port)
    }

    pub fn pop3s_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.pop3s_port)
    }

    /// The gateway's log file (log_level 6) and its stderr.
    pub fn log(&self) -> String {
        format!(
            "{}\n--- stderr/stdout:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default(),
            self.proc.log()
        )
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// SIGHUP (reload settings and TLS material).
    pub fn hup(&self) {
        self.proc.signal(libc::SIGHUP);
    }

    /// Starts the gateway again with the same gateway.cfg (after
    /// [`Self::terminate`]) and waits for its POP3 ports.
    pub fn restart(&mut self) {
        self.proc.kill();
        let mut cmd = Command::new(crate::bin("kc-gateway"));
        cmd.arg("-F").arg("-c").arg(&self.cfg);
        self.proc = crate::Proc::spawn("kc-gateway", cmd, &self.dir);
        crate::wait_for_port(self.pop3_addr(), Duration::from_secs(60));
        crate::wait_for_port(self.pop3s_addr(), Duration::from_secs(60));
    }

    /// SIGTERM and wait for the exit.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        self.proc
            .signal_and_wait(libc::SIGTERM, Duration::from_secs(60))
    }
}

/// Starts kc-gateway beside `node` of the cluster, talking to it over plain
/// HTTP; `extra` lines are added to gateway.cfg (replacing a default line
/// of the same option).
pub fn start_gateway(cluster: &Cluster, node: &str, extra: &[&str]) -> GatewayProc {
    start_gateway_at(
        cluster,
        node,
        "127.0.0.1",
        crate::free_port(),
        crate::free_port(),
        extra,
    )
}

/// [`start_gateway`] with POP3 and POP3S on `address` and chosen ports (the
/// edge reaches every node's gateway on the same ports, at the node's
/// directory address).
pub fn start_gateway_at(
    cluster: &Cluster,
    node: &str,
    address: &str,
    pop3_port: u16,
    pop3s_port: u16,
    extra: &[&str],
) -> GatewayProc {
    let n = cluster.node(node);
    let dir = cluster.base.join(format!("gateway-{node}-{pop3_port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("gateway.log");
    let cfg = format!(
        "server_socket = http://127.0.0.1:{http}/kopano\n\
         imap_listen =\n\
         imaps_listen =\n\
         pop3_listen = {address}:{pop3_port}\n\
         pop3s_listen = {address}:{pop3s_port}\n\
         ssl_certificate_file = {pem}\n\
         ssl_private_key_file = {pem}\n\
         run_as_user =\n\
         run_as_group =\n\
         pid_file = {pid}\n\
         log_method = file\n\
         log_file = {log}\n\
         log_level = 6\n",
        http = n.http_port,
        pem = cluster.pki.server_pem.display(),
        log = log.display(),
        pid = dir.join("gateway.pid").display(),
    );
    // An option in `extra` replaces the default line above.
    let key = |l: &str| l.split('=').next().unwrap_or("").trim().to_owned();
    let overridden: Vec<String> = extra.iter().map(|l| key(l)).collect();
    let mut cfg: String = cfg
        .lines()
        .filter(|l| !overridden.contains(&key(l)))
        .map(|l| format!("{l}\n"))
        .collect();
    for l in extra {
        cfg.push_str(l);
        cfg.push('\n');
    }
    let cfg_path = dir.join("gateway.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();
    let mut cmd = Command::new(crate::bin("kc-gateway"));
    cmd.arg("-F").arg("-c").arg(&cfg_path);
    let proc = crate::Proc::spawn("kc-gateway", cmd, &dir);
    let g = GatewayProc {
        address: address.parse().expect("gateway address"),
        dir,
        cfg: cfg_path,
        log,
        pop3_port,
        pop3s_port,
        proc,
    };
    crate::wait_for_port(g.pop3_addr(), Duration::from_secs(60));
    crate::wait_for_port(g.pop3s_addr(), Duration::from_secs(60));
    g
}

/// A fetchmail run configuration in `dir` that polls `login` over POP3S on
/// 127.0.0.1:`port` (verifying the cluster CA) and hands each message to an
/// MDA that writes it as a file under `dir/mail`. Returns the rc file.
pub fn write_fetchmailrc(dir: &std::path::Path, c: &Cluster, port: u16, login: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let out = dir.join("mail");
    std::fs::create_dir_all(&out).unwrap();
    let mda = dir.join("mda.sh");
    std::fs::write(
        &mda,
        format!(
            "#!/bin/sh\nexec cat > \"{}/$(date +%s%N)-$$.eml\"\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&mda, std::fs::Permissions::from_mode(0o755)).unwrap();
    let rc = dir.join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "set no syslog\n\
             poll localhost via 127.0.0.1 service {port} protocol pop3 uidl\n\
             \tuser \"{login}\" there with password \"{pw}\" is \"{login}\" here\n\
             \tssl sslcertck sslcertfile \"{ca}\" sslcommonname localhost\n\
             \tmda \"{mda}\"\n\
             \tfetchall nokeep no rewrite\n",
            pw = crate::cluster::password(login),
            ca = c.pki.ca_file.display(),
            mda = mda.display(),
        ),
    )
    .unwrap();
    // fetchmail refuses an rc file others can read.
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    rc
}

/// Runs fetchmail once with `rc` (state files in `dir`); the exit code (1 =
/// no mail) and its output.
pub fn run_fetchmail(dir: &std::path::Path, rc: &std::path::Path) -> (Option<i32>, String) {
    let bin = crate::require_tool("fetchmail");
    let out = Command::new(bin)
        .env("HOME", dir)
        .env("FETCHMAILHOME", dir)
        .arg("-f")
        .arg(rc)
        .arg("--nodetach")
        .arg("--idfile")
        .arg(dir.join("fetchids"))
        .arg("--pidfile")
        .arg(dir.join("fetchmail.pid"))
        .arg("-v")
        .output()
        .expect("run fetchmail");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
