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

# ---- certificates (first run only) -----------------------------------------------------
ssl=$run/ssl
if [ ! -f "$ssl/demoCA/cacert.pem" ]; then
  "$bin/kc-certs" ca --dir "$ssl" --cn "kc demo CA" --org "kc demo"
  # One certificate for the edge and both nodes: every hop is 127.0.0.1 / localhost.
  "$bin/kc-certs" server --dir "$ssl" --cn localhost --san localhost --san 127.0.0.1
  # The edge's transport identity towards the nodes. It is NOT installed into sslkeys:
  # a compromised edge must not be able to log on as SYSTEM.
  "$bin/kc-certs" client --dir "$ssl" --cn kc-proxy --out edge-client.pem
  # kc-admin's key, which does grant SYSTEM on the nodes.
  mkdir -p "$run/sslkeys"
  "$bin/kc-certs" client --dir "$ssl" --cn kc-admin --out admin-client.pem --install "$run/sslkeys"
fi
ca=$ssl/demoCA/cacert.pem

# ---- directory: two nodes, users on both ---------------------------------------------
server_entry() { # name http https
  cat <<EOF
dn: cn=$1,ou=Servers,dc=example,dc=com
objectClass: device
objectClass: ipHost
objectClass: kopano-server
cn: $1
ipHostNumber: 127.0.0.1
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

EOF
}
{
  printf 'dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n'
  printf 'dn: ou=Servers,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Servers\n\n'
  printf 'dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n'
  server_entry z1 "$z1_http" "$z1_https" 1
  server_entry z2 "$z2_http" "$z2_https" 0
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
node_cfg() { # name http https lmtp
  mkdir -p "$run/$1"
  cat >"$run/$1/server.cfg" <<EOF
server_name = $1
server_listen = 127.0.0.1:$2
server_listen_tls = 127.0.0.1:$3
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
node_cfg z1 "$z1_http" "$z1_https" "$z1_lmtp"
node_cfg z2 "$z2_http" "$z2_https" "$z2_lmtp"

cat >"$run/admin-z1.cfg" <<EOF
server_socket = file://$run/z1/server.sock
EOF

# ---- edge ---------------------------------------------------------------------------
cat >"$run/proxy.cfg" <<EOF
https_listen = 127.0.0.1:$edge_https
admin_listen = 127.0.0.1:$edge_admin
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
"$bin/kc-proxy" -F -c "$run/proxy.cfg" & pids+=($!)

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 did not open; see the logs in $run" >&2
  return 1
}
for p in "$z1_http" "$z2_http" "$edge_https"; do wait_port "$p"; done

cat >"$root/demo/state.json" <<EOF
{
  "ca": "$ca",
  "edge": { "https": "https://localhost:$edge_https", "admin": "http://127.0.0.1:$edge_admin",
            "config": "$run/proxy.cfg", "log": "$run/proxy.log", "access_log": "$run/proxy-access.log" },
  "nodes": {
    "z1": { "http": "http://127.0.0.1:$z1_http/", "https": "https://127.0.0.1:$z1_https/",
            "socket": "$run/z1/server.sock", "lmtp": "127.0.0.1:$z1_lmtp", "config": "$run/z1/server.cfg" },
    "z2": { "http": "http://127.0.0.1:$z2_http/", "https": "https://127.0.0.1:$z2_https/",
            "socket": "$run/z2/server.sock", "lmtp": "127.0.0.1:$z2_lmtp", "config": "$run/z2/server.cfg" }
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
  users    alice/alice-demo (z1), bob/bob-demo (z2), carol/carol-demo (z2)

Try:
  # the TLS certificate the edge presents
  openssl s_client -connect 127.0.0.1:$edge_https -servername localhost -CAfile $ca </dev/null | head -20

  # log on through the edge (Outlook's first SOAP call)
  curl -s --cacert $ca https://localhost:$edge_https/kopano -H 'Content-Type: text/xml' --data '$logon'

  # Outlook's first steps: logon + getStore at /kopano, then follow the redirect to /z2
  demo/outlook-flow.sh bob

  # where does bob live? (the edge's own LDAP answer)
  $bin/kc-proxy -c $run/proxy.cfg --lookup bob

  # list users on z1 over its unix socket
  $bin/kc-admin --config $run/admin-z1.cfg -l

  # health and metrics of the edge
  curl -s http://127.0.0.1:$edge_admin/healthz; curl -s http://127.0.0.1:$edge_admin/metrics | head

EOF

wait -n "${pids[@]}" || true
echo "a kc process exited; see the logs in $run" >&2
