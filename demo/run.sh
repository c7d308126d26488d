#!/usr/bin/env bash
# The kc demo: kc-proxy in front of two kc-server nodes (z1, z2) over an embedded LDIF
# directory, certificates generated on first run, all on unprivileged loopback ports,
# in the foreground until Ctrl-C. Writes demo/state.json and prints commands to try.
#
# Ports are fixed so the printed commands stay valid; KC_DEMO_PORT_BASE moves them all.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh demo
cargo build --bins

bin=$root/target/debug
run=$root/demo/run
mkdir -p "$run"
base=${KC_DEMO_PORT_BASE:-18000}

edge_https=$((base + 443))
edge_admin=$((base + 237))
z1_http=$((base + 1236)); z1_https=$((base + 1237)); z1_lmtp=$((base + 1003))
z2_http=$((base + 2236)); z2_https=$((base + 2237)); z2_lmtp=$((base + 2003))
# Mail: the edge on 127.0.0.1; each node's gateway on the node's own address
# (z1 127.0.0.1, z2 127.0.0.2) and the same ports, as the edge expects.
edge_imap=$((base + 143)); edge_imaps=$((base + 993)); edge_pop3=$((base + 110)); edge_pop3s=$((base + 995))
node_imap=$((base + 3143)); node_pop3=$((base + 3110))
z1_addr=127.0.0.1; z2_addr=127.0.0.2

# ---- certificates (first run only) -----------------------------------------------------
ssl=$run/ssl
if [ ! -f "$ssl/.v2" ]; then
  rm -rf "$ssl" "$run/sslkeys"
  "$bin/kc-certs" ca --dir "$ssl" --cn "kc demo CA" --org "kc demo"
  # One certificate for the edge and both nodes: every hop is loopback.
  "$bin/kc-certs" server --dir "$ssl" --cn localhost --san localhost --san 127.0.0.1 --san 127.0.0.2
  # The edge's transport identity towards the nodes. It is NOT installed into sslkeys:
  # a compromised edge must not be able to log on as SYSTEM.
  "$bin/kc-certs" client --dir "$ssl" --cn kc-proxy --out edge-client.pem
  # kc-admin's key, which does grant SYSTEM on the nodes.
  mkdir -p "$run/sslkeys"
  "$bin/kc-certs" client --dir "$ssl" --cn kc-admin --out admin-client.pem --install "$run/sslkeys"
  touch "$ssl/.v2"
fi
ca=$ssl/demoCA/cacert.pem

