//! Pure, fuzzable parsing of store-API request lines: method + path below
//! `/kc-store/v1/` + query string → [`Route`].

use crate::storage::props::valid_name;

/// Which store a request addresses: the session user's (`me`) or a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreRef {
    Me,
    User(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Folders,
    /// One folder with its counters.
    Folder(i64),
    CreateFolder,
    UpdateFolder(i64),
    DeleteFolder(i64),
    ListItems(i64),
    Append(i64),
    Fetch(i64, u32),
    /// Many messages in one streamed answer (`frames` format).
    Bodies(i64),
    /// `flags`, `copy`, `move`, `delete` or `expunge` on a folder.
    Bulk(i64, BulkOp),
    GetObject(i64, String),
    PutObject(i64, String),
    DeleteObject(i64, String),
    Changes,
    Quota,
    /// The store owner's identity and features.
    User,
    /// A store property by name (`props.rs`; the name is valid).
    GetProp(String),
    PutProp(String),
    DeleteProp(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkOp {
    Flags,
    Copy,
    Move,
    Delete,
    Expunge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub store: StoreRef,
    pub route: Route,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no such resource")]
    NotFound,
    #[error("method not allowed")]
    Method,
    /// A malformed name in the path (answered 400).
    #[error("bad property name (1-64 characters of A-Z a-z 0-9 . _ -)")]
    BadName,
}

/// Longest path segment accepted (logins, object UIDs).
const MAX_SEGMENT: usize = 1024;

/// Percent-decode one path segment; `None` for bad escapes or non-UTF-8.
pub fn decode_segment(s: &str) -> Option<String> {
    if s.len() > MAX_SEGMENT * 3 {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = b.get(i + 1..i + 3)?;
            let h = std::str::from_utf8(h).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (!s.is_empty() && s.len() <= MAX_SEGMENT && !s.chars().any(char::is_control)).then_some(s)
}

/// `rest` is the path after `/kc-store/v1/`.
pub fn parse(method: &str, rest: &str) -> Result<Parsed, RouteError> {
    let segs: Vec<&str> = rest.split('/').collect();
    let (store, tail) = match segs.split_first() {
        Some((s, tail)) => (*s, tail),
        None => return Err(RouteError::NotFound),
    };
    let store = match store {
        "me" => StoreRef::Me,
        s => StoreRef::User(decode_segment(s).ok_or(RouteError::NotFound)?),
    };
    let id = |s: &str| s.parse::<i64>().ok().filter(|v| *v > 0);
    let route = match (method, tail) {
        ("GET", ["folders"]) => Route::Folders,
        ("POST", ["folders"]) => Route::CreateFolder,
        ("GET", ["folders", f]) => Route::Folder(id(f).ok_or(RouteError::NotFound)?),
        ("PATCH", ["folders", f]) => Route::UpdateFolder(id(f).ok_or(RouteError::NotFound)?),
        ("DELETE", ["folders", f]) => Route::DeleteFolder(id(f).ok_or(RouteError::NotFound)?),
        ("GET", ["folders", f, "items"]) => Route::ListItems(id(f).ok_or(RouteError::NotFound)?),
        ("POST", ["folders", f, "items"]) => Route::Append(id(f).ok_or(RouteError::NotFound)?),
        ("GET", ["folders", f, "items", u]) => Route::Fetch(
            id(f).ok_or(RouteError::NotFound)?,
            u.parse::<u32>()
                .ok()
                .filter(|u| *u > 0)
                .ok_or(RouteError::NotFound)?,
        ),
        ("POST", ["folders", f, "bodies"]) => Route::Bodies(id(f).ok_or(RouteError::NotFound)?),
        ("POST", ["folders", f, op]) => {
            let op = match *op {
                "flags" => BulkOp::Flags,
                "copy" => BulkOp::Copy,
                "move" => BulkOp::Move,
                "delete" => BulkOp::Delete,
                "expunge" => BulkOp::Expunge,
                _ => return Err(RouteError::NotFound),
            };
            Route::Bulk(id(f).ok_or(RouteError::NotFound)?, op)
        }
        (m, ["folders", f, "objects", o]) => {
            let f = id(f).ok_or(RouteError::NotFound)?;
            let o = decode_segment(o).ok_or(RouteError::NotFound)?;
            match m {
                "GET" => Route::GetObject(f, o),
                "PUT" => Route::PutObject(f, o),
                "DELETE" => Route::DeleteObject(f, o),
                _ => return Err(RouteError::Method),
            }
        }
        (m, ["props", name]) => {
            if !valid_name(name) {
                return Err(RouteError::BadName);
            }
            let name = (*name).to_owned();
            match m {
                "GET" => Route::GetProp(name),
                "PUT" => Route::PutProp(name),
                "DELETE" => Route::DeleteProp(name),
                _ => return Err(RouteError::Method),
            }
        }
        ("GET", ["changes"]) => Route::Changes,
        ("GET", ["quota"]) => Route::Quota,
        ("GET", ["user"]) => Route::User,
        (_, ["folders"] | ["folders", _] | ["folders", _, _] | ["folders", _, _, _])
        | (_, ["changes"] | ["quota"] | ["user"]) => return Err(RouteError::Method),
        _ => return Err(RouteError::NotFound),
    };
    Ok(Parsed { store, route })
}

/// The value of `key` in a query string (first occurrence, percent-decoded).
pub fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if k != key {
            return None;
        }
        if v.is_empty() {
            return Some(String::new());
        }
        decode_segment(&v.replace('+', " "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let p = parse("GET", "me/folders/12/items/7").unwrap();
        assert_eq!(p.store, StoreRef::Me);
        assert_eq!(p.route, Route::Fetch(12, 7));
        let p = parse("PUT", "j%40x/folders/3/objects/a%2Fb").unwrap();
        assert_eq!(p.store, StoreRef::User("j@x".into()));
        assert_eq!(p.route, Route::PutObject(3, "a/b".into()));
        assert_eq!(
            parse("POST", "me/folders/3/move").unwrap().route,
            Route::Bulk(3, BulkOp::Move)
        );
        assert_eq!(
            parse("POST", "me/folders/3/bodies").unwrap().route,
            Route::Bodies(3)
        );
        assert_eq!(parse("GET", "me/folders/3/bodies"), Err(RouteError::Method));
        assert_eq!(
            parse("POST", "me/folders/0/bodies"),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            parse("POST", "me/folders/3/bodies/1"),
            Err(RouteError::Method)
        );
        assert_eq!(parse("PUT", "me/quota"), Err(RouteError::Method));
        assert_eq!(parse("GET", "me/user").unwrap().route, Route::User);
        assert_eq!(parse("POST", "me/user"), Err(RouteError::Method));
        assert_eq!(
            parse("GET", "me/folders/4").unwrap().route,
            Route::Folder(4)
        );
        assert_eq!(parse("GET", "me/folders/x"), Err(RouteError::NotFound));
        assert_eq!(
            parse("POST", "me/folders/4/expunge").unwrap().route,
            Route::Bulk(4, BulkOp::Expunge)
        );
        assert_eq!(
            parse("GET", "me/folders/0/items"),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            parse("GET", "me/folders/1/items/0"),
            Err(RouteError::NotFound)
        );
        assert_eq!(parse("GET", "%zz/quota"), Err(RouteError::NotFound));
        assert_eq!(parse("GET", ""), Err(RouteError::NotFound));
        assert_eq!(
            query_param(Some("a=1&fields=uid,flags&x"), "fields").as_deref(),
            Some("uid,flags")
        );
        assert_eq!(
            query_param(Some("flags=%5CSeen"), "flags").as_deref(),
            Some("\\Seen")
        );
        assert_eq!(query_param(None, "a"), None);
    }

    #[test]
    fn prop_routes() {
        let p = parse("GET", "me/props/imap.subscriptions").unwrap();
        assert_eq!(p.route, Route::GetProp("imap.subscriptions".into()));
        assert_eq!(
            parse("PUT", "u/props/a-b_C.9").unwrap().route,
            Route::PutProp("a-b_C.9".into())
        );
        assert_eq!(
            parse("DELETE", "me/props/x").unwrap().route,
            Route::DeleteProp("x".into())
        );
        assert_eq!(parse("POST", "me/props/x"), Err(RouteError::Method));
        assert_eq!(parse("GET", "me/props/"), Err(RouteError::BadName));
        assert_eq!(parse("GET", "me/props/a%2Fb"), Err(RouteError::BadName));
        assert_eq!(parse("PUT", "me/props/a b"), Err(RouteError::BadName));
        let long = format!("me/props/{}", "n".repeat(65));
        assert_eq!(parse("GET", &long), Err(RouteError::BadName));
        let max = format!("me/props/{}", "n".repeat(64));
        assert!(parse("GET", &max).is_ok());
        assert_eq!(parse("GET", "me/props"), Err(RouteError::NotFound));
        assert_eq!(parse("GET", "me/props/a/b"), Err(RouteError::NotFound));
    }

    /// Arbitrary paths and queries never panic (a cheap stand-in for fuzzing).
    #[test]
    fn arbitrary_input_never_panics() {
        let alphabet = [
            "me",
            "u",
            "folders",
            "items",
            "objects",
            "1",
            "0",
            "%",
            "%4",
            "%e9",
            "%ff",
            "/",
            "-1",
            "99999999999",
            "quota",
            "changes",
            "move",
            "props",
            "imap.subscriptions",
            "\u{e9}",
            "",
            "=",
            "&",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut path = String::new();
            for _ in 0..(x % 9) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                path.push_str(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            for m in ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"] {
                let _ = parse(m, &path);
            }
            let _ = query_param(Some(&path), "limit");
            let _ = decode_segment(&path);
        }
    }
}
