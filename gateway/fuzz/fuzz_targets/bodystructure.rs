//! Computes the MIME tree, BODYSTRUCTURE, BODY, ENVELOPE, every section and
//! the POP3 TOP extract of arbitrary bytes: no panic, ranges inside the
//! message, balanced parentheses in the IMAP output, TOP a prefix.
#![no_main]

use kc_gateway::imap::protocol::{Section, SectionText};
use kc_gateway::mime::{self, bodystructure, section, Envelope, Part, PartKind};
use kc_gateway::pop3::top::top;
use libfuzzer_sys::fuzz_target;

fn check_ranges(p: &Part, len: usize, path: &mut Vec<u32>, paths: &mut Vec<Vec<u32>>) {
    assert!(
        p.header.start <= p.header.end
            && p.header.end <= p.body.start
            && p.body.start <= p.body.end
    );
    assert!(p.body.end <= len);
    paths.push(path.clone());
    let children: Vec<&Part> = match &p.kind {
        PartKind::Multipart(c) => c.iter().collect(),
        PartKind::Message(inner) => vec![inner.as_ref()],
        PartKind::Leaf => vec![],
    };
    for (i, c) in children.into_iter().enumerate() {
        path.push(i as u32 + 1);
        if paths.len() < 200 {
            check_ranges(c, len, path, paths);
        }
        path.pop();
    }
}

/// Parentheses balance outside quoted strings and literals.
fn balanced(s: &[u8]) -> bool {
    let mut depth: i64 = 0;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => {
                i += 1;
                while i < s.len() && s[i] != b'"' {
                    if s[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' => {
                let close = i + s[i..].iter().position(|&b| b == b'}').unwrap();
                let n: usize = std::str::from_utf8(&s[i + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                i = close + 2 + n;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

fuzz_target!(|data: &[u8]| {
    let msg = mime::normalize_crlf(data);
    let root = mime::parse(&msg);
    let mut paths = Vec::new();
    check_ranges(&root, msg.len(), &mut Vec::new(), &mut paths);
    for extended in [true, false] {
        let bs = bodystructure::compute(&msg, extended);
        assert!(balanced(&bs), "{}", String::from_utf8_lossy(&bs));
    }
    let mut env = Vec::new();
    Envelope::parse(&msg).serialize(&mut env);
    assert!(balanced(&env), "{}", String::from_utf8_lossy(&env));
    for path in paths.iter().take(50) {
        for text in [
            None,
            Some(SectionText::Mime),
            Some(SectionText::Header),
            Some(SectionText::Text),
        ] {
            if path.is_empty() && text == Some(SectionText::Mime) {
                continue;
            }
            let s = Section {
                part: path.clone(),
                text,
            };
            if let Some(bytes) = section::extract(&msg, &root, &s) {
                assert!(bytes.len() <= msg.len() + 2);
            }
        }
        let s = Section {
            part: path.clone(),
            text: Some(SectionText::HeaderFields(vec!["subject".into()])),
        };
        let _ = section::extract(&msg, &root, &s);
    }
    // POP3 TOP sends a prefix of the message, whatever its line count.
    let n = data.first().copied().unwrap_or(0);
    assert!(data.starts_with(top(data, u32::from(n))));
});
