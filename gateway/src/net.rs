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
}
