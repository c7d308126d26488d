#!/usr/bin/env python3
"""Load generator for bench/store.sh: the same client code drives kc and the
Dovecot anchor, so the ratio compares the servers, not the clients.

  store_load.py lmtp HOST PORT MSGFILE COUNT CONNS RCPT[,RCPT...]
      COUNT LMTP transactions over CONNS parallel connections; prints
      "<transactions/s> <recipient deliveries/s>".
  store_load.py kc-list HOST PORT USER PASSWORD ROUNDS
      ROUNDS listings (uid, flags, size, internal_date) of the Inbox; prints
      "<rows/s> <rows>".
  store_load.py kc-fetch HOST PORT USER PASSWORD COUNT
      COUNT message fetches (spread over the Inbox) on one keep-alive
      connection; prints "<messages/s> <MB/s>".
  store_load.py imap-list HOST PORT USER PASSWORD ROUNDS
  store_load.py imap-fetch HOST PORT USER PASSWORD COUNT
      the same through IMAP (UID FETCH 1:* (UID FLAGS RFC822.SIZE
      INTERNALDATE); UID FETCH n BODY.PEEK[]).
"""

import http.client
import imaplib
import multiprocessing
import re
import smtplib
import sys
import time


def lmtp_worker(args):
    host, port, body, count, rcpts = args
    c = smtplib.LMTP(host, port)
    c.ehlo("bench")
    ok = 0
    for _ in range(count):
        c.mail("bench@example.net")
        accepted = 0
        for r in rcpts:
            code, _ = c.rcpt(r)
            if code == 250:
                accepted += 1
        if not accepted:
            c.rset()
            continue
        c.putcmd("data")
        code, msg = c.getreply()
        if code != 354:
            raise SystemExit(f"DATA: {code} {msg}")
        c.send(body)
        for _ in range(accepted):
            code, msg = c.getreply()
            if code == 250:
                ok += 1
            else:
                raise SystemExit(f"delivery refused: {code} {msg}")
    c.quit()
    return ok


def lmtp(host, port, msgfile, count, conns, rcpts):
    body = re.sub(rb"(?m)^\.", b"..", open(msgfile, "rb").read())
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    body += b".\r\n"
    rcpts = rcpts.split(",")
    per = [count // conns + (1 if i < count % conns else 0) for i in range(conns)]
    t0 = time.monotonic()
    with multiprocessing.Pool(conns) as pool:
        delivered = sum(pool.map(lmtp_worker, [(host, int(port), body, n, rcpts) for n in per]))
    dt = time.monotonic() - t0
    print(f"{count / dt:.1f} {delivered / dt:.1f}")


LOGON = (
    '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope '
    'xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="urn:zarafa">'
    "<SOAP-ENV:Body><ns:logon><szUsername>{u}</szUsername><szPassword>{p}</szPassword>"
    "<szImpersonateUser/><szVersion>8,7,0,0</szVersion><ulCapabilities>576</ulCapabilities>"
    "<ulFlags>0</ulFlags><sLicenseReq/><ullSessionGroup>0</ullSessionGroup>"
    "<szClientApp>bench</szClientApp><szClientAppVersion>1</szClientAppVersion>"
    "<szClientAppMisc/></ns:logon></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)


def kc_session(host, port, user, password):
    c = http.client.HTTPConnection(host, int(port))
    c.request("POST", "/kopano", LOGON.format(u=user, p=password), {"Content-Type": "text/xml"})
    r = c.getresponse().read().decode()
    sid = re.search(r"<ulSessionId>(\d+)</ulSessionId>", r)
    if not sid:
        raise SystemExit(f"logon failed: {r}")
    h = {"X-Kc-Session": sid.group(1)}
    c.request("GET", "/kc-store/v1/me/folders", headers=h)
    folders = c.getresponse().read().decode()
    m = re.search(r'\{[^{}]*"role":"inbox"[^{}]*\}', folders)
    inbox = re.search(r'"id":(\d+)', m.group(0)).group(1)
    return c, h, inbox


def kc_uids(c, h, inbox):
    c.request("GET", f"/kc-store/v1/me/folders/{inbox}/items?fields=uid&limit=100000", headers=h)
    return [int(x) for x in re.findall(rb'"uid":(\d+)', c.getresponse().read())]


def kc_list(host, port, user, password, rounds):
    c, h, inbox = kc_session(host, port, user, password)
    rows = 0
    t0 = time.monotonic()
    for _ in range(int(rounds)):
        c.request(
            "GET",
            f"/kc-store/v1/me/folders/{inbox}/items?fields=uid,flags,size,internal_date&limit=100000",
            headers=h,
        )
        rows += c.getresponse().read().count(b"\n")
    dt = time.monotonic() - t0
    print(f"{rows / dt:.0f} {rows // int(rounds)}")


def kc_populate(host, port, user, password, total, msgdir):
    """Fill the Inbox to TOTAL messages: 100 appends, then bulk copies."""
    import json, os
    c, h, inbox = kc_session(host, port, user, password)
    files = sorted(os.listdir(msgdir))[:100]
    for f in files:
        c.request("POST", f"/kc-store/v1/me/folders/{inbox}/items", open(os.path.join(msgdir, f), "rb").read(), h)
        r = c.getresponse()
        r.read()
        if r.status != 201:
            raise SystemExit(f"append: {r.status}")
    total = int(total)
    while True:
        uids = kc_uids(c, h, inbox)
        if len(uids) >= total:
            break
        uids = uids[: total - len(uids)]
        c.request("POST", f"/kc-store/v1/me/folders/{inbox}/copy",
                  json.dumps({"uids": uids, "dest": int(inbox)}), h)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"copy: {r.status}")
    print(len(kc_uids(c, h, inbox)))


def spread(uids, count):
    step = max(1, len(uids) // count)
    return [uids[(i * step) % len(uids)] for i in range(count)]


def kc_fetch(host, port, user, password, count):
    c, h, inbox = kc_session(host, port, user, password)
    uids = spread(kc_uids(c, h, inbox), int(count))
    size = 0
    t0 = time.monotonic()
    for uid in uids:
        c.request("GET", f"/kc-store/v1/me/folders/{inbox}/items/{uid}", headers=h)
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise SystemExit(f"fetch {uid}: {r.status}")
        size += len(body)
    dt = time.monotonic() - t0
    print(f"{len(uids) / dt:.0f} {size / dt / 1e6:.1f}")


def imap_session(host, port, user, password):
    m = imaplib.IMAP4(host, int(port))
    m.login(user, password)
    m.select("INBOX", readonly=True)
    return m


def imap_list(host, port, user, password, rounds):
    m = imap_session(host, port, user, password)
    rows = 0
    t0 = time.monotonic()
    for _ in range(int(rounds)):
        typ, data = m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
        rows += len(data)
    dt = time.monotonic() - t0
    print(f"{rows / dt:.0f} {rows // int(rounds)}")


def imap_fetch(host, port, user, password, count):
    m = imap_session(host, port, user, password)
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = spread(data[0].split(), int(count))
    size = 0
    t0 = time.monotonic()
    for uid in uids:
        typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
        size += len(data[0][1])
    dt = time.monotonic() - t0
    print(f"{len(uids) / dt:.0f} {size / dt / 1e6:.1f}")


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "lmtp":
        host, port, msgfile, count, conns, rcpts = args
        lmtp(host, port, msgfile, int(count), int(conns), rcpts)
    else:
        {
            "kc-list": kc_list,
            "kc-populate": kc_populate,
            "kc-fetch": kc_fetch,
            "imap-list": imap_list,
            "imap-fetch": imap_fetch,
        }[mode](*args)
