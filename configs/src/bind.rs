//! Opening the sockets a [`ListenAddr`] describes, including the `%iface`
//! part (`SO_BINDTODEVICE`) that std and tokio cannot express.

use std::ffi::CString;
use std::io;
use std::mem::size_of;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};

use crate::value::ListenAddr;

/// Listen backlog used by [`ListenAddr::bind_tcp`].
pub const LISTEN_BACKLOG: libc::c_int = 1024;

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn set_int_opt(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` outlives the call and its size is passed along.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

fn iface_index(iface: &str) -> io::Result<u32> {
    let c = CString::new(iface)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"))?;
    // SAFETY: valid C string.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("network interface '{iface}' does not exist"),
        )),
        i => Ok(i),
    }
}

fn sockaddr(
    addr: &SocketAddr,
    iface: Option<&str>,
) -> io::Result<(libc::sockaddr_storage, libc::socklen_t)> {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from_ne_bytes(a.ip().octets()),
            };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            sin6.sin6_flowinfo = a.flowinfo();
            // Link-local addresses need the interface as scope.
            sin6.sin6_scope_id = match iface {
                Some(i) if a.ip().is_unicast_link_local() => iface_index(i)?,
                _ => a.scope_id(),
            };
            size_of::<libc::sockaddr_in6>()
        }
    };
    Ok((storage, len as libc::socklen_t))
}

/// Creates, configures and binds one socket of type `ty` (close-on-exec,
/// non-blocking, SO_REUSEADDR, dual-stack for the IPv6 wildcard, bound to
/// `iface` if given).
fn bound_socket(addr: &SocketAddr, ty: libc::c_int, iface: Option<&str>) -> io::Result<OwnedFd> {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain syscall; the returned descriptor is owned right away.
    let raw =
        cvt(unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })?;
    // SAFETY: `raw` is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    set_int_opt(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if let SocketAddr::V6(a) = addr {
        // "*" means every address: accept IPv4 too on the IPv6 wildcard,
        // whatever net.ipv6.bindv6only says. Specific addresses stay v6-only.
        let v6only = if a.ip().is_unspecified() { 0 } else { 1 };
        set_int_opt(&fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, v6only)?;
    }
    if let Some(i) = iface {
        let name = CString::new(i)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"))?;
        let bytes = name.as_bytes_with_nul();
        // SAFETY: the name buffer outlives the call and its length is passed.
        cvt(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                bytes.as_ptr().cast(),
                bytes.len() as libc::socklen_t,
            )
        })
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind to interface '{i}': {e}")))?;
    }
    let (sa, len) = sockaddr(addr, iface)?;
    // SAFETY: `sa` holds a valid address of length `len`.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_storage).cast(),
            len,
        )
    })
    .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
    Ok(fd)
}

impl ListenAddr {
    fn tcp_parts(&self) -> io::Result<(Vec<SocketAddr>, Option<&str>)> {
        match self {
            ListenAddr::Tcp { iface, .. } => Ok((self.to_socket_addrs()?, iface.as_deref())),
            ListenAddr::Unix(p) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unix:{} is not a TCP/UDP address", p.display()),
            )),
        }
    }

    /// Opens TCP listeners (one per resolved address). They are
    /// non-blocking, ready for `tokio::net::TcpListener::from_std`.
    /// `%iface` is honoured with `SO_BINDTODEVICE`; `*` listens on IPv4 and
    /// IPv6 with one dual-stack socket.
    pub fn bind_tcp(&self) -> io::Result<Vec<TcpListener>> {
        let (addrs, iface) = self.tcp_parts()?;
        addrs
            .iter()
            .map(|a| {
                let fd = bound_socket(a, libc::SOCK_STREAM, iface)?;
                // SAFETY: plain syscall on a descriptor we own.
                cvt(unsafe { libc::listen(fd.as_raw_fd(), LISTEN_BACKLOG) })?;
                Ok(TcpListener::from(fd))
            })
            .collect()
    }

    /// Opens UDP sockets (e.g. for QUIC / HTTP/3), non-blocking.
    pub fn bind_udp(&self) -> io::Result<Vec<UdpSocket>> {
        let (addrs, iface) = self.tcp_parts()?;
        addrs
            .iter()
            .map(|a| bound_socket(a, libc::SOCK_DGRAM, iface).map(UdpSocket::from))
            .collect()
    }

    /// Opens a unix socket listener (non-blocking). A stale socket file
    /// left by a dead process is replaced; one that still accepts
    /// connections is an `AddrInUse` error.
    pub fn bind_unix(&self) -> io::Result<UnixListener> {
        let ListenAddr::Unix(path) = self else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{self} is not a unix socket address"),
            ));
        };
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            if UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} is in use by another process", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let l = UnixListener::bind(path)?;
        l.set_nonblocking(true)?;
        Ok(l)
    }
}
