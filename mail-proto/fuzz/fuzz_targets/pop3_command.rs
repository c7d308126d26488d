//! Frames arbitrary bytes into POP3 lines, parses each as a command and as
//! a SASL line, and checks dot-stuffing round-trips: un-stuffing the output
//! gives the input with CRLF line endings. (TOP's extract is message
//! content; kc-gateway's `bodystructure` target checks it.)
#![no_main]

use kc_mail_proto::pop3::parser::{parse_command, parse_sasl_line, LineReceiver};
use kc_mail_proto::pop3::response::dot_stuff;
use libfuzzer_sys::fuzz_target;

fn unstuff(stuffed: &[u8]) -> Vec<u8> {
    let body = stuffed.strip_suffix(b".\r\n").expect("terminator");
    let mut out = Vec::new();
    for line in body.split_inclusive(|&b| b == b'\n') {
        assert!(line.ends_with(b"\r\n"), "every stuffed line ends in CRLF");
        assert_ne!(line, b".\r\n", "a lone dot inside the body");
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}

fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let mut r = LineReceiver::new();
    for piece in data.chunks(97) {
        r.feed(piece);
        while let Some(line) = r.next_line() {
            if let Ok(line) = line {
                assert!(line.len() < 1000);
                let _ = parse_command(&line);
                let _ = parse_sasl_line(&line);
            }
        }
    }
    let stuffed = dot_stuff(data);
    // A CR that is not followed by LF stays as is; only compare clean input.
    if !data
        .windows(2)
        .enumerate()
        .any(|(i, w)| w[0] == b'\r' && w[1] != b'\n' || (i + 2 == data.len() && w[1] == b'\r'))
        && data.last() != Some(&b'\r')
    {
        assert_eq!(unstuff(&stuffed), crlf(data));
    }
});
