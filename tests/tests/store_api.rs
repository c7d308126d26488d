//! End-to-end test of kc-server's store API (`/kc-store/v1/`, store-api/API.md):
//! two real kc-server nodes over an LDIF directory, raw HTTP/1.1 requests with
//! the session id of a SOAP logon.

use std::io::Write;

use kc_tests::server_harness::*;

fn user_ldif(login: &str, uid: u32, server: &str, admin: bool) -> String {
    format!(
        "dn: uid={login},ou=People,dc=example,dc=com\n\
         objectClass: inetOrgPerson\nobjectClass: posixAccount\nobjectClass: kopano-user\n\
         uid: {login}\ncn: User {login}\nsn: {login}\nmail: {login}@example.com\n\
         uidNumber: {uid}\ngidNumber: 5000\nhomeDirectory: /home/{login}\n\
         userPassword: {login}-secret\nkopanoAccount: 1\nkopanoUserServer: {server}\n{}\n",
        if admin { "kopanoAdmin: 1\n" } else { "" }
    )
}

fn server_ldif(name: &str, http: u16, tls: u16) -> String {
    format!(
        "dn: cn={name},ou=Servers,dc=example,dc=com\n\
         objectClass: device\nobjectClass: ipHost\nobjectClass: kopano-server\n\
         cn: {name}\nipHostNumber: 127.0.0.1\nkopanoHttpPort: {http}\nkopanoSslPort: {tls}\n\
         kopanoContainsPublic: 0\n\n"
    )
}

/// Send one request and read the answer.
fn request(
    c: &mut Conn,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    c.write_all(req.as_bytes()).unwrap();
    c.write_all(body).unwrap();
    c.flush().unwrap();
    c.read_response()
}

