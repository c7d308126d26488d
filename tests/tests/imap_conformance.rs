//! IMAP conformance (issue #21, "Bugs found"): each bug reproduced with
//! Python's `imaplib` at the gateway directly and through the edge (kc-proxy
//! IMAPS), with two sessions where the bug needs two, plus curl's
//! `imaps://.../INBOX` through the edge.

use std::process::Command;

use kc_tests::cluster::*;
use kc_tests::mail_stack::MailStack;

/// A user with the `imap` feature (kc-server disables it by default).
fn user(login: &str) -> UserSpec {
    let mut u = UserSpec::new(login, "n1");
    u.extra.push("kopanoEnabledFeatures: imap".into());
    u
}

/// One node with its gateway and an edge in front, user `alice`.
fn stack() -> MailStack {
    let cluster = Cluster::start(&[("n1", &[])], &[user("alice")]);
    MailStack::start(cluster, &[], &[])
}

/// Helpers for the scripts: `conn()` logs `alice` in at the place the
/// script runs against (`TARGET`: `gw` plain at the gateway, `edge` IMAPS
/// at kc-proxy).
const PRELUDE: &str = r#"
import imaplib, ssl, sys, socket
TARGET, GW_HOST, GW_PORT, EDGE_PORT, CA, USER, PW = sys.argv[1:8]
for c in ('ID', 'MOVE', 'UID'):
    imaplib.Commands.setdefault(c, ('NONAUTH', 'AUTH', 'SELECTED'))
def conn():
    if TARGET == 'gw':
        M = imaplib.IMAP4(GW_HOST, int(GW_PORT), timeout=60)
    else:
        ctx = ssl.create_default_context(cafile=CA)
        M = imaplib.IMAP4_SSL('localhost', int(EDGE_PORT), ssl_context=ctx, timeout=60)
    M.login(USER, PW)
    return M
def ok(r):
    typ, data = r
    assert typ == 'OK', (typ, data)
    return data
def cmd(M, name, *args):
    """A command imaplib has no method for; (status, untagged of `name`)."""
    M.untagged_responses.clear()
    typ, data = M._simple_command(name, *args)
    return typ, M.untagged_responses.get(name, [])
def names(lines):
    """Mailbox names of LIST/LSUB lines (quoted or atom, last item)."""
    out = []
    for l in lines:
        if l is None:
            continue
        if isinstance(l, tuple):
            l = l[0] + l[1]
        s = l.decode()
        n = s.rsplit(' "/" ', 1)[1]
        out.append(n.strip('"'))
    return sorted(out)
def msg(i, frm='Sender <sender@example.net>'):
    return ('From: %s\r\nTo: alice@example.com\r\nSubject: test %s\r\n'
            'Message-ID: <%s@example.net>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nbody %s\r\n'
            % (frm, i, i, i)).encode()
"#;

/// Runs `script` (with [`PRELUDE`]) against `target` (`gw` or `edge`) as
/// alice; panics with its output and the logs unless it exits 0. Returns
/// stdout.
fn py(stack: &MailStack, target: &str, script: &str) -> String {
    let out = Command::new(kc_tests::require_tool("python3"))
        .arg("-c")
        .arg(format!("{PRELUDE}\n{script}"))
        .arg(target)
        .arg(node_address(0))
        .arg(stack.node_imap_port.to_string())
        .arg(stack.edge.imaps.to_string())
        .arg(stack.cluster.pki.ca_file.display().to_string())
        .arg("alice")
        .arg(password("alice"))
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "imaplib script ({target}) failed ({}):\n--- stdout:\n{stdout}\n--- stderr:\n{}\n--- gateway log:\n{}\n--- edge log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        stack.gateways.first().map(|g| g.log()).unwrap_or_default(),
        stack.edge.log(),
    );
    stdout
}

/// Runs `script` at the gateway and then through the edge; each run gets
/// `PREFIX` (`g` or `e`) so that both can create their own mailboxes.
fn both(stack: &MailStack, script: &str) {
    for (target, prefix) in [("gw", "g"), ("edge", "e")] {
        let out = py(stack, target, &format!("PREFIX = {prefix:?}\n{script}"));
        assert!(out.contains("PASS"), "{target}: {out}");
    }
}

