//! Frames arbitrary bytes into POP3 lines, parses each as a pre-login
//! command (kc-mail-proto's parser with the edge's checks) and decodes it
//! as a SASL PLAIN response; also drives the
//! failed-login throttle with the bytes as user names: no panic, the line
//! limit holds, and a password never shows in a command's Debug output.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use kc_proxy::mail::credentials::from_plain;
use kc_proxy::mail::line::{Line, LineReader};
use kc_proxy::mail::pop3_preauth::{parse_command, Command, MAX_LINE};
use kc_proxy::mail::throttle::{Throttle, ThrottleConfig, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = LineReader::new(MAX_LINE);
    let mut t = Throttle::new(ThrottleConfig {
        max_entries: 8,
        limit: 4,
        ..ThrottleConfig::default()
    });
    let start = Instant::now();
    for (i, piece) in data.chunks(97).enumerate() {
        r.feed(piece);
        while let Some(line) = r.next_line() {
            let Line::Line(line) = line else { continue };
            assert!(line.len() <= MAX_LINE);
            if let Ok(cmd) = parse_command(&line) {
                if let Command::Pass(_) = &cmd {
                    assert_eq!(format!("{cmd:?}"), "Pass(<hidden>)");
                }
                if let Command::User(u) = &cmd {
                    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, (i % 4) as u8));
                    let now = start + Duration::from_secs(i as u64);
                    if let Verdict::Proceed(d) = t.check(ip, u, now) {
                        assert!(d <= ThrottleConfig::default().cap);
                    }
                    t.failure(ip, u, now);
                    let (ips, users) = t.len();
                    assert!(ips <= 8 && users <= 8);
                }
            }
            let _ = from_plain(&line);
        }
    }
});
