#!/usr/bin/env bash
# IMAP through the edge against Dovecot (Debian dovecot-imapd), in one run,
# on this machine, with the same client (bench/imap_load.py) and the same 100
# messages delivered over LMTP to both:
#   cycles     LOGIN + SELECT + FETCH 1:100 (FLAGS BODY.PEEK[]) + LOGOUT on a
#              new connection, cycles/s: kc through kc-proxy (edge -> gateway
#              -> store), kc-gateway directly, and Dovecot
#   idle-mem   memory per idle IDLE connection with IDLE_CONNS (10,000)
#              connections open: kc-proxy, kc-gateway and kc-server resident
#              set growth divided by the connection count; Dovecot (one imap
#              process per connection) with DOVECOT_IDLE_CONNS (1,000)
#
# Usage: bench/imap.sh [SECONDS] [PROCS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
PROCS=${2:-4}
IDLE_CONNS=${IDLE_CONNS:-10000}
DOVECOT_IDLE_CONNS=${DOVECOT_IDLE_CONNS:-1000}
IDLE_USERS=100

for tool in dovecot doveadm python3 cargo; do
  command -v "$tool" >/dev/null || { echo "bench: '$tool' is missing (scripts/install-deps.sh bench)" >&2; exit 1; }
done
[ -x /usr/lib/dovecot/lmtp ] || { echo "bench: dovecot-lmtpd is missing (scripts/install-deps.sh bench)" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# The edge holds two sockets per proxied connection (client and gateway): cap
# the connection count to what this machine's descriptor limit allows.
FD_LIMIT=$(ulimit -n)
if [ "$FD_LIMIT" != unlimited ] && [ $((IDLE_CONNS * 2 + 1000)) -gt "$FD_LIMIT" ]; then
  IDLE_CONNS=$(((FD_LIMIT - 1000) / 2))
  echo "bench: open-file limit $FD_LIMIT: measuring IDLE memory with $IDLE_CONNS connections" >&2
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
echo "building kc (release) ..." >&2
cargo build --release -q -p kc-server -p kc-gateway -p kc-proxy -p kc-certs --bins >&2
BIN=$TARGET_DIR/release
. bench/lib/common.sh
. bench/lib/dovecot.sh

W=$(mktemp -d /tmp/kc-imap-bench.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  dovecot_stop "$W/dovecot"
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT INT TERM
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
dovecot_rss_kb() { ps -eo rss=,comm= | awk '$2 ~ /^(imap|imap-login|dovecot|auth|anvil|log|config|stats)$/ {s += $1} END {print s + 0}'; }

USERS="bench"
for i in $(seq 0 $((IDLE_USERS - 1))); do USERS="$USERS idle$i"; done

# ---- certificates, directory -------------------------------------------------
"$BIN/kc-certs" ca --dir "$W/ssl" --cn "bench CA" --org bench >/dev/null
"$BIN/kc-certs" server --dir "$W/ssl" --cn localhost --san localhost --san 127.0.0.1 >/dev/null
PEM=$W/ssl/server.pem
KC_HTTP=$(port); KC_LMTP=$(port); GW_IMAP=$(port); EDGE_IMAP=$(port)
{
  printf 'dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n'
  printf 'dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n'
  printf 'dn: ou=Servers,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Servers\n\n'
  printf 'dn: cn=z1,ou=Servers,dc=example,dc=com\nobjectClass: device\nobjectClass: ipHost\nobjectClass: kopano-server\ncn: z1\nipHostNumber: 127.0.0.1\nkopanoHttpPort: %s\nkopanoContainsPublic: 1\n\n' "$KC_HTTP"
  n=5000
  for u in $USERS; do
    n=$((n + 1))
    printf 'dn: uid=%s,ou=People,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nobjectClass: kopano-user\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\nuidNumber: %s\ngidNumber: 5000\nhomeDirectory: /home/%s\nuserPassword: %s-secret\nkopanoAccount: 1\nkopanoUserServer: z1\nkopanoEnabledFeatures: imap\n\n' \
      "$u" "$u" "$u" "$u" "$u" "$n" "$u" "$u"
  done
} > "$W/directory.ldif"
cat > "$W/ldap.cfg" <<CFG
ldap_uri =
ldap_ldif_file = $W/directory.ldif
ldap_search_base = dc=example,dc=com
ldap_user_search_filter = (kopanoAccount=1)
ldap_server_type_attribute_value = kopano-server
ldap_server_address_attribute = ipHostNumber
CFG

# ---- kc: store node, gateway, edge --------------------------------------------
{
  kc_server_cfg "$W" "$KC_HTTP" "$KC_LMTP"
  printf 'server_name = z1\nuser_plugin = ldap\nuser_plugin_config = %s\n' "$W/ldap.cfg"
} > "$W/server.cfg"
cat > "$W/gateway.cfg" <<CFG
server_socket = http://127.0.0.1:$KC_HTTP/kopano
imap_listen = 127.0.0.1:$GW_IMAP
imaps_listen =
pop3_listen =
pop3s_listen =
trusted_edge_addresses = 127.0.0.1
ssl_certificate_file = $PEM
ssl_private_key_file = $PEM
run_as_user =
run_as_group =
pid_file =
log_method = file
log_file = $W/gateway.log
log_level = ${LOG_LEVEL:-2}
CFG
cat > "$W/proxy.cfg" <<CFG
https_listen = 127.0.0.1:$(port)
admin_listen = 127.0.0.1:$(port)
imap_listen = 127.0.0.1:$EDGE_IMAP
ssl_certificate_file = $PEM
ssl_private_key_file = $PEM
ldap_config = $W/ldap.cfg
node_source = ldap
node_imap_port = $GW_IMAP
mail_plaintext_auth = yes
# Every benchmark connection comes from 127.0.0.1.
mail_max_preauth_per_ip = 0
access_log_file =
run_as_user =
run_as_group =
pid_file =
log_method = file
log_file = $W/proxy.log
log_level = ${LOG_LEVEL:-2}
CFG
"$BIN/kc-server" -F -c "$W/server.cfg" & SERVER_PID=$!; PIDS+=($SERVER_PID)
wait_port "$KC_HTTP"
"$BIN/kc-gateway" -F -c "$W/gateway.cfg" & GATEWAY_PID=$!; PIDS+=($GATEWAY_PID)
"$BIN/kc-proxy" -F -c "$W/proxy.cfg" & PROXY_PID=$!; PIDS+=($PROXY_PID)
wait_port "$GW_IMAP"; wait_port "$EDGE_IMAP"

# ---- Dovecot -------------------------------------------------------------------
DV_IMAP=$(port); DV_LMTP=$(port)
# shellcheck disable=SC2086
dovecot_start "$W/dovecot" "$DV_IMAP" "$DV_LMTP" $USERS

# ---- the same 100 messages (2-12 KB) for "bench" on both --------------------
python3 - "$W" <<'PY'
import os, random, sys
w = sys.argv[1]
random.seed(11)
os.makedirs(f"{w}/msgs", exist_ok=True)
line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
for i in range(100):
    m = (f"Date: Mon, 23 Nov 2026 10:{i % 60:02d}:00 +0000\r\nFrom: Sender <s@example.net>\r\n"
         f"To: bench@example.com\r\nSubject: Benchmark {i}\r\nMessage-ID: <i{i}@example.net>\r\n"
         "Content-Type: text/plain\r\n\r\n" + line * random.randint(25, 160))
    open(f"{w}/msgs/{i:03d}.eml", "wb").write(m.encode())
PY
for f in "$W"/msgs/*.eml; do
  python3 bench/store_load.py lmtp 127.0.0.1 "$KC_LMTP" "$f" 1 1 bench@example.com >/dev/null
  python3 bench/store_load.py lmtp 127.0.0.1 "$DV_LMTP" "$f" 1 1 bench@example.com >/dev/null
done

row() { printf '%-10s %-36s %12s %12s %10s\n' "$@"; }
load() { python3 bench/imap_load.py "$@"; }

echo
echo "IMAP benchmark: $(nproc) CPUs, $PROCS client processes, ${SECS}s per run"
row load "metric" kc dovecot kc/dovecot
if [ -z "${SKIP_CYCLES:-}" ]; then
# Warm both (indexes, caches), untimed.
load cycles 127.0.0.1 "$EDGE_IMAP" bench bench-secret 1 1 >/dev/null
load cycles 127.0.0.1 "$DV_IMAP" bench bench-secret 1 1 >/dev/null
read -r edge_cps edge_n < <(load cycles 127.0.0.1 "$EDGE_IMAP" bench bench-secret "$SECS" "$PROCS")
read -r gw_cps _ < <(load cycles 127.0.0.1 "$GW_IMAP" bench bench-secret "$SECS" "$PROCS")
read -r dv_cps dv_n < <(load cycles 127.0.0.1 "$DV_IMAP" bench bench-secret "$SECS" "$PROCS")
[ "$edge_n" = 100 ] && [ "$dv_n" = 100 ] || { echo "bench: fetched $edge_n / $dv_n messages per cycle, expected 100" >&2; exit 1; }
row cycles "cycles/s via kc-proxy" "$edge_cps" "$dv_cps" "$(ratio "$edge_cps" "$dv_cps")"
row cycles "cycles/s kc-gateway direct" "$gw_cps" "$dv_cps" "$(ratio "$gw_cps" "$dv_cps")"
fi

# ---- memory per idle IDLE connection -------------------------------------------
idle_mem() { # port count -> "edge_kb gateway_kb server_kb dovecot_kb" (growth)
  local e0 g0 s0 d0 e1 g1 s1 d1
  e0=$(rss_kb "$PROXY_PID"); g0=$(rss_kb "$GATEWAY_PID"); s0=$(rss_kb "$SERVER_PID"); d0=$(dovecot_rss_kb)
  coproc IDLE { python3 bench/imap_load.py idle 127.0.0.1 "$1" idle "$IDLE_USERS" "$2"; }
  local ready
  read -r ready _ <&"${IDLE[0]}"
  [ "$ready" = READY ] || { echo "bench: idle clients failed" >&2; exit 1; }
  sleep 2
  e1=$(rss_kb "$PROXY_PID"); g1=$(rss_kb "$GATEWAY_PID"); s1=$(rss_kb "$SERVER_PID"); d1=$(dovecot_rss_kb)
  exec {IDLE[1]}>&-
  wait "$IDLE_PID" 2>/dev/null || true
  echo "$((e1 - e0)) $((g1 - g0)) $((s1 - s0)) $((d1 - d0))"
}
read -r e g s _ < <(idle_mem "$EDGE_IMAP" "$IDLE_CONNS")
sleep 2
read -r _ _ _ d < <(idle_mem "$DV_IMAP" "$DOVECOT_IDLE_CONNS")
per() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.1f}')" "$1" "$2"; }
kc_total=$((e + g + s))
row idle-mem "KB per IDLE conn, kc-proxy" "$(per "$e" "$IDLE_CONNS")" "" ""
row idle-mem "KB per IDLE conn, kc-gateway" "$(per "$g" "$IDLE_CONNS")" "" ""
row idle-mem "KB per IDLE conn, kc-server" "$(per "$s" "$IDLE_CONNS")" "" ""
row idle-mem "KB per IDLE conn, all (kc $IDLE_CONNS, dovecot $DOVECOT_IDLE_CONNS)" "$(per "$kc_total" "$IDLE_CONNS")" "$(per "$d" "$DOVECOT_IDLE_CONNS")" "$(ratio "$(per "$kc_total" "$IDLE_CONNS")" "$(per "$d" "$DOVECOT_IDLE_CONNS")")"
