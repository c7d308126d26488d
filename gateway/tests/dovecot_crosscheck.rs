//! Cross-checks ENVELOPE, BODY, BODYSTRUCTURE and BODY[section] answers for
//! every fixture in `tests/resources/imap/` against Dovecot's imap process
//! (Debian package `dovecot-imapd`), run pre-authenticated on a throw-away
//! maildir with its stdin/stdout as the connection (no network, no
//! daemon). Values are compared after parsing, so Dovecot's choice of
//! literal versus quoted string does not matter.
//!
//! This test FAILS when Dovecot is not installed: CI must install
//! `dovecot-imapd`. As root, Dovecot refuses mail access, so the process is
//! run as `nobody` through `setpriv` (util-linux).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kc_gateway::imap::protocol::Section;
use kc_gateway::imap::quote::write_string;
use kc_gateway::mime::{self, bodystructure, section, Envelope};

const DOVECOT_IMAP: &str = "/usr/lib/dovecot/imap";

/// Sections asked for every fixture (missing ones must agree as "").
const SECTIONS: &[&str] = &[
    "",
    "HEADER",
    "TEXT",
    "1",
    "1.MIME",
    "1.1",
    "1.2",
    "2",
    "2.MIME",
    "2.HEADER",
    "2.TEXT",
    "2.1",
    "2.2",
    "2.1.MIME",
    "2.2.1",
    "2.2.HEADER",
    "3",
    "3.MIME",
    "1.HEADER",
    "HEADER.FIELDS (FROM SUBJECT)",
    "HEADER.FIELDS.NOT (FROM MESSAGE-ID)",
    "2.HEADER.FIELDS (SUBJECT)",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Nil,
    Num(u64),
    Str(Vec<u8>),
    Atom(Vec<u8>),
    List(Vec<Value>),
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn skip_sp(&mut self) {
        while self.b.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Value {
        self.skip_sp();
        match self.b[self.i] {
            b'(' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_sp();
                    if self.b[self.i] == b')' {
                        self.i += 1;
                        return Value::List(items);
                    }
                    items.push(self.value());
                }
            }
            b'"' => {
                self.i += 1;
                let mut s = Vec::new();
                while self.b[self.i] != b'"' {
                    if self.b[self.i] == b'\\' {
                        self.i += 1;
                    }
                    s.push(self.b[self.i]);
                    self.i += 1;
                }
                self.i += 1;
                Value::Str(s)
            }
            b'{' => {
                let close = self.i + self.b[self.i..].iter().position(|&c| c == b'}').unwrap();
                let n: usize = std::str::from_utf8(&self.b[self.i + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                let start = close + 3; // "}\r\n"
                self.i = start + n;
                Value::Str(self.b[start..start + n].to_vec())
            }
            _ => {
                let start = self.i;
                while !b" ()\r\n".contains(&self.b[self.i]) {
                    self.i += 1;
                }
                let word = &self.b[start..self.i];
                if word.eq_ignore_ascii_case(b"NIL") {
                    Value::Nil
                } else if let Ok(n) = std::str::from_utf8(word).unwrap_or("x").parse() {
                    Value::Num(n)
                } else {
                    Value::Atom(word.to_vec())
                }
            }
        }
    }
}

fn parse_value(bytes: &[u8]) -> Value {
    let mut r = Reader { b: bytes, i: 0 };
    let v = r.value();
    assert_eq!(
        r.i,
        bytes.len(),
        "trailing bytes in {:?}",
        String::from_utf8_lossy(bytes)
    );
    v
}

/// Runs Dovecot on a maildir holding only `msg` and returns, per request,
/// the raw value of the single FETCH item.
fn dovecot_fetch(msg: &[u8], items: &[String]) -> Vec<Vec<u8>> {
    assert!(
        Path::new(DOVECOT_IMAP).exists(),
        "{DOVECOT_IMAP} missing: install the Debian package dovecot-imapd (this test must not be skipped)"
    );
    let dir = tempdir();
    for sub in ["mail/cur", "mail/new", "mail/tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("mail/cur/1.eml:2,S"), msg).unwrap();
    let d = dir.display();
    std::fs::write(
        dir.join("dovecot.conf"),
        format!(
            "mail_location = maildir:{d}/mail\nbase_dir = {d}/run\nstate_dir = {d}/state\nlog_path = /dev/null\nssl = no\n"
        ),
    )
    .unwrap();
    let root = unsafe_free_is_root();
    let mut cmd = if root {
        let st = Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "chown failed");
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            DOVECOT_IMAP,
        ]);
        c
    } else {
        Command::new(DOVECOT_IMAP)
    };
    cmd.arg("-c")
        .arg(dir.join("dovecot.conf"))
        .env(
            "USER",
            if root {
                "nobody".to_string()
            } else {
                std::env::var("USER").unwrap_or_default()
            },
        )
        .env("HOME", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("start dovecot imap (is setpriv from util-linux installed?)");
    let mut script = b"s SELECT INBOX\r\n".to_vec();
    for (i, item) in items.iter().enumerate() {
        script.extend_from_slice(format!("f{i} FETCH 1 ({item})\r\n").as_bytes());
    }
    script.extend_from_slice(b"z LOGOUT\r\n");
    child.stdin.take().unwrap().write_all(&script).unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = out.stdout;
    // Dovecot may send several untagged FETCH answers before their tagged
    // OKs, so answers are read in order, literals skipped properly.
    let mut answers = Vec::new();
    let mut pos = 0;
    for item in items {
        let at = find(&text[pos..], b"* 1 FETCH (")
            .unwrap_or_else(|| panic!("no answer to {item}: {}", String::from_utf8_lossy(&text)));
        let mut j = pos + at + 11;
        // Skip the item name: up to the first space outside brackets.
        let mut depth = 0;
        while j < text.len() {
            match text[j] {
                b'[' => depth += 1,
                b']' => depth -= 1,
                b' ' if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let mut r = Reader { b: &text, i: j + 1 };
        r.value();
        answers.push(text[j + 1..r.i].to_vec());
        pos = r.i;
    }
    answers
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn unsafe_free_is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn tempdir() -> PathBuf {
    let base = std::env::temp_dir().join(format!(
        "kc-gw-dovecot-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&base).unwrap();
    base
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn section_of(spec: &str) -> Section {
    let line = format!("t FETCH 1 BODY[{spec}]");
    match kc_gateway::imap::parser::parse_bytes(line.as_bytes())
        .unwrap()
        .command
    {
        kc_gateway::imap::protocol::Command::Fetch { mut attrs, .. } => match attrs.remove(0) {
            kc_gateway::imap::protocol::FetchAttr::BodySection { section, .. } => section,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn fixtures_agree_with_dovecot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/resources/imap");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let mut items: Vec<String> = vec!["BODYSTRUCTURE".into(), "BODY".into(), "ENVELOPE".into()];
    items.extend(SECTIONS.iter().map(|s| format!("BODY.PEEK[{s}]")));
    items.push("BODY.PEEK[]<7.20>".into());
    items.push("BODY.PEEK[1]<3.5>".into());
    let mut mismatches = Vec::new();
    for file in &files {
        let raw = std::fs::read(file).unwrap();
        let msg = mime::normalize_crlf(&raw).into_owned();
        let theirs = dovecot_fetch(&msg, &items);
        let root = mime::parse(&msg);
        let mut ours: Vec<Vec<u8>> = vec![
            bodystructure::compute(&msg, true),
            bodystructure::compute(&msg, false),
            {
                let mut v = Vec::new();
                Envelope::parse(&msg).serialize(&mut v);
                v
            },
        ];
        let as_string = |data: &[u8]| {
            let mut v = Vec::new();
            write_string(&mut v, data);
            v
        };
        for s in SECTIONS {
            let data = section::extract(&msg, &root, &section_of(s)).unwrap_or_default();
            ours.push(as_string(&data));
        }
        let whole = section::extract(&msg, &root, &Section::default()).unwrap();
        let p = kc_gateway::imap::protocol::Partial {
            origin: 7,
            count: 20,
        };
        ours.push(as_string(section::partial(&whole, Some(p))));
        let one = section::extract(&msg, &root, &section_of("1")).unwrap_or_default();
        let p = kc_gateway::imap::protocol::Partial {
            origin: 3,
            count: 5,
        };
        ours.push(as_string(section::partial(&one, Some(p))));
        for ((item, mine), theirs) in items.iter().zip(&ours).zip(&theirs) {
            // Dovecot lower-cases type, subtype and parameters in BODY
            // (not in BODYSTRUCTURE); both are valid, so BODY is compared
            // without regard to case.
            let (a, b) = if item == "BODY" {
                (mine.to_ascii_lowercase(), theirs.to_ascii_lowercase())
            } else {
                (mine.clone(), theirs.clone())
            };
            if parse_value(&a) != parse_value(&b) {
                mismatches.push(format!(
                    "{} {item}:\n  ours:    {}\n  dovecot: {}",
                    file.file_name().unwrap().to_string_lossy(),
                    String::from_utf8_lossy(mine),
                    String::from_utf8_lossy(theirs)
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