/// Bug 1: LIST joins reference and pattern (RFC 3501 §6.3.8); curl's
/// `LIST "INBOX" *` lists INBOX.
#[test]
fn list_joins_reference_and_pattern() {
    let stack = stack();
    both(
        &stack,
        r#"
M = conn()
ok(M.create(PREFIX + '__x/y'))
assert names(ok(M.list('"' + PREFIX + '__x"', '*'))) == [PREFIX + '__x', PREFIX + '__x/y']
assert names(ok(M.list('"' + PREFIX + '__"', 'x*'))) == [PREFIX + '__x', PREFIX + '__x/y']
assert names(ok(M.list('"' + PREFIX + '__"', 'x%'))) == [PREFIX + '__x']
assert names(ok(M.list('INBOX', '*'))) == ['INBOX'], M.list('INBOX', '*')
assert names(ok(M.list('inbox', '*'))) == ['INBOX']
assert names(ok(M.list('"' + PREFIX + '__x/"', '%'))) == [PREFIX + '__x/y']
print('PASS')
"#,
    );
    let curl = kc_tests::require_tool("curl");
    let out = Command::new(curl)
        .args([
            "-sS",
            "--cacert",
            &stack.cluster.pki.ca_file.display().to_string(),
            "-u",
            &format!("alice:{}", password("alice")),
            &format!("imaps://localhost:{}/INBOX", stack.edge.imaps),
        ])
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "curl: {out:?}");
    assert!(text.contains("INBOX"), "curl imaps://.../INBOX: {text:?}");
}

/// Bug 5: a 31.8 KB `ID` before login (legal per RFC 2971) gets a tagged
/// reply, at the gateway and at the edge, and the session goes on (the
/// edge used to answer an untagged `* BAD` and leave the client waiting).
#[test]
fn long_pre_login_line_gets_a_tagged_reply() {
    let stack = stack();
    both(
        &stack,
        r#"
if TARGET == 'gw':
    M = imaplib.IMAP4(GW_HOST, int(GW_PORT), timeout=20)
else:
    M = imaplib.IMAP4_SSL('localhost', int(EDGE_PORT),
        ssl_context=ssl.create_default_context(cafile=CA), timeout=20)
fields = ' '.join('"k%d" "%s"' % (i, 'v' * 100) for i in range(290))
assert 31000 < len(fields) < 33000, len(fields)
try:
    typ, data = M._simple_command('ID', '(' + fields + ')')
except imaplib.IMAP4.error as e:
    typ, data = 'BAD', [str(e)]
# Both refuse the over-long line (bounded), tagged, and go on.
assert typ == 'BAD' and 'too long' in str(data), (typ, data)
ok(M.noop())
M.login(USER, PW)
ok(M.select('INBOX'))
M.logout()
print('PASS')
"#,
    );
}

/// Bug 4: `LSUB "" "%"` returns an unsubscribed parent of a subscribed
/// child as `\Noselect` (RFC 3501 §6.3.9).
#[test]
fn lsub_percent_returns_unsubscribed_parent_as_noselect() {
    let stack = stack();
    both(
        &stack,
        r#"
M = conn()
ok(M.create(PREFIX + 'lp/c'))
ok(M.subscribe(PREFIX + 'lp/c'))
ok(M.unsubscribe(PREFIX + 'lp'))
lines = [l.decode() for l in ok(M.lsub('""', '%')) if l]
mine = [l for l in lines if l.endswith(' ' + PREFIX + 'lp')]
assert len(mine) == 1 and '\\Noselect' in mine[0], lines
assert not any(l.endswith(PREFIX + 'lp/c') for l in lines), lines
lines = [l.decode() for l in ok(M.lsub('""', '*')) if l]
assert any(l.endswith(' ' + PREFIX + 'lp/c') for l in lines), lines
assert not any(l.endswith(' ' + PREFIX + 'lp') for l in lines), lines
lines = [l.decode() for l in ok(M.lsub('""', PREFIX + 'lp/%')) if l]
assert len(lines) == 1 and '\\Noselect' not in lines[0], lines
print('PASS')
"#,
    );
}

