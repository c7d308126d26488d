//! Issue #8's acceptance run: kc-proxy in front of two nodes (z1, z2), each
//! with kc-server and kc-gateway, users on both, and real clients through
//! the edge only: mbsync (isync) two-way sync of 1,000 delivered messages,
//! offlineimap3, fetchmail over POP3S, curl over imaps:// and pop3s://, and
//! Python's imaplib (STARTTLS, AUTHENTICATE PLAIN, IDLE woken by an LMTP
//! delivery). A missing client fails the test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kc_tests::cluster::*;
use kc_tests::mail_stack::MailStack;

fn user(login: &str, node: &str) -> UserSpec {
    let mut u = UserSpec::new(login, node);
    // server.cfg's default disabled_features is "imap pop3", as in KC.
    u.extra.push("kopanoEnabledFeatures: imap".into());
    u.extra.push("kopanoEnabledFeatures: pop3".into());
    u
}

fn message(id: &str, to: &str) -> Vec<u8> {
    format!(
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nFrom: Sender <sender@example.net>\r\n\
         To: {to}\r\nSubject: message {id}\r\nMessage-ID: <{id}@example.net>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello {to}, this is {id}.\r\n"
    )
    .into_bytes()
}

/// Deliver `n` messages to `login` at its node, pipelined over one LMTP session.
fn deliver(stack: &MailStack, node: &str, login: &str, prefix: &str, n: usize) {
    let c = &stack.cluster;
    let rcpt = format!("{login}@example.com");
    let mut lmtp = LmtpClient::connect(
        c.node(node).lmtp_addr(),
        &c.base.join(format!("lmtp-{login}-{prefix}")),
    );
    for i in 0..n {
        lmtp.send("", &[&rcpt], &message(&format!("{prefix}{i}"), &rcpt));
    }
    for i in 0..n {
        let r = lmtp.recv().expect("LMTP client died");
        assert_eq!(r.data.first().map(|d| d.0), Some(250), "message {i}: {r:?}");
    }
    lmtp.finish();
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    text
}

/// Runs a Python imaplib script against the edge: `IMAPS`, `IMAP` (ports),
/// `CA`, and `PW(user)` are provided.
fn imaplib(stack: &MailStack, script: &str) -> String {
    let prelude = format!(
        "import imaplib, ssl, sys\n\
         IMAPS = {imaps}\nIMAP = {imap}\n\
         CTX = ssl.create_default_context(cafile={ca:?})\n\
         def PW(u): return u + '-secret'\n",
        imaps = stack.edge.imaps,
        imap = stack.edge.imap,
        ca = stack.cluster.pki.ca_file.display().to_string(),
    );
    run(
        Command::new(kc_tests::require_tool("python3"))
            .arg("-c")
            .arg(format!("{prelude}{script}")),
        "imaplib script",
    )
}

/// Maildir files of a folder (cur and new).
fn maildir_files(dir: &Path) -> Vec<PathBuf> {
    let mut v = vec![];
    for sub in ["cur", "new"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            v.extend(rd.flatten().map(|e| e.path()));
        }
    }
    v.sort();
    v
}

