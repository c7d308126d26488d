#!/usr/bin/env bash
# The mailbox store against Dovecot (Debian dovecot-imapd + dovecot-lmtpd),
# in one run, on this machine, with the same client code (bench/store_load.py)
# and the same messages:
#   lmtp-10k      LMTP transactions/s, 1 recipient, a 10 KB message
#   lmtp-30x1m    LMTP transactions/s and recipient deliveries/s,
#                 30 recipients, a message with a 1 MB attachment
#   list-100k     rows/s listing a 100,000-message folder (uid, flags, size,
#                 date): kc store API (JSON lines) vs Dovecot IMAP UID FETCH 1:*
#   fetch         messages/s fetching 2,000 messages spread over that folder,
#                 one at a time on one connection: store API vs IMAP BODY.PEEK[]
# Both servers fsync each delivery before acknowledging it (kc: SQLite
# synchronous=FULL; Dovecot: mail_fsync=optimized, its default).
#
# Usage: bench/store.sh [LMTP_MESSAGES] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
CONNS=${2:-4}
N30=${N30:-40}
BIG=${BIG:-100000}

for tool in dovecot doveadm python3 cargo; do
  command -v "$tool" >/dev/null || { echo "bench: '$tool' is missing (scripts/install-deps.sh bench)" >&2; exit 1; }
done
[ -x /usr/lib/dovecot/lmtp ] || { echo "bench: dovecot-lmtpd is missing (scripts/install-deps.sh bench)" >&2; exit 1; }

TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
echo "building kc-server (release) ..." >&2
cargo build --release -q -p kc-server --bins >&2
BIN=$TARGET_DIR/release
. bench/lib/common.sh
. bench/lib/dovecot.sh