/// Bug 6: a keyword new to the mailbox is announced in FLAGS and
/// PERMANENTFLAGS, to the session that stored it and, at NOOP, to another
/// session.
#[test]
fn new_keywords_are_announced_in_flags() {
    let stack = stack();
    both(
        &stack,
        r#"
box = PREFIX + 'kw'
A = conn()
ok(A.create(box))
ok(A.append(box, None, None, msg(1)))
ok(A.select(box))
B = conn()
ok(B.select(box))
assert b'$kw' + PREFIX.encode() not in b' '.join(B.untagged_responses.get('FLAGS', []))
A.untagged_responses.clear()
ok(A.store('1', '+FLAGS', '($kw%s)' % PREFIX))
flags = b' '.join(A.untagged_responses.get('FLAGS', []))
perm = b' '.join(A.untagged_responses.get('PERMANENTFLAGS', []))
assert b'$kw' + PREFIX.encode() in flags, A.untagged_responses
assert b'$kw' + PREFIX.encode() in perm and b'\\*' in perm, A.untagged_responses
B.untagged_responses.clear()
ok(B.noop())
flags = b' '.join(B.untagged_responses.get('FLAGS', []))
assert b'$kw' + PREFIX.encode() in flags, B.untagged_responses
# Announced once.
A.untagged_responses.clear()
ok(A.store('1', '+FLAGS', '($kw%s)' % PREFIX))
assert 'FLAGS' not in A.untagged_responses, A.untagged_responses
# A fresh SELECT lists it at once.
C = conn()
ok(C.select(box))
assert b'$kw' + PREFIX.encode() in b' '.join(C.untagged_responses.get('FLAGS', [])), C.untagged_responses
print('PASS')
"#,
    );
}

/// Bug 7: a name that is not valid modified UTF-7 gets NO (LIST: OK with
/// no entries), MOVE into the selected mailbox itself works (RFC 6851),
/// and SEARCH FROM finds an address written with RFC 5322 comments.
#[test]
fn odd_names_move_in_place_and_search_on_parsed_addresses() {
    let stack = stack();
    both(
        &stack,
        r#"
M = conn()
odd = "!#$&'+,-."
typ, data = M._simple_command('SELECT', odd)
assert typ == 'NO', (typ, data)
M.untagged_responses.clear()
typ, data = M._simple_command('LIST', '""', odd)
assert typ == 'OK' and not [x for x in M.untagged_responses.get('LIST', []) if x], (typ, M.untagged_responses)
typ, data = M._simple_command('CREATE', odd)
assert typ == 'NO', (typ, data)
typ, data = M._simple_command('STATUS', odd, '(MESSAGES)')
assert typ == 'NO', (typ, data)
ok(M.noop())

box = PREFIX + 'mv'
ok(M.create(box))
ok(M.append(box, None, None, msg(1)))
ok(M.append(box, None, None, msg(2, frm='<user-from (comment)@ (comment) domain.org>')))
ok(M.select(box))
before = [int(x) for x in ok(M.uid('SEARCH', None, 'ALL'))[0].split()]
M.untagged_responses.clear()
typ, data = M._simple_command('UID', 'MOVE', str(before[0]), box)
assert typ == 'OK', (typ, data, M.untagged_responses)
ok(M.noop())
after = [int(x) for x in ok(M.uid('SEARCH', None, 'ALL'))[0].split()]
assert len(after) == 2 and before[0] not in after and before[1] in after, (before, after)
d = ok(M.uid('FETCH', str(max(after)), '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])'))
assert b'test 1' in d[0][1], d

assert ok(M.search(None, 'FROM', 'user-from@domain.org'))[0].split() == [b'1'], M.search(None, 'FROM', 'user-from@domain.org')
assert ok(M.search(None, 'FROM', 'sender@example.net'))[0].split() == [b'2']
print('PASS')
"#,
    );
}

