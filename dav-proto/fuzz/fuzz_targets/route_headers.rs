//! Parses arbitrary text as a request path and as each header: no panic,
//! an accepted route never names `.`/`..` or holds a slash in a segment,
//! and its canonical path parses back to the same route.
#![no_main]

use kc_dav_proto::header::{parse_destination, parse_overwrite, Depth, EtagCondition};
use kc_dav_proto::route::parse_route;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(route) = parse_route(s) {
        if let Some(user) = route.user() {
            assert!(!user.is_empty() && user != "." && user != ".." && !user.contains('/'));
        }
        let path = route.to_path();
        assert!(path.is_ascii());
        assert_eq!(parse_route(&path), Ok(route));
    }
    if let Ok(path) = parse_destination(s, Some("host.example")) {
        assert!(path.starts_with('/'));
    }
    let _ = Depth::parse(Some(s), Depth::Zero);
    let _ = EtagCondition::parse(s);
    let _ = parse_overwrite(Some(s));
});
