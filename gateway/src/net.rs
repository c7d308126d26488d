//! Client connections that can be upgraded to TLS in place (STARTTLS, STLS),
//! and address ranges for `trusted_edge_addresses`.

use std::net::IpAddr;

/// A client connection, plain or TLS; upgraded in place by STARTTLS/STLS
/// with [`MaybeTls::accept`](kc_certs::tls::MaybeTls::accept).
pub type Conn = kc_certs::tls::MaybeTls;

/// An address range: `10.0.0.0/8`, `::1`, `192.0.2.7`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `ADDR` or `ADDR/PREFIX`; host bits are ignored.
    pub fn parse(s: &str) -> Option<IpNet> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|n| *n <= max)?
            }
            Some(_) => return None,
            None => max,
        };
        Some(IpNet { addr, prefix })
    }

    /// Whether `ip` is in the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Parses a `trusted_edge_addresses` value: ranges separated by spaces or
/// commas. Returns the bad entries as the error.
pub fn parse_ranges(s: &str) -> Result<Vec<IpNet>, Vec<String>> {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for w in s
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        match IpNet::parse(w) {
            Some(n) => ok.push(n),
            None => bad.push(w.to_owned()),
        }
    }
    if bad.is_empty() {
        Ok(ok)
    } else {
        Err(bad)
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what a dual-stack socket reports) as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Runs the server side of a TLS handshake on a plain connection (IMAPS
/// and POP3S on connect, IMAP STARTTLS, POP3 STLS), for at most `limit`: a
/// client that asks for TLS and then sends nothing gets `TimedOut` and is
/// closed rather than holding the connection forever.
pub async fn accept_tls(
    conn: Conn,
    acceptor: &tokio_rustls::TlsAcceptor,
    limit: std::time::Duration,
) -> std::io::Result<Conn> {
    match tokio::time::timeout(limit, conn.accept(acceptor)).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges() {
        let n = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(n.contains(ip("10.1.200.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(n.contains(ip("::ffff:10.1.0.9")));
        let h = IpNet::parse("127.0.0.1").unwrap();
        assert!(h.contains(ip("127.0.0.1")) && !h.contains(ip("127.0.0.2")));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpNet::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        let v6 = IpNet::parse("[2001:db8::]/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("10.0.0.0/").is_none());
        assert!(IpNet::parse("host.example").is_none());
        assert_eq!(parse_ranges("127.0.0.1, ::1  10.0.0.0/8").unwrap().len(), 3);
        assert_eq!(parse_ranges("").unwrap().len(), 0);
        assert_eq!(parse_ranges("1.2.3.4 nope").unwrap_err(), vec!["nope"]);
    }

    /// A server that never gets a certificate request answered: the
    /// handshake can only end by the time limit.
    #[derive(Debug)]
    struct NoCert;

    impl rustls::server::ResolvesServerCert for NoCert {
        fn resolve(
            &self,
            _: rustls::server::ClientHello<'_>,
        ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
            None
        }
    }

    #[tokio::test]
    async fn a_silent_client_is_dropped_after_the_handshake_limit() {
        let cfg = rustls::ServerConfig::builder_with_provider(kc_certs::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(std::sync::Arc::new(NoCert));
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Connects, says nothing (as after "a STARTTLS" / "STLS"), stays open.
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        let started = std::time::Instant::now();
        let limit = std::time::Duration::from_millis(200);
        let err = accept_tls(Conn::Plain(tcp), &acceptor, limit)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
