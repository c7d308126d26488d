//! Golden ENVELOPE / BODY / BODYSTRUCTURE answers for the fixtures in
//! `tests/resources/imap/NNN-name.eml`, expected in `NNN-name.envelope`,
//! `.body` and `.bodystructure` (written by hand from RFC 3501 §7.4.2 and
//! checked against Dovecot, see `dovecot_crosscheck.rs`). On a mismatch the
//! actual answer is written next to it as `*_failed` and the test fails;
//! expected files are never regenerated in place.

use std::path::{Path, PathBuf};

use kc_gateway::mime::{bodystructure, Envelope};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/resources/imap");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "fixtures missing in {}", dir.display());
    files
}

fn check(eml: &Path, kind: &str, actual: &[u8], failures: &mut Vec<String>) {
    let expected_path = eml.with_extension(kind);
    let failed_path = eml.with_extension(format!("{kind}_failed"));
    match std::fs::read(&expected_path) {
        Ok(expected) if expected.strip_suffix(b"\n").unwrap_or(&expected) == actual => {
            let _ = std::fs::remove_file(&failed_path);
        }
        _ => {
            std::fs::write(&failed_path, actual).expect("write _failed file");
            failures.push(format!(
                "{} (actual in {})",
                expected_path.display(),
                failed_path.display()
            ));
        }
    }
}

#[test]
fn fixtures_match_golden_answers() {
    let mut failures = Vec::new();
    for eml in fixtures() {
        let raw = std::fs::read(&eml).expect("read fixture");
        let msg = kc_gateway::mime::normalize_crlf(&raw).into_owned();
        check(
            &eml,
            "bodystructure",
            &bodystructure::compute(&msg, true),
            &mut failures,
        );
        check(
            &eml,
            "body",
            &bodystructure::compute(&msg, false),
            &mut failures,
        );
        let mut env = Vec::new();
        Envelope::parse(&msg).serialize(&mut env);
        check(&eml, "envelope", &env, &mut failures);
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}