# ---- directory: two nodes, users on both ---------------------------------------------
server_entry() { # name http https contains-public address
  cat <<EOF
dn: cn=$1,ou=Servers,dc=example,dc=com
objectClass: device
objectClass: ipHost
objectClass: kopano-server
cn: $1
ipHostNumber: $5
kopanoHttpPort: $2
kopanoSslPort: $3
kopanoFilePath: $run/$1/server.sock
kopanoContainsPublic: $4
kopanoProxyURL: https://localhost:$edge_https/$1/

EOF
}
user_entry() { # login fullname home uidNumber
  cat <<EOF
dn: uid=$1,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: posixAccount
objectClass: kopano-user
uid: $1
uidNumber: $4
gidNumber: 5000
homeDirectory: /home/$1
cn: $2
sn: ${2##* }
mail: $1@example.com
userPassword: $1-demo
kopanoAccount: 1
kopanoUserServer: $3
kopanoEnabledFeatures: imap
kopanoEnabledFeatures: pop3

EOF
}
{
  printf 'dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n'
  printf 'dn: ou=Servers,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Servers\n\n'
  printf 'dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n'
  server_entry z1 "$z1_http" "$z1_https" 1 "$z1_addr"
  server_entry z2 "$z2_http" "$z2_https" 0 "$z2_addr"
  user_entry alice "Alice Archer" z1 1001
  user_entry bob "Bob Baker" z2 1002
  user_entry carol "Carol Cooper" z2 1003
} >"$run/directory.ldif"

cat >"$run/ldap.cfg" <<EOF
# Demo directory: the LDIF file stands in for an LDAP server (kc addition).
!include $root/configs/ldap.openldap.cfg
ldap_uri =
ldap_ldif_file = $run/directory.ldif
ldap_search_base = dc=example,dc=com
EOF

# ---- nodes --------------------------------------------------------------------------
node_cfg() { # name http https lmtp address
  mkdir -p "$run/$1"
  # Also on the node's own address (the directory's redirect target).
  local plain="127.0.0.1:$2" tls="127.0.0.1:$3"
  if [ "$5" != 127.0.0.1 ]; then plain="$plain $5:$2"; tls="$tls $5:$3"; fi
  cat >"$run/$1/server.cfg" <<EOF
server_name = $1
server_listen = $plain
server_listen_tls = $tls
server_pipe_name = $run/$1/server.sock
server_pipe_priority = $run/$1/prio.sock
server_ssl_key_file = $ssl/server.pem
server_ssl_ca_file = $ca
sslkeys_path = $run/sslkeys
enable_distributed_kopano = yes
proxy_header = kopano_proxy
user_plugin = ldap
user_plugin_config = $run/ldap.cfg
sqlite_path = $run/$1/kopano.db
attachment_path = $run/$1/attachments
lmtp_listen = 127.0.0.1:$4
local_admin_users = $(id -un)
log_method = file
log_file = $run/$1/server.log
log_level = 4
run_as_user =
run_as_group =
pid_file = $run/$1/server.pid
EOF
}
node_cfg z1 "$z1_http" "$z1_https" "$z1_lmtp" "$z1_addr"
node_cfg z2 "$z2_http" "$z2_https" "$z2_lmtp" "$z2_addr"
# kc-gateway beside each node: IMAP/POP3 on the node's address, the store over HTTP.
gateway_cfg() { # name http address
  cat >"$run/$1/gateway.cfg" <<EOF
server_socket = http://127.0.0.1:$2/kopano
imap_listen = $3:$node_imap
pop3_listen = $3:$node_pop3
trusted_edge_addresses = 127.0.0.1
ssl_certificate_file = $ssl/server.pem
ssl_private_key_file = $ssl/server.pem
log_method = file
log_file = $run/$1/gateway.log
log_level = 4
run_as_user =
run_as_group =
pid_file = $run/$1/gateway.pid
EOF
}
gateway_cfg z1 "$z1_http" "$z1_addr"
gateway_cfg z2 "$z2_http" "$z2_addr"

cat >"$run/admin-z1.cfg" <<EOF
server_socket = file://$run/z1/server.sock
EOF

# ---- edge ---------------------------------------------------------------------------
cat >"$run/proxy.cfg" <<EOF
https_listen = 127.0.0.1:$edge_https
admin_listen = 127.0.0.1:$edge_admin
imap_listen = 127.0.0.1:$edge_imap
imaps_listen = 127.0.0.1:$edge_imaps
pop3_listen = 127.0.0.1:$edge_pop3
pop3s_listen = 127.0.0.1:$edge_pop3s
node_imap_port = $node_imap
node_pop3_port = $node_pop3
ssl_certificate_file = $ssl/server.pem
ssl_private_key_file = $ssl/server.pem
proxy_header = kopano_proxy
public_url = https://localhost:$edge_https
node_source = ldap
default_node = z1
ldap_config = $run/ldap.cfg
upstream_ssl_ca_file = $ca
upstream_ssl_certificate_file = $ssl/edge-client.pem
upstream_ssl_private_key_file = $ssl/edge-client.pem
access_log_file = $run/proxy-access.log
log_method = file
log_file = $run/proxy.log
log_level = 4
run_as_user =
run_as_group =
pid_file = $run/proxy.pid
EOF

for c in "$run/z1/server.cfg" "$run/z2/server.cfg"; do
  "$bin/kc-server" -c "$c" --check-config >/dev/null
done
"$bin/kc-proxy" -c "$run/proxy.cfg" --check-config >/dev/null
for n in z1 z2; do "$bin/kc-gateway" -c "$run/$n/gateway.cfg" --check-config >/dev/null; done

# ---- start --------------------------------------------------------------------------
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping kc demo..."
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$bin/kc-server" -F -c "$run/z1/server.cfg" & pids+=($!)
"$bin/kc-server" -F -c "$run/z2/server.cfg" & pids+=($!)
wait_port_on() { # address port
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1:$2 did not open; see the logs in $run" >&2
  return 1
}
wait_port_on 127.0.0.1 "$z1_http"; wait_port_on 127.0.0.1 "$z2_http"
"$bin/kc-gateway" -F -c "$run/z1/gateway.cfg" & pids+=($!)
"$bin/kc-gateway" -F -c "$run/z2/gateway.cfg" & pids+=($!)
"$bin/kc-proxy" -F -c "$run/proxy.cfg" & pids+=($!)

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 did not open; see the logs in $run" >&2
  return 1
}
for p in "$z1_http" "$z2_http" "$edge_https" "$edge_imaps"; do wait_port "$p"; done
wait_port_on "$z1_addr" "$node_imap"; wait_port_on "$z2_addr" "$node_imap"

# A welcome message for every user, delivered over LMTP at the home node (first run only).
if [ ! -f "$run/.welcomed" ]; then
  for u in alice:$z1_lmtp bob:$z2_lmtp carol:$z2_lmtp; do
    python3 - "${u%%:*}" "${u##*:}" <<'PY'
