#!/usr/bin/env python3
"""Load generator for bench/imap.sh; the same code drives kc and Dovecot.

  imap_load.py cycles HOST PORT USER PASSWORD SECONDS PROCS
      repeated LOGIN + SELECT INBOX + FETCH 1:100 (FLAGS BODY.PEEK[]) +
      LOGOUT, each on a new connection, PROCS processes in parallel for
      SECONDS; prints "<cycles/s> <messages fetched per cycle>".
  imap_load.py idle HOST PORT USERPREFIX USERS COUNT
      opens COUNT connections (user USERPREFIX<i % USERS>), each LOGIN +
      SELECT INBOX + IDLE, prints "READY <count>" and holds them until stdin
      closes.
"""

import asyncio
import imaplib
import multiprocessing
import re
import sys
import time


def cycle_worker(args):
    host, port, user, password, seconds = args
    n = fetched = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        m = imaplib.IMAP4(host, port)
        m.login(user, password)
        m.select("INBOX")
        typ, data = m.fetch("1:100", "(FLAGS BODY.PEEK[])")
        if typ != "OK":
            raise SystemExit(f"FETCH: {typ} {data}")
        fetched = sum(1 for d in data if isinstance(d, tuple))
        m.logout()
        n += 1
    return n, fetched


def cycles(host, port, user, password, seconds, procs):
    seconds, procs = float(seconds), int(procs)
    t0 = time.monotonic()
    with multiprocessing.Pool(procs) as pool:
        res = pool.map(cycle_worker, [(host, int(port), user, password, seconds)] * procs)
    dt = time.monotonic() - t0
    print(f"{sum(r[0] for r in res) / dt:.1f} {min(r[1] for r in res)}")


async def idle_one(host, port, user, password, sem):
    async with sem:
        r, w = await asyncio.open_connection(host, port)
        await r.readline()

        async def cmd(line, tag):
            w.write(line + b"\r\n")
            await w.drain()
            while True:
                l = await r.readline()
                if not l:
                    raise ConnectionError("closed")
                if l.startswith(tag):
                    return l

        ok = await cmd(b"a LOGIN " + user.encode() + b" " + password.encode(), b"a ")
        if not ok.startswith(b"a OK"):
            raise ConnectionError(ok)
        await cmd(b"b SELECT INBOX", b"b ")
        await cmd(b"c IDLE", b"+")
    return r, w


async def idle(host, port, prefix, users, count):
    users, count = int(users), int(count)
    sem = asyncio.Semaphore(200)
    conns = await asyncio.gather(
        *[idle_one(host, int(port), f"{prefix}{i % users}", f"{prefix}{i % users}-secret", sem)
          for i in range(count)]
    )
    print(f"READY {len(conns)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for r, w in conns:
        w.close()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "cycles":
        cycles(*args)
    elif mode == "idle":
        asyncio.run(idle(*args))
    else:
        raise SystemExit(__doc__)
