//! Benchmark client: logon + getStore round trips per second over keep-alive
//! HTTP/1.1 connections. Usage: soap_bench HOST:PORT USER PASS [SECONDS] [CONNECTIONS]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="urn:zarafa"><SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"#
    )
}

fn post(r: &mut BufReader<TcpStream>, body: &str) -> std::io::Result<String> {
    let req = format!(
        "POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    r.get_mut().write_all(req.as_bytes())?;
    let mut len = 0usize;
    let mut line = String::new();
    r.read_line(&mut line)?;
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut buf = vec![0; len];
    r.read_exact(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn field(s: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let a = s.find(&open)? + open.len();
    let b = s[a..].find('<')? + a;
    Some(s[a..b].to_owned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: soap_bench HOST:PORT USER PASS [SECONDS] [CONNECTIONS]");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let logon = envelope(&format!(
        "<ns:logon><szUsername>{}</szUsername><szPassword>{}</szPassword><ulCapabilities>576</ulCapabilities><szClientApp>soap_bench</szClientApp></ns:logon>",
        args[2], args[3]
    ));
    let secs: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5);
    let conns: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(4);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = vec![];
    for _ in 0..conns {
        let (addr, logon, done, stop) = (addr.clone(), logon.clone(), done.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let s = TcpStream::connect(&addr).expect("connect");
            s.set_nodelay(true).ok();
            let mut r = BufReader::new(s);
            while !stop.load(Ordering::Relaxed) {
                let resp = post(&mut r, &logon).expect("logon");
                let sid = field(&resp, "ulSessionId").unwrap_or_default();
                assert_eq!(
                    field(&resp, "er").as_deref(),
                    Some("0"),
                    "logon failed: {resp}"
                );
                let gs = envelope(&format!(
                    "<ns:getStore><ulSessionId>{sid}</ulSessionId></ns:getStore>"
                ));
                let resp = post(&mut r, &gs).expect("getStore");
                assert_eq!(
                    field(&resp, "er").as_deref(),
                    Some("0"),
                    "getStore failed: {resp}"
                );
                let lo = envelope(&format!(
                    "<ns:logoff><ulSessionId>{sid}</ulSessionId></ns:logoff>"
                ));
                post(&mut r, &lo).expect("logoff");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("worker");
    }
    let n = done.load(Ordering::Relaxed) as f64;
    let elapsed = start.elapsed().as_secs_f64();
    // Second phase: getStore alone on one session per connection (the SOAP path
    // without the argon2id password check that dominates a logon).
    let calls = Arc::new(AtomicU64::new(0));
    let stop2 = Arc::new(AtomicBool::new(false));
    let mut threads = vec![];
    for _ in 0..conns {
        let (addr, logon, calls, stop2) =
            (addr.clone(), logon.clone(), calls.clone(), stop2.clone());
        threads.push(std::thread::spawn(move || {
            let s = TcpStream::connect(&addr).expect("connect");
            s.set_nodelay(true).ok();
            let mut r = BufReader::new(s);
            let resp = post(&mut r, &logon).expect("logon");
            let sid = field(&resp, "ulSessionId").unwrap_or_default();
            let gs = envelope(&format!(
                "<ns:getStore><ulSessionId>{sid}</ulSessionId></ns:getStore>"
            ));
            while !stop2.load(Ordering::Relaxed) {
                let resp = post(&mut r, &gs).expect("getStore");
                assert_eq!(
                    field(&resp, "er").as_deref(),
                    Some("0"),
                    "getStore failed: {resp}"
                );
                calls.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start2 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    stop2.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("worker");
    }
    println!(
        "getStore calls per second on open sessions: {:.1}",
        calls.load(Ordering::Relaxed) as f64 / start2.elapsed().as_secs_f64()
    );
    println!(
        "logon+getStore round trips per second: {:.1} ({} in {:.1}s over {conns} keep-alive connections)",
        n / elapsed,
        n,
        elapsed
    );
}