/// Bug 2: a session learns other sessions' changes: a STORE answers with
/// the store's flags (changes are relative on the store, the reply is not
/// computed from a stale cache), LSUB reflects another session's
/// UNSUBSCRIBE, and RENAME/STATUS see another session's RENAME.
#[test]
fn sessions_see_each_others_changes() {
    let stack = stack();
    both(
        &stack,
        r#"
import re
def flags_of(data):
    # \Recent is per session (see the \Recent test); left out here.
    return [b' '.join(f for f in re.search(rb'FLAGS \(([^)]*)\)', x).group(1).split()
                      if f != b'\\Recent') for x in data if x]
box = PREFIX + 'sync'
A = conn()
ok(A.create(box))
ok(A.append(box, None, None, msg(1)))
ok(A.select(box))
B = conn()
ok(B.select(box))
ok(A.store('1', '+FLAGS', '(\\Answered)'))
d = ok(B.store('1', '-FLAGS', '(\\Seen)'))
assert flags_of(d) == [b'\\Answered'], d
ok(B.noop())
assert flags_of(ok(B.fetch('1', '(FLAGS)'))) == [b'\\Answered']
assert flags_of(ok(A.fetch('1', '(FLAGS)'))) == [b'\\Answered']
# Relative on the store: both sessions' additions are kept.
ok(A.store('1', '+FLAGS', '(\\Flagged)'))
d = ok(B.store('1', '+FLAGS', '(\\Seen)'))
assert flags_of(d) == [b'\\Answered \\Flagged \\Seen'], d
# The implicit \Seen of a body fetch, too.
ok(A.append(box, None, None, msg(2)))
ok(B.noop())
ok(A.store('2', '+FLAGS', '(\\Answered)'))
d = ok(B.fetch('2', '(BODY[])'))
assert flags_of([b''.join(x[0] if isinstance(x, tuple) else x for x in d)]) == [b'\\Answered \\Seen'], d

# Subscriptions.
ok(A.create(PREFIX + 'sub'))
ok(A.subscribe(PREFIX + 'sub'))
assert any(l.endswith(b' ' + PREFIX.encode() + b'sub') for l in ok(B.lsub('""', '*')) if l)
ok(A.unsubscribe(PREFIX + 'sub'))
ok(B.noop())
assert not any(l.endswith(b' ' + PREFIX.encode() + b'sub') for l in ok(B.lsub('""', '*')) if l)

# Folder names.
for n in ('rv', 'rv2'):
    ok(A.create(PREFIX + n))
ok(B.status(PREFIX + 'rv', '(UIDVALIDITY)'))
ok(B.status(PREFIX + 'rv2', '(UIDVALIDITY)'))
ok(A.rename(PREFIX + 'rv', PREFIX + 'rv3'))
def uidvalidity(M, name):
    return re.search(rb'UIDVALIDITY (\d+)', ok(M.status(name, '(UIDVALIDITY)'))[0]).group(1)
v3 = uidvalidity(A, PREFIX + 'rv3')
ok(B.rename(PREFIX + 'rv2', PREFIX + 'rv'))
assert uidvalidity(B, PREFIX + 'rv') != v3
assert uidvalidity(B, PREFIX + 'rv3') == v3
print('PASS')
"#,
    );
}