W=$(mktemp -d /tmp/kc-store-bench.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  dovecot_stop "$W/dovecot"
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

USERS="bench big"
RCPTS=""
for i in $(seq 0 29); do USERS="$USERS r$i"; RCPTS="$RCPTS${RCPTS:+,}r$i@example.com"; done

# ---- kc-server ---------------------------------------------------------------
KC_HTTP=$(port); KC_LMTP=$(port)
kc_server_cfg "$W" "$KC_HTTP" "$KC_LMTP" > "$W/server.cfg"
"$BIN/kc-server" -F -c "$W/server.cfg" & PIDS+=($!)
i=0
while [ ! -S "$W/server.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
for u in $USERS; do
  "$BIN/kc-admin" --host "file://$W/server.sock" -c "$u" -p "$u-secret" -e "$u@example.com" -f "User $u" >/dev/null
done

# ---- Dovecot -----------------------------------------------------------------
DV_IMAP=$(port); DV_LMTP=$(port)
# shellcheck disable=SC2086
dovecot_start "$W/dovecot" "$DV_IMAP" "$DV_LMTP" $USERS

# ---- messages ----------------------------------------------------------------
python3 - "$W" <<'PY'
import os, random, sys
w = sys.argv[1]
random.seed(7)
def head(i, extra=""):
    return (f"Date: Mon, 23 Nov 2026 10:{i % 60:02d}:00 +0000\r\nFrom: Sender <s@example.net>\r\n"
            f"To: bench@example.com\r\nSubject: Benchmark message {i}\r\nMessage-ID: <b{i}@example.net>\r\n"
            f"MIME-Version: 1.0\r\n{extra}")
line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
small = head(0, "Content-Type: text/plain\r\n\r\n") + line * (10240 // len(line))
open(f"{w}/10k.eml", "wb").write(small.encode())
alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
payload = "".join("".join(random.choice(alphabet) for _ in range(76)) + "\r\n" for _ in range(13500))
big = (head(1, 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n') + "--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
       "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
       'Content-Disposition: attachment; filename="r.pdf"\r\n\r\n' + payload + "--b--\r\n")
open(f"{w}/1m.eml", "wb").write(big.encode())
os.makedirs(f"{w}/folder", exist_ok=True)
for i in range(100):
    body = head(i, "Content-Type: text/plain\r\n\r\n") + line * random.randint(5, 60)
    open(f"{w}/folder/{i:03d}.eml", "wb").write(body.encode())
PY

load() { python3 bench/store_load.py "$@"; }
row() { printf '%-12s %-28s %12s %12s %8s\n' "$@"; }

echo
echo "store benchmark: $(nproc) CPUs, $N LMTP transactions over $CONNS connections"
row load metric kc dovecot kc/dovecot

# LMTP, 1 recipient, 10 KB
read -r kc_tps _ < <(load lmtp 127.0.0.1 "$KC_LMTP" "$W/10k.eml" "$N" "$CONNS" bench@example.com)
read -r dv_tps _ < <(load lmtp 127.0.0.1 "$DV_LMTP" "$W/10k.eml" "$N" "$CONNS" bench@example.com)
row lmtp-10k "transactions/s" "$kc_tps" "$dv_tps" "$(ratio "$kc_tps" "$dv_tps")"

# LMTP, 30 recipients, 1 MB attachment
read -r kc_tps kc_dps < <(load lmtp 127.0.0.1 "$KC_LMTP" "$W/1m.eml" "$N30" 2 "$RCPTS")
read -r dv_tps dv_dps < <(load lmtp 127.0.0.1 "$DV_LMTP" "$W/1m.eml" "$N30" 2 "$RCPTS")
row lmtp-30x1m "transactions/s" "$kc_tps" "$dv_tps" "$(ratio "$kc_tps" "$dv_tps")"
row lmtp-30x1m "recipient deliveries/s" "$kc_dps" "$dv_dps" "$(ratio "$kc_dps" "$dv_dps")"
kc_att=$(du -sm "$W/attachments" | cut -f1); dv_att=$(du -sm "$W/dovecot/mail" | cut -f1)
kc_db=$(du -sm "$W/kc.db" | cut -f1)
row disk "MB after all deliveries" "$((kc_att + kc_db))" "$dv_att" "$(ratio "$((kc_att + kc_db))" "$dv_att")"

# A 100,000-message folder: kc by 100 appends and bulk copies, Dovecot by
# writing the same 100 messages as Maildir files (then indexed by one
# untimed listing, as kc's first listing is also untimed).
load kc-populate 127.0.0.1 "$KC_HTTP" big big-secret "$BIG" "$W/folder" >/dev/null
python3 - "$W/dovecot/mail/big" "$W/folder" "$BIG" <<'PY'
import os, sys
root, src, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
for d in ("cur", "new", "tmp"):
    os.makedirs(f"{root}/{d}", exist_ok=True)
msgs = [open(f"{src}/{f}", "rb").read() for f in sorted(os.listdir(src))]
for i in range(total):
    m = msgs[i % len(msgs)]
    open(f"{root}/cur/{1795000000 + i}.M{i}P1.bench,S={len(m)}:2,S", "wb").write(m)
PY
chown -R nobody:nogroup "$W/dovecot/mail/big"
load kc-list 127.0.0.1 "$KC_HTTP" big big-secret 1 >/dev/null
load imap-list 127.0.0.1 "$DV_IMAP" big big-secret 1 >/dev/null
read -r kc_rows kc_n < <(load kc-list 127.0.0.1 "$KC_HTTP" big big-secret 5)
read -r dv_rows dv_n < <(load imap-list 127.0.0.1 "$DV_IMAP" big big-secret 5)
row list-100k "rows/s ($kc_n / $dv_n rows)" "$kc_rows" "$dv_rows" "$(ratio "$kc_rows" "$dv_rows")"
read -r kc_mps kc_mbs < <(load kc-fetch 127.0.0.1 "$KC_HTTP" big big-secret 2000)
read -r dv_mps dv_mbs < <(load imap-fetch 127.0.0.1 "$DV_IMAP" big big-secret 2000)
row fetch "messages/s" "$kc_mps" "$dv_mps" "$(ratio "$kc_mps" "$dv_mps")"
row fetch "MB/s" "$kc_mbs" "$dv_mbs" "$(ratio "$kc_mbs" "$dv_mbs")"
