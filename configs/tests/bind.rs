//! Opening listeners from listen addresses, including `%iface` and unix sockets.

use std::io::{Read, Write};
use std::net::{Ipv6Addr, TcpStream};
use std::os::unix::net::UnixStream;

use kc_configs::ListenAddr;

fn accept_one(l: &std::net::TcpListener, connect_to: &str) {
    let port = l.local_addr().unwrap().port();
    let mut c = TcpStream::connect(format!("{connect_to}:{port}")).unwrap();
    l.set_nonblocking(false).unwrap();
    let (mut s, _) = l.accept().unwrap();
    c.write_all(b"hi").unwrap();
    let mut buf = [0u8; 2];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hi");
}

#[test]
fn tcp_specific_address() {
    let ls = ListenAddr::parse("127.0.0.1:0")
        .unwrap()
        .bind_tcp()
        .unwrap();
    assert_eq!(ls.len(), 1);
    accept_one(&ls[0], "127.0.0.1");
}

#[test]
fn tcp_wildcard_is_dual_stack() {
    let ls = ListenAddr::parse("*:0").unwrap().bind_tcp().unwrap();
    assert_eq!(ls.len(), 1);
    accept_one(&ls[0], "127.0.0.1");
    if std::net::UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok() {
        accept_one(&ls[0], "[::1]");
    }
}

#[test]
fn tcp_on_interface_lo() {
    let ls = ListenAddr::parse("*%lo:0").unwrap().bind_tcp().unwrap();
    accept_one(&ls[0], "127.0.0.1");
    let e = ListenAddr::parse("*%nosuchif0:0")
        .unwrap()
        .bind_tcp()
        .unwrap_err();
    assert!(e.to_string().contains("nosuchif0"), "{e}");
}

#[test]
fn udp_bind() {
    let us = ListenAddr::parse("127.0.0.1:0")
        .unwrap()
        .bind_udp()
        .unwrap();
    let port = us[0].local_addr().unwrap().port();
    let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    c.send_to(b"q", ("127.0.0.1", port)).unwrap();
    us[0].set_nonblocking(false).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(us[0].recv(&mut buf).unwrap(), 1);
}

#[test]
fn unix_socket_replaces_stale_file_and_refuses_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.sock");
    let addr = ListenAddr::parse(&format!("unix:{}", path.display())).unwrap();
    let l = addr.bind_unix().unwrap();
    let e = addr.bind_unix().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    UnixStream::connect(&path).unwrap();
    drop(l);
    // The dead listener left its socket file behind; binding again works.
    assert!(path.exists());
    let _l = addr.bind_unix().unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "x").unwrap();
    let e = ListenAddr::Unix(plain).bind_unix().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(addr.bind_tcp().is_err());
}
