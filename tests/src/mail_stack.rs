//! The whole mail path for end-to-end tests: a [`Cluster`] of kc-server
//! nodes on distinct loopback addresses, a kc-gateway beside each node (on
//! the node's address, every node on the same IMAP and POP3 ports, as in a
//! real deployment), and kc-proxy in front with IMAP, IMAPS, POP3 and POP3S
//! listeners that route each login to the user's home node.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::cluster::{node_address, Cluster};
use crate::gateway_harness::{start_gateway_at, GatewayProc};

/// A running edge with its mail listeners (all on 127.0.0.1).
pub struct Edge {
    pub imap: u16,
    pub imaps: u16,
    pub pop3: u16,
    pub pop3s: u16,
    pub https: u16,
    pub dir: PathBuf,
    pub log: PathBuf,
    proc: crate::Proc,
}

impl Edge {
    pub fn imaps_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.imaps))
    }

    pub fn log(&self) -> String {
        format!(
            "{}\n--- stderr/stdout:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default(),
            self.proc.log()
        )
    }
}

/// Cluster + gateways + edge.
pub struct MailStack {
    pub cluster: Cluster,
    pub gateways: Vec<GatewayProc>,
    pub edge: Edge,
    /// The port every node's gateway serves IMAP on (`node_imap_port`).
    pub node_imap_port: u16,
    pub node_pop3_port: u16,
}

impl MailStack {
    /// Start a gateway for every node of `cluster` and an edge in front.
    /// `gateway_extra` and `edge_extra` are added to every gateway.cfg and to
    /// proxy.cfg.
    pub fn start(cluster: Cluster, gateway_extra: &[&str], edge_extra: &[&str]) -> MailStack {
        let node_imap_port = crate::free_port();
        let node_pop3_port = crate::free_port();
        let mut gateways = vec![];
        let names: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
        for (i, name) in names.iter().enumerate() {
            let addr = node_address(i);
            let mut extra = vec![
                format!("imap_listen = {addr}:{node_imap_port}"),
                // The edge connects from 127.0.0.1.
                "trusted_edge_addresses = 127.0.0.1".to_string(),
            ];
            extra.extend(gateway_extra.iter().map(|s| s.to_string()));
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let g = start_gateway_at(
                &cluster,
                name,
                &addr,
                node_pop3_port,
                crate::free_port(),
                &extra,
            );
            crate::wait_for_port(
                SocketAddr::new(addr.parse().unwrap(), node_imap_port),
                Duration::from_secs(60),
            );
            gateways.push(g);
        }
        let edge = start_edge(&cluster, node_imap_port, node_pop3_port, edge_extra);
        MailStack {
            cluster,
            gateways,
            edge,
            node_imap_port,
            node_pop3_port,
        }
    }
}

fn start_edge(cluster: &Cluster, node_imap: u16, node_pop3: u16, extra: &[&str]) -> Edge {
    let p = crate::free_port;
    let (imap, imaps, pop3, pop3s, https, admin) = (p(), p(), p(), p(), p(), p());
    let dir = cluster.base.join("edge");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("proxy.log");
    let mut cfg = format!(
        "https_listen = 127.0.0.1:{https}\n\
         admin_listen = 127.0.0.1:{admin}\n\
         imap_listen = 127.0.0.1:{imap}\n\
         imaps_listen = 127.0.0.1:{imaps}\n\
         pop3_listen = 127.0.0.1:{pop3}\n\
         pop3s_listen = 127.0.0.1:{pop3s}\n\
         ssl_certificate_file = {pem}\n\
         ssl_private_key_file = {pem}\n\
         ldap_config = {ldap}\n\
         node_source = ldap\n\
         node_imap_port = {node_imap}\n\
         node_pop3_port = {node_pop3}\n\
         access_log_file =\n\
         threads = 2\n\
         run_as_user =\n\
         run_as_group =\n\
         pid_file = {pid}\n\
         log_method = file\n\
         log_file = {log}\n\
         log_level = 5\n",
        pem = cluster.pki.server_pem.display(),
        ldap = cluster.ldap_cfg.display(),
        log = log.display(),
        pid = dir.join("proxy.pid").display(),
    );
    for l in extra {
        cfg.push_str(l);
        cfg.push('\n');
    }
    let cfg_path = dir.join("proxy.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();
    let mut cmd = Command::new(crate::bin("kc-proxy"));
    cmd.arg("-F").arg("-c").arg(&cfg_path);
    let proc = crate::Proc::spawn("kc-proxy", cmd, &dir);
    for port in [imap, imaps, pop3, pop3s] {
        crate::wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(60),
        );
    }
    Edge {
        imap,
        imaps,
        pop3,
        pop3s,
        https,
        dir,
        log,
        proc,
    }
}