/// Bug 3: `\Recent`: a new message is recent in exactly one session (the
/// first to see it in a read-write selection), in RECENT, STATUS RECENT,
/// SEARCH RECENT/NEW and FETCH FLAGS.
#[test]
fn a_new_message_is_recent_in_exactly_one_session() {
    let stack = stack();
    both(
        &stack,
        r#"
box = PREFIX + 'rc'
def recent(M):
    return [int(x) for x in M.untagged_responses.get('RECENT', [b'0'])][-1]
def search(M, key):
    return ok(M.search(None, key))[0].split()
C = conn()
ok(C.create(box))
ok(C.append(box, None, None, msg(1)))
# Nobody selected it yet: STATUS counts it, without claiming it.
d = ok(C.status(box, '(RECENT)'))
assert b'RECENT 1' in d[0], d
d = ok(C.status(box, '(RECENT)'))
assert b'RECENT 1' in d[0], d
# EXAMINE does not claim.
X = conn()
ok(X.select(box, readonly=True))
assert recent(X) == 0, X.untagged_responses
A = conn()
ok(A.select(box))
assert recent(A) == 1, A.untagged_responses
assert search(A, 'RECENT') == [b'1'] and search(A, 'NEW') == [b'1'] and search(A, 'OLD') == []
assert b'\\Recent' in ok(A.fetch('1', '(FLAGS)'))[0]
B = conn()
ok(B.select(box))
assert recent(B) == 0, B.untagged_responses
assert search(B, 'RECENT') == [] and search(B, 'OLD') == [b'1']
d = ok(C.status(box, '(RECENT)'))
assert b'RECENT 0' in d[0], d
# A message arriving while A and B have the mailbox selected: recent in
# exactly one of them.
ok(C.append(box, None, None, msg(2)))
ok(A.noop())
ok(B.noop())
ra, rb = search(A, 'RECENT'), search(B, 'RECENT')
assert (b'2' in ra) != (b'2' in rb), (ra, rb)
# Seen messages are not NEW but still RECENT.
owner = A if b'2' in ra else B
ok(owner.store('2', '+FLAGS', '(\\Seen)'))
assert search(owner, 'NEW') == ([b'1'] if owner is A else []), search(owner, 'NEW')
assert b'2' in search(owner, 'RECENT')
# A fresh session sees nothing recent.
D = conn()
ok(D.select(box))
assert recent(D) == 0 and search(D, 'RECENT') == [], D.untagged_responses
# A deleted mailbox takes its watermark along; a new one of the same name
# starts afresh.
ok(C.create(PREFIX + 'rd'))
ok(C.append(PREFIX + 'rd', None, None, msg(3)))
ok(C.select(PREFIX + 'rd'))
assert recent(C) == 1, C.untagged_responses
ok(C.close())
ok(C.delete(PREFIX + 'rd'))
ok(C.create(PREFIX + 'rd'))
ok(C.append(PREFIX + 'rd', None, None, msg(4)))
C.untagged_responses.clear()
ok(C.select(PREFIX + 'rd'))
assert recent(C) == 1, C.untagged_responses
print('PASS')
"#,
    );
}

/// Bug 2, the FETCH boundary: another session's flag change is reported
/// after a FETCH by sequence number, while its expunge waits for a command
/// that may carry EXPUNGE (RFC 3501 §7.4.1).
#[test]
fn fetch_reports_flag_changes_and_holds_expunges_back() {
    let stack = stack();
    both(
        &stack,
        r#"
import time
box = PREFIX + 'fb'
A = conn()
ok(A.create(box))
for i in range(3):
    ok(A.append(box, None, None, msg(i)))
ok(A.select(box))
B = conn()
ok(B.select(box))
ok(A.store('1', '+FLAGS', '(\\Flagged)'))
time.sleep(1)
B.untagged_responses.clear()
d = ok(B.fetch('3', '(FLAGS)'))
assert any(x.startswith(b'1 (') and b'\\Flagged' in x for x in d if x), d
ok(A.store('2', '+FLAGS', '(\\Deleted)'))
ok(A.expunge())
time.sleep(1)
B.untagged_responses.clear()
d = ok(B.fetch('3', '(FLAGS)'))
assert 'EXPUNGE' not in B.untagged_responses, B.untagged_responses
d = ok(B.search(None, 'ALL'))
assert 'EXPUNGE' not in B.untagged_responses and d[0].split() == [b'1', b'2', b'3'], (d, B.untagged_responses)
ok(B.noop())
assert B.untagged_responses.get('EXPUNGE') == [b'2'], B.untagged_responses
assert ok(B.search(None, 'ALL'))[0].split() == [b'1', b'2']
print('PASS')
"#,
    );
}