import smtplib, sys
user, port = sys.argv[1], int(sys.argv[2])
msg = (f"From: kc demo <postmaster@example.com>\r\nTo: {user}@example.com\r\n"
       f"Subject: Welcome to kc, {user}\r\nMessage-ID: <welcome-{user}@example.com>\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n\r\n"
       "This message was delivered over LMTP to your home node.\r\n")
with smtplib.LMTP("127.0.0.1", port) as c:
    c.sendmail("postmaster@example.com", [f"{user}@example.com"], msg)
PY
  done
  touch "$run/.welcomed"
fi

cat >"$root/demo/state.json" <<EOF
{
  "ca": "$ca",
  "edge": { "https": "https://localhost:$edge_https", "admin": "http://127.0.0.1:$edge_admin",
            "config": "$run/proxy.cfg", "log": "$run/proxy.log", "access_log": "$run/proxy-access.log",
            "imap": "127.0.0.1:$edge_imap", "imaps": "127.0.0.1:$edge_imaps",
            "pop3": "127.0.0.1:$edge_pop3", "pop3s": "127.0.0.1:$edge_pop3s" },
  "nodes": {
    "z1": { "http": "http://127.0.0.1:$z1_http/", "https": "https://127.0.0.1:$z1_https/",
            "socket": "$run/z1/server.sock", "lmtp": "127.0.0.1:$z1_lmtp", "config": "$run/z1/server.cfg",
            "imap": "$z1_addr:$node_imap", "pop3": "$z1_addr:$node_pop3", "gateway_config": "$run/z1/gateway.cfg" },
    "z2": { "http": "http://127.0.0.1:$z2_http/", "https": "https://127.0.0.1:$z2_https/",
            "socket": "$run/z2/server.sock", "lmtp": "127.0.0.1:$z2_lmtp", "config": "$run/z2/server.cfg",
            "imap": "$z2_addr:$node_imap", "pop3": "$z2_addr:$node_pop3", "gateway_config": "$run/z2/gateway.cfg" }
  },
  "users": [
    { "login": "alice", "password": "alice-demo", "home": "z1" },
    { "login": "bob",   "password": "bob-demo",   "home": "z2" },
    { "login": "carol", "password": "carol-demo", "home": "z2" }
  ],
  "admin_client_cert": "$ssl/admin-client.pem",
  "directory": "$run/directory.ldif"
}
EOF

logon='<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="urn:zarafa"><SOAP-ENV:Body><ns:logon><szUsername>bob</szUsername><szPassword>bob-demo</szPassword><ulCapabilities>576</ulCapabilities><ulFlags>0</ulFlags><szClientApp>curl</szClientApp></ns:logon></SOAP-ENV:Body></SOAP-ENV:Envelope>'

cat <<EOF

kc demo is running (state in demo/state.json, logs in $run). Ctrl-C stops it.

  edge     https://localhost:$edge_https   (/kopano -> z1, /z1, /z2)
  z1       http://127.0.0.1:$z1_http  https://127.0.0.1:$z1_https
  z2       http://127.0.0.1:$z2_http  https://127.0.0.1:$z2_https
  mail     imaps://localhost:$edge_imaps  imap+STARTTLS :$edge_imap  pop3s :$edge_pop3s  pop3+STLS :$edge_pop3
  gateways z1 $z1_addr:$node_imap (IMAP) :$node_pop3 (POP3); z2 $z2_addr:$node_imap :$node_pop3
  users    alice/alice-demo (z1), bob/bob-demo (z2), carol/carol-demo (z2)

Try:
  # the TLS certificate the edge presents
  openssl s_client -connect 127.0.0.1:$edge_https -servername localhost -CAfile $ca </dev/null | head -20

  # log on through the edge (Outlook's first SOAP call)
  curl -s --cacert $ca https://localhost:$edge_https/kopano -H 'Content-Type: text/xml' --data '$logon'

  # Outlook's first steps: logon + getStore at /kopano, then follow the redirect to /z2
  demo/outlook-flow.sh bob

  # read mail through the edge (bob is routed to z2's gateway, alice to z1's)
  curl -s --cacert $ca -u bob:bob-demo 'imaps://localhost:$edge_imaps/INBOX;UID=1'
  curl -s --cacert $ca -u alice:alice-demo pop3s://localhost:$edge_pop3s/1

  # where does bob live? (the edge's own LDAP answer)
  $bin/kc-proxy -c $run/proxy.cfg --lookup bob

  # list users on z1 over its unix socket
  $bin/kc-admin --config $run/admin-z1.cfg -l

  # health and metrics of the edge
  curl -s http://127.0.0.1:$edge_admin/healthz; curl -s http://127.0.0.1:$edge_admin/metrics | head

EOF

wait -n "${pids[@]}" || true
echo "a kc process exited; see the logs in $run" >&2