/// The `U=` UID that mbsync puts in a Maildir file name.
fn mbsync_uid(p: &Path) -> Option<u32> {
    let name = p.file_name()?.to_str()?;
    let rest = &name[name.find(",U=")? + 3..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn maildir_flags(p: &Path) -> String {
    let name = p.file_name().unwrap().to_string_lossy().into_owned();
    name.rsplit_once(":2,")
        .map(|(_, f)| f.to_string())
        .unwrap_or_default()
}

#[test]
fn real_clients_through_the_edge_reach_their_home_node() {
    let cluster = Cluster::start(
        &[("z1", &[]), ("z2", &[])],
        &[user("alice", "z1"), user("bob", "z2"), user("carol", "z2")],
    );
    let stack = MailStack::start(cluster, &[], &[]);
    let c = &stack.cluster;
    let ca = c.pki.ca_file.display().to_string();
    deliver(&stack, "z1", "alice", "a", 1000);
    deliver(&stack, "z2", "bob", "b", 5);
    deliver(&stack, "z2", "carol", "c", 3);

    // ---- curl over imaps:// and pop3s:// ------------------------------------
    let curl = kc_tests::require_tool("curl");
    let body = run(
        Command::new(&curl).args([
            "-sS",
            "--cacert",
            &ca,
            "-u",
            &format!("bob:{}", password("bob")),
            &format!("imaps://localhost:{}/INBOX;UID=1", stack.edge.imaps),
        ]),
        "curl imaps",
    );
    assert!(body.contains("Message-ID: <b0@example.net>"), "{body}");
    let list = run(
        Command::new(&curl).args([
            "-sS",
            "--cacert",
            &ca,
            "-u",
            &format!("alice:{}", password("alice")),
            &format!("pop3s://localhost:{}/", stack.edge.pop3s),
        ]),
        "curl pop3s LIST",
    );
    assert_eq!(list.lines().count(), 1000, "alice's POP3 listing");
    let retr = run(
        Command::new(&curl).args([
            "-sS",
            "--cacert",
            &ca,
            "-u",
            &format!("carol:{}", password("carol")),
            &format!("pop3s://localhost:{}/2", stack.edge.pop3s),
        ]),
        "curl pop3s RETR",
    );
    assert!(retr.contains("Message-ID: <c1@example.net>"), "{retr}");

    // ---- imaplib: STARTTLS, AUTHENTICATE PLAIN, home-node routing --------------
    let out = imaplib(
        &stack,
        "m = imaplib.IMAP4('127.0.0.1', IMAP)\n\
         m.starttls(CTX)\n\
         m.login('alice', PW('alice'))\n\
         print(m.select('INBOX')[1][0].decode())\n\
         m.logout()\n\
         m = imaplib.IMAP4_SSL('127.0.0.1', IMAPS, ssl_context=CTX)\n\
         m.authenticate('PLAIN', lambda _: b'\\0bob\\0' + PW('bob').encode())\n\
         print(m.select('INBOX')[1][0].decode())\n\
         m.logout()\n\
         m = imaplib.IMAP4_SSL('127.0.0.1', IMAPS, ssl_context=CTX)\n\
         try:\n    m.login('bob', 'wrong')\n    print('LOGIN-OK')\n\
         except imaplib.IMAP4.error as e:\n    print('LOGIN-NO')\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["1000", "5", "LOGIN-NO"],
        "{out}\n{}",
        stack.edge.log()
    );

    // ---- IDLE through the edge, woken by an LMTP delivery on z2 ---------------
    let idle = format!(
        "import socket, ssl\n\
         ctx = ssl.create_default_context(cafile={ca:?})\n\
         s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', {port})), server_hostname='localhost')\n\
         f = s.makefile('rwb')\n\
         def cmd(line):\n    f.write(line + b'\\r\\n'); f.flush()\n\
         def until(prefix):\n    while True:\n        l = f.readline()\n        if not l: raise SystemExit('closed')\n        if l.startswith(prefix): return l\n\
         f.readline()\n\
         cmd(b'a LOGIN bob bob-secret'); until(b'a OK')\n\
         cmd(b'b SELECT INBOX'); until(b'b OK')\n\
         cmd(b'c IDLE'); until(b'+')\n\
         print('IDLING', flush=True)\n\
         print(until(b'* 6 EXISTS').decode().strip(), flush=True)\n\
         cmd(b'DONE'); until(b'c OK')\n\
         cmd(b'd LOGOUT')\n",
        ca = ca,
        port = stack.edge.imaps,
    );
    let mut py = Command::new(kc_tests::require_tool("python3"))
        .arg("-c")
        .arg(idle)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(py.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "IDLING");
    deliver(&stack, "z2", "bob", "idle", 1);
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "* 6 EXISTS");
    assert!(py.wait().unwrap().success());

    // ---- fetchmail over POP3S: retrieve and delete (carol) ---------------------
    let fm_dir = c.base.join("fetchmail");
    std::fs::create_dir_all(&fm_dir).unwrap();
    let rc = kc_tests::gateway_harness::write_fetchmailrc(&fm_dir, c, stack.edge.pop3s, "carol");
    let (code, out) = kc_tests::gateway_harness::run_fetchmail(&fm_dir, &rc);
    assert_eq!(code, Some(0), "fetchmail: {out}\n{}", stack.edge.log());
    let files: Vec<_> = std::fs::read_dir(fm_dir.join("mail"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(files.len(), 3);
    // Deleted on the server: a second run finds nothing (exit 1 = no mail).
    assert_eq!(
        kc_tests::gateway_harness::run_fetchmail(&fm_dir, &rc).0,
        Some(1)
    );
    let mut carol = c.store("z2", "carol");
    let inbox = carol.folder_id("inbox");
    assert!(carol.list(inbox).is_empty());

    // ---- offlineimap3 (bob) --------------------------------------------------
    let oi = c.base.join("offlineimap");
    std::fs::create_dir_all(oi.join("mail")).unwrap();
    let oirc = oi.join("offlineimaprc");
    std::fs::write(
        &oirc,
        format!(
            "[general]\naccounts = kc\nmetadata = {dir}/meta\n\n\
             [Account kc]\nlocalrepository = local\nremoterepository = remote\n\n\
             [Repository local]\ntype = Maildir\nlocalfolders = {dir}/mail\n\n\
             [Repository remote]\ntype = IMAP\nremotehost = localhost\nremoteport = {port}\n\
             ssl = yes\nsslcacertfile = {ca}\nremoteuser = bob\nremotepass = {pw}\n\
             folderfilter = lambda f: f == 'INBOX'\n",
            dir = oi.display(),
            port = stack.edge.imaps,
            pw = password("bob"),
        ),
    )
    .unwrap();
    let offlineimap = kc_tests::require_tool("offlineimap");
    run(
        Command::new(&offlineimap)
            .arg("-c")
            .arg(&oirc)
            .args(["-o", "-u", "basic"]),
        "offlineimap",
    );
    let bob_local = maildir_files(&oi.join("mail").join("INBOX"));
    assert_eq!(bob_local.len(), 6, "{bob_local:?}");

    // ---- mbsync: 1,000 messages, then flags both ways and a local deletion ----
    let mb = c.base.join("mbsync");
    std::fs::create_dir_all(mb.join("mail")).unwrap();
    let mbrc = mb.join("mbsyncrc");
    std::fs::write(
        &mbrc,
        format!(
            "IMAPAccount kc\nHost localhost\nPort {port}\nUser alice\nPass {pw}\n\
             SSLType IMAPS\nCertificateFile {ca}\n\n\
             IMAPStore remote\nAccount kc\n\n\
             MaildirStore local\nPath {dir}/mail/\nInbox {dir}/mail/INBOX\n\n\
             Channel kc\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Both\n\
             Expunge Both\nSyncState *\nSync All\n",
            port = stack.edge.imaps,
            pw = password("alice"),
            dir = mb.display(),
        ),
    )
    .unwrap();
    let mbsync = kc_tests::require_tool("mbsync");
    let sync = || {
        run(
            Command::new(&mbsync)
                .env("HOME", &mb)
                .arg("-c")
                .arg(&mbrc)
                .arg("-a"),
            "mbsync",
        )
    };
    sync();
    let inbox = mb.join("mail").join("INBOX");
    let files = maildir_files(&inbox);
    assert_eq!(files.len(), 1000);
    // Locally: flag UID 10, trash UID 20. On the server: flag UID 30.
    let find = |uid: u32| {
        maildir_files(&inbox)
            .into_iter()
            .find(|p| mbsync_uid(p) == Some(uid))
            .unwrap_or_else(|| panic!("no local file for UID {uid}"))
    };
    let mark = |uid: u32, flag: char| {
        let p = find(uid);
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let (base, flags) = name.rsplit_once(":2,").unwrap_or((&name, ""));
        let mut f: Vec<char> = flags.chars().chain([flag]).collect();
        f.sort();
        f.dedup();
        let new = inbox
            .join("cur")
            .join(format!("{base}:2,{}", f.iter().collect::<String>()));
        std::fs::rename(&p, new).unwrap();
    };
    mark(10, 'F');
    mark(20, 'T');
    imaplib(
        &stack,
        "m = imaplib.IMAP4_SSL('127.0.0.1', IMAPS, ssl_context=CTX)\n\
         m.login('alice', PW('alice'))\n\
         m.select('INBOX')\n\
         assert m.uid('STORE', '30', '+FLAGS', '(\\\\Flagged)')[0] == 'OK'\n\
         m.logout()\n",
    );
    sync();
    assert!(
        maildir_flags(&find(30)).contains('F'),
        "server flag reached the Maildir"
    );
    assert_eq!(
        maildir_files(&inbox).len(),
        999,
        "the trashed message is expunged locally"
    );
    let flags = imaplib(
        &stack,
        "m = imaplib.IMAP4_SSL('127.0.0.1', IMAPS, ssl_context=CTX)\n\
         m.login('alice', PW('alice'))\n\
         print(m.select('INBOX')[1][0].decode())\n\
         print(m.uid('FETCH', '10', '(FLAGS)')[1][0].decode())\n\
         print(m.uid('SEARCH', None, 'UID', '20')[1][0].decode() or 'none')\n\
         m.logout()\n",
    );
    let lines: Vec<&str> = flags.lines().collect();
    assert_eq!(lines[0], "999", "{flags}");
    assert!(lines[1].contains("\\Flagged"), "{flags}");
    assert_eq!(lines[2], "none", "{flags}");
    // A second sync with nothing changed moves nothing.
    let again = sync();
    assert_eq!(maildir_files(&inbox).len(), 999, "{again}");
}

/// imaplib through the edge: expunge semantics, MOVE, CONDSTORE, a literal
/// over 1 MB, and UIDs that stay put across reconnects and a restart of the
/// user's gateway behind the edge.
#[test]
fn imap_semantics_through_the_edge() {
    let cluster = Cluster::start(
        &[("z1", &[]), ("z2", &[])],
        &[user("dora", "z1"), user("emil", "z2")],
    );
    let mut stack = MailStack::start(cluster, &[], &[]);
    deliver(&stack, "z2", "emil", "e", 6);

    let script = "\
m = imaplib.IMAP4_SSL('127.0.0.1', IMAPS, ssl_context=CTX)
m.login('emil', PW('emil'))
typ, caps = m.capability()
caps = caps[0].decode().split()
for c in ('CONDSTORE', 'MOVE', 'UIDPLUS', 'IDLE', 'LITERAL+'):
    assert c in caps, caps
m.enable('CONDSTORE')
typ, d = m.select('INBOX')
assert d[0] == b'6', d
hms = int(m.untagged_responses['HIGHESTMODSEQ'][0]) if 'HIGHESTMODSEQ' in m.untagged_responses else None
assert hms, m.untagged_responses
# \\Deleted alone removes nothing; EXPUNGE does.
m.uid('STORE', '1', '+FLAGS', '(\\\\Deleted)')
typ, d = m.select('INBOX')
assert d[0] == b'6', d
typ, d = m.expunge()
assert d[0] == b'1', d
# CONDSTORE: only the changed message is reported after HIGHESTMODSEQ.
m.uid('STORE', '3', '+FLAGS', '(\\\\Flagged)')
typ, d = m.uid('FETCH', '1:*', '(FLAGS) (CHANGEDSINCE %d)' % hms)
changed = [x for x in d if x]
assert len(changed) == 1 and b'UID 3' in changed[0], d
# MOVE (RFC 6851) to a new folder.
assert m.create('Archive')[0] == 'OK'
typ, d = m.uid('MOVE', '2', 'Archive')
assert typ == 'OK', (typ, d)
typ, d = m.select('Archive')
assert d[0] == b'1', d
# A literal over 1 MB (APPEND), read back byte-exact.
big = b'Subject: big\\r\\n\\r\\n' + (b'x' * 998 + b'\\r\\n') * 1100
typ, d = m.append('Archive', None, None, big)
assert typ == 'OK', (typ, d)
typ, d = m.select('Archive')
typ, d = m.fetch('2', '(BODY.PEEK[])')
assert d[0][1] == big, len(d[0][1])
m.select('INBOX')
typ, d = m.uid('SEARCH', None, 'ALL')
print(d[0].decode())
m.logout()
";
    let out = imaplib(&stack, script);
    let uids_before = out.lines().last().unwrap_or("").to_string();
    assert_eq!(uids_before, "3 4 5 6", "{out}");

    let uids = "\
m = imaplib.IMAP4_SSL('127.0.0.1', IMAPS, ssl_context=CTX)
m.login('emil', PW('emil'))
typ, d = m.status('INBOX', '(UIDVALIDITY UIDNEXT MESSAGES)')
print(d[0].decode())
m.select('INBOX')
print(m.uid('SEARCH', None, 'ALL')[1][0].decode())
m.logout()
";
    let first = imaplib(&stack, uids);
    // A reconnect sees the same UIDs and UIDVALIDITY.
    assert_eq!(imaplib(&stack, uids), first);
    assert!(first.lines().nth(1) == Some("3 4 5 6"), "{first}");
    // Restart emil's gateway (z2) behind the edge: still the same.
    let g = &mut stack.gateways[1];
    g.terminate();
    g.restart();
    kc_tests::wait_for_port(
        std::net::SocketAddr::new(node_address(1).parse().unwrap(), stack.node_imap_port),
        std::time::Duration::from_secs(60),
    );
    assert_eq!(imaplib(&stack, uids), first);
}

/// `mail_max_preauth_per_ip`: connections that have not logged in are
/// capped per client address; a login frees its place.
#[test]
fn preauth_connections_are_capped_per_address() {
    let cluster = Cluster::start(&[("z1", &[])], &[user("gus", "z1")]);
    let stack = MailStack::start(cluster, &[], &["mail_max_preauth_per_ip = 2"]);
    let script = "\
import socket
def conn():
    s = socket.create_connection(('127.0.0.1', IMAP))
    f = s.makefile('rwb')
    return s, f, f.readline()
a, fa, ga = conn()
b, fb, gb = conn()
assert ga.startswith(b'* OK') and gb.startswith(b'* OK'), (ga, gb)
c, fc, gc = conn()
print(gc.decode().strip())
# Log in on the first one (STARTTLS, then LOGIN): its place is freed.
fa.write(b'1 STARTTLS\\r\\n'); fa.flush()
assert fa.readline().startswith(b'1 OK')
t = CTX.wrap_socket(a, server_hostname='localhost')
ft = t.makefile('rwb')
ft.write(b'2 LOGIN gus ' + PW('gus').encode() + b'\\r\\n'); ft.flush()
line = ft.readline()
while line.startswith(b'*'):
    line = ft.readline()
assert line.startswith(b'2 OK'), line
d, fd, gd = conn()
print(gd.decode().strip()[:4])
";
    let out = imaplib(&stack, script);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["* BYE Too many connections from your address", "* OK"],
        "{out}"
    );
}

/// The capability list a client gets from the edge with its login (the
/// edge replays the login at the gateway and answers `OK [CAPABILITY ...]`)
/// is the one the gateway itself answers to CAPABILITY after a login, for
/// both settings of `imap_capability_idle`; and before login the edge
/// announces that list too, plus STARTTLS/LOGINDISABLED.
#[test]
fn the_edge_announces_the_gateways_capabilities() {
    for idle in ["yes", "no"] {
        let cluster = Cluster::start(&[("z1", &[])], &[user("ida", "z1")]);
        let idle_cfg = format!("imap_capability_idle = {idle}");
        let stack = MailStack::start(cluster, &[&idle_cfg], &[]);
        let script = format!(
            "\
import socket, re
def tagged(f, tag):
    while True:
        line = f.readline()
        assert line, 'connection closed'
        if line.startswith(tag + b' '):
            return line.decode().strip()
def code(line):
    m = re.search(r'\\[CAPABILITY ([^\\]]*)\\]', line)
    assert m, line
    return m.group(1)
# Through the edge: the list sent with the login reply.
t = CTX.wrap_socket(socket.create_connection(('127.0.0.1', IMAPS)), server_hostname='localhost')
f = t.makefile('rwb')
greeting = f.readline().decode().strip()
f.write(b'a1 LOGIN ida ' + PW('ida').encode() + b'\\r\\n'); f.flush()
edge = code(tagged(f, b'a1'))
f.write(b'a2 LOGOUT\\r\\n'); f.flush()
tagged(f, b'a2')
# The gateway itself, after a login, answering CAPABILITY.
g = socket.create_connection(({node:?}, {port}))
fg = g.makefile('rwb')
fg.readline()
fg.write(b'b1 LOGIN ida ' + PW('ida').encode() + b'\\r\\n'); fg.flush()
tagged(fg, b'b1')
fg.write(b'b2 CAPABILITY\\r\\n'); fg.flush()
caps = None
while True:
    line = fg.readline().decode().strip()
    if line.startswith('* CAPABILITY '):
        caps = line[len('* CAPABILITY '):]
    if line.startswith('b2 '):
        assert line.startswith('b2 OK'), line
        break
fg.write(b'b3 LOGOUT\\r\\n'); fg.flush()
print('EDGE ' + edge)
print('GATEWAY ' + caps)
print('GREETING ' + code(greeting))
",
            node = node_address(0),
            port = stack.node_imap_port,
        );
        let out = imaplib(&stack, &script);
        let field = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in:\n{out}"))
                .to_string()
        };
        let (edge, gateway, greeting) = (field("EDGE "), field("GATEWAY "), field("GREETING "));
        assert_eq!(edge, gateway, "idle = {idle}\n{out}");
        assert!(gateway.contains("QRESYNC"), "{gateway}");
        assert_eq!(gateway.split(' ').any(|c| c == "IDLE"), idle == "yes");
        // Before login (IMAPS: TLS active) the edge shows the same list
        // plus AUTH=PLAIN; IDLE follows the edge's own setting (on).
        let without_idle = |s: &str| {
            s.split(' ')
                .filter(|c| *c != "IDLE")
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            without_idle(&greeting),
            format!("{} AUTH=PLAIN", without_idle(&gateway)),
            "{out}"
        );
    }
}