fn header<'a>(r: &'a HttpResponse, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The integer after `"key":` in a JSON text (first occurrence).
fn num(json: &str, key: &str) -> i64 {
    let pat = format!("\"{key}\":");
    let start = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + pat.len();
    let digits: String = json[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().unwrap()
}

/// The id of the folder with this role in a `GET folders` answer.
fn folder_id(folders: &str, role: &str) -> i64 {
    let pat = format!("\"role\":\"{role}\"");
    let obj = folders
        .split("},{")
        .find(|o| o.contains(&pat))
        .unwrap_or_else(|| panic!("no {role} folder"));
    num(obj, "id")
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: Sender <s@example.com>\r\n\
         To: u1@example.com\r\nSubject: Test {i} \u{e9}t\u{e9}\r\nMessage-ID: <m{i}@example.com>\r\n\
         \r\nBody {i}\r\n.leading dot\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn store_api_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_owned();
    let pki = Pki::new(&base.join("pki"));
    let sslkeys = base.join("sslkeys");
    std::fs::create_dir_all(&sslkeys).unwrap();
    let mut specs = [NodeSpec::new("n1"), NodeSpec::new("n2")];
    let mut ldif = String::from(
        "dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=Servers,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Servers\n\n",
    );
    for s in &specs {
        ldif.push_str(&server_ldif(&s.name, s.http_port, s.tls_port));
    }
    ldif.push_str(
        "dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n",
    );
    ldif.push_str(&user_ldif("u1", 2001, "n1", false));
    ldif.push_str(&user_ldif("u2", 2002, "n2", false));
    ldif.push_str(&user_ldif("boss", 2003, "n1", true));
    std::fs::write(base.join("directory.ldif"), ldif).unwrap();
    let ldap_cfg = base.join("ldap.cfg");
    std::fs::write(
        &ldap_cfg,
        "ldap_uri =\nldap_ldif_file = directory.ldif\nldap_search_base = dc=example,dc=com\n\
         ldap_user_search_filter = (kopanoAccount=1)\nldap_server_type_attribute_value = kopano-server\n\
         ldap_server_address_attribute = ipHostNumber\n",
    )
    .unwrap();
    for s in specs.iter_mut() {
        s.extra.extend([
            "user_plugin = ldap".to_string(),
            format!("user_plugin_config = {}", ldap_cfg.display()),
            "enable_distributed_kopano = yes".to_string(),
            "quota_warn = 1".to_string(),
            "quota_soft = 0".to_string(),
        ]);
    }
    // n1: warn only; n2: a 1 MB hard quota.
    specs[0].extra.push("quota_hard = 0".into());
    specs[1].extra.push("quota_hard = 1".into());
    let [s1, s2] = specs;
    let n1 = start_server(&base, &s1, &pki, &sslkeys);
    let n2 = start_server(&base, &s2, &pki, &sslkeys);

    let mut c = n1.connect(Transport::Http, &pki, None);
    let (er, sid) = c.logon(&[], "u1", "u1-secret");
    assert_eq!(er, 0);
    let sid = sid.to_string();
    let auth = [("X-Kc-Session", sid.as_str())];

    // No or a wrong session: 401.
    let r = request(&mut c, "GET", "/kc-store/v1/me/quota", &[], b"");
    assert_eq!(r.status, 401, "{}", r.body);
    let r = request(
        &mut c,
        "GET",
        "/kc-store/v1/me/quota",
        &[("X-Kc-Session", "12345")],
        b"",
    );
    assert_eq!(r.status, 401);
    // Someone else's store without admin rights: 403.
    let r = request(&mut c, "GET", "/kc-store/v1/u2/quota", &auth, b"");
    assert_eq!(r.status, 403, "{}", r.body);

    // Folder hierarchy.
    let r = request(&mut c, "GET", "/kc-store/v1/me/folders", &auth, b"");
    assert_eq!(r.status, 200, "{}", r.body);
    let inbox = folder_id(&r.body, "inbox");
    let trash = folder_id(&r.body, "wastebasket");
    let top = folder_id(&r.body, "ipm_subtree");
    let r = request(
        &mut c,
        "POST",
        "/kc-store/v1/me/folders",
        &auth,
        format!(r#"{{"parent":{top},"name":"Archive","class":"IPF.Note"}}"#).as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let archive = num(&r.body, "id");
    let r = request(
        &mut c,
        "POST",
        "/kc-store/v1/me/folders",
        &auth,
        format!(r#"{{"parent":{top},"name":"archive"}}"#).as_bytes(),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    let r = request(
        &mut c,
        "PATCH",
        &format!("/kc-store/v1/me/folders/{archive}"),
        &auth,
        br#"{"name":"Archive 2026"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // Append ten messages, then double them with bulk copies into the same
    // folder to 10 240 (one request per doubling, never one per message).
    let first = message(0);
    let mut modseq0 = 0;
    for i in 0..10 {
        let r = request(
            &mut c,
            "POST",
            &format!("/kc-store/v1/me/folders/{inbox}/items?flags=%5CRecent+%24Label1"),
            &auth,
            &message(i),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(num(&r.body, "uid"), i as i64 + 1);
        if i == 0 {
            modseq0 = num(&r.body, "modseq");
        }
    }
    let mut count = 10u32;
    while count < 10_000 {
        let uids: Vec<String> = (1..=count).map(|u| u.to_string()).collect();
        let body = format!(r#"{{"uids":[{}],"dest":{inbox}}}"#, uids.join(","));
        let r = request(
            &mut c,
            "POST",
            &format!("/kc-store/v1/me/folders/{inbox}/copy"),
            &auth,
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        count *= 2;
    }
    assert_eq!(count, 10_240);

    // All rows in one response, with selected fields.
    let r = request(
        &mut c,
        "GET",
        &format!("/kc-store/v1/me/folders/{inbox}/items?fields=uid,flags,size,subject"),
        &auth,
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "content-type"), Some("application/x-ndjson"));
    let lines: Vec<&str> = r.body.lines().collect();
    assert_eq!(lines.len(), 10_240);
    assert!(lines[0].starts_with(r#"{"uid":1,"flags":["$Label1","\\Recent"],"size":"#));
    assert!(lines[0].contains("\"subject\":\"Test 0 \u{e9}t\u{e9}\""));
    assert!(!lines[0].contains("modseq"));
    assert_eq!(num(lines[10_239], "uid"), 10_240);
    assert_eq!(header(&r, "kc-uid-next"), Some("10241"));
    let validity = header(&r, "kc-uid-validity").unwrap().to_owned();

    // Fetch one byte-exact.
    let r = request(
        &mut c,
        "GET",
        &format!("/kc-store/v1/me/folders/{inbox}/items/1"),
        &auth,
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_bytes(), first.as_slice());
    assert_eq!(header(&r, "content-type"), Some("message/rfc822"));

    // Flags in bulk.
    let r = request(
        &mut c,
        "POST",
        &format!("/kc-store/v1/me/folders/{inbox}/flags"),
        &auth,
        br#"{"uids":[1,2,3,99999],"op":"add","flags":["\\Seen","\\Deleted"]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.matches("\"uid\"").count(), 3);
    let since = num(&r.body, "modseq") - 1;

    // Move two to the archive folder; expunge the \Deleted one left behind.
    let r = request(
        &mut c,
        "POST",
        &format!("/kc-store/v1/me/folders/{inbox}/move"),
        &auth,
        format!(r#"{{"uids":[1,2],"dest":{archive}}}"#).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(r#"{"new_uid":1,"uid":1},{"new_uid":2,"uid":2}"#),
        "{}",
        r.body
    );
    let r = request(
        &mut c,
        "POST",
        &format!("/kc-store/v1/me/folders/{inbox}/expunge"),
        &auth,
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, r#"{"expunged":[3]}"#);
    let r = request(
        &mut c,
        "GET",
        &format!("/kc-store/v1/me/folders/{inbox}/items?fields=uid&limit=2"),
        &auth,
        b"",
    );
    assert_eq!(r.body, "{\"uid\":4}\n{\"uid\":5}\n");
    assert_eq!(header(&r, "kc-uid-validity"), Some(validity.as_str()));
    let r = request(
        &mut c,
        "GET",
        &format!("/kc-store/v1/me/folders/{archive}/items/2"),
        &auth,
        b"",
    );
    assert_eq!(r.body.as_bytes(), message(1).as_slice());

    // Changes since the flag change: 3 flag changes, 2 × (tombstone + new)
    // for the moves, 1 tombstone for the expunge, in modseq order.
    let r = request(
        &mut c,
        "GET",
        &format!("/kc-store/v1/me/changes?since={since}"),
        &auth,
        b"",
    );
    assert_eq!(r.status, 200);
    let kinds: Vec<String> = r
        .body
        .lines()
        .map(|l| {
            let t = l.split("\"change_type\":\"").nth(1).unwrap();
            t[..t.find('"').unwrap()].to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        ["flags", "flags", "flags", "delete", "new", "delete", "new", "delete"]
    );
    let seqs: Vec<i64> = r.body.lines().map(|l| num(l, "modseq")).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    // All changes since the first append, across several streamed pages.
    let r = request(
        &mut c,
        "GET",
        &format!("/kc-store/v1/me/changes?since={}", modseq0 - 1),
        &auth,
        b"",
    );
    let seqs: Vec<i64> = r.body.lines().map(|l| num(l, "modseq")).collect();
    assert_eq!(seqs.len(), 10_240 + 3 + 4 + 1);
    assert_eq!(seqs[0], modseq0);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let r = request(
        &mut c,
        "GET",
        &format!("/kc-store/v1/me/changes?since={modseq0}&limit=1"),
        &auth,
        b"",
    );
    assert_eq!(r.body.lines().count(), 1);

    // Quota: ~1.5 MB stored against quota_warn = 1 MB.
    let r = request(&mut c, "GET", "/kc-store/v1/me/quota", &auth, b"");
    assert_eq!(r.status, 200, "{}", r.body);
    let size = num(&r.body, "size");
    assert!(size > 1 << 20, "{}", r.body);
    assert_eq!(num(&r.body, "warn"), 1 << 20);
    assert!(r.body.contains(r#""level":"warn""#), "{}", r.body);

    // Copy one to the wastebasket, then soft-delete it there.
    let r = request(
        &mut c,
        "POST",
        &format!("/kc-store/v1/me/folders/{inbox}/copy"),
        &auth,
        format!(r#"{{"uids":[4],"dest":{trash}}}"#).as_bytes(),
    );
    assert_eq!(r.body, r#"{"uids":[{"new_uid":1,"uid":4}]}"#);
    let r = request(
        &mut c,
        "POST",
        &format!("/kc-store/v1/me/folders/{trash}/delete"),
        &auth,
        br#"{"uids":[1]}"#,
    );
    assert_eq!(r.body, r#"{"deleted":[1]}"#);
    let r = request(
        &mut c,
        "GET",
        &format!("/kc-store/v1/me/folders/{trash}/items"),
        &auth,
        b"",
    );
    assert_eq!((r.status, r.body.as_str()), (200, ""));

    // Calendar items with ETags.
    let r = request(&mut c, "GET", "/kc-store/v1/me/folders", &auth, b"");
    let cal = folder_id(&r.body, "calendar");
    let ev = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:ev1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let path = format!("/kc-store/v1/me/folders/{cal}/objects/ev1");
    let r = request(&mut c, "PUT", &path, &auth, ev);
    assert_eq!(r.status, 201, "{}", r.body);
    let etag = header(&r, "etag").unwrap().to_owned();
    let r = request(&mut c, "PUT", &path, &[auth[0], ("If-None-Match", "*")], ev);
    assert_eq!(r.status, 412);
    let r = request(&mut c, "PUT", &path, &[auth[0], ("If-Match", "\"x\"")], ev);
    assert_eq!(r.status, 412);
    let r = request(&mut c, "PUT", &path, &[auth[0], ("If-Match", &etag)], b"v2");
    assert_eq!(r.status, 200, "{}", r.body);
    let etag2 = header(&r, "etag").unwrap().to_owned();
    let r = request(&mut c, "GET", &path, &auth, b"");
    assert_eq!((r.status, r.body.as_str()), (200, "v2"));
    assert_eq!(header(&r, "etag"), Some(etag2.as_str()));
    let r = request(
        &mut c,
        "DELETE",
        &path,
        &[auth[0], ("If-Match", &etag)],
        b"",
    );
    assert_eq!(r.status, 412);
    let r = request(
        &mut c,
        "DELETE",
        &path,
        &[auth[0], ("If-Match", &etag2)],
        b"",
    );
    assert_eq!(r.status, 200);
    let r = request(&mut c, "GET", &path, &auth, b"");
    assert_eq!(r.status, 404);

    // Folder delete (soft) of the renamed folder.
    let r = request(
        &mut c,
        "DELETE",
        &format!("/kc-store/v1/me/folders/{archive}"),
        &auth,
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = request(
        &mut c,
        "GET",
        &format!("/kc-store/v1/me/folders/{archive}/items"),
        &auth,
        b"",
    );
    assert_eq!(r.status, 404);

    // An admin asking n1 for u2's store (home n2) is redirected by GetBestServerPath.
    let mut c = n1.connect(Transport::Http, &pki, None);
    let (er, boss) = c.logon(&[], "boss", "boss-secret");
    assert_eq!(er, 0);
    let boss = boss.to_string();
    let r = request(
        &mut c,
        "GET",
        "/kc-store/v1/u2/quota?x=1",
        &[("X-Kc-Session", &boss)],
        b"",
    );
    assert_eq!(r.status, 307, "{}", r.body);
    assert_eq!(
        header(&r, "location"),
        Some(format!("http://127.0.0.1:{}/kc-store/v1/u2/quota?x=1", n2.http_port).as_str())
    );
    assert!(std::fs::read_to_string(&n1.log)
        .unwrap()
        .contains("Redirecting request to"));
    // On n2, u2's store reaches its hard quota: appends are refused with 507.
    let mut c2 = n2.connect(Transport::Http, &pki, None);
    let (er, sid2) = c2.logon(&[], "u2", "u2-secret");
    assert_eq!(er, 0);
    let sid2 = sid2.to_string();
    let auth2 = [("X-Kc-Session", sid2.as_str())];
    let r = request(&mut c2, "GET", "/kc-store/v1/me/folders", &auth2, b"");
    let inbox2 = folder_id(&r.body, "inbox");
    // Exactly the 1 MB hard level: the last append that fits (the limit
    // counts the store size after the write).
    let mut big = message(0);
    big.resize(1 << 20, b'x');
    let append = format!("/kc-store/v1/me/folders/{inbox2}/items");
    let r = request(&mut c2, "POST", &append, &auth2, &big);
    assert_eq!(r.status, 201, "{}", r.body);
    let r = request(&mut c2, "GET", "/kc-store/v1/me/quota", &auth2, b"");
    assert!(r.body.contains(r#""level":"hard""#), "{}", r.body);
    let r = request(&mut c2, "POST", &append, &auth2, &message(1));
    assert_eq!(r.status, 507, "{}", r.body);
    assert!(r.body.contains("KCERR_STORE_FULL"), "{}", r.body);

    // Everything else on the listener is still SOAP.
    let r = c.post(&[], &logon_xml("u1", "u1-secret", CLIENT_CAPS));
    assert_eq!(r.er(), 0);
}
