#!/bin/sh
# Benchmark (not a test): logon + getStore round trips per second against one
# kc-server (db plugin) over keep-alive HTTP/1.1 connections.
# Usage: bench/soap.sh [SECONDS] [CONNECTIONS]
set -eu
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-5}
CONNS=${2:-4}
cargo build --release -q -p kc-server --bins --examples
BIN=target/release
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$TMP/server.cfg" <<CFG
server_listen = 127.0.0.1:$PORT
server_listen_tls =
server_pipe_name = $TMP/server.sock
server_pipe_priority =
server_name = bench
sqlite_path = $TMP/kc.db
attachment_path = $TMP/attachments
run_as_user =
run_as_group =
pid_file =
log_method = file
log_file = $TMP/server.log
log_level = 2
CFG
"$BIN/kc-server" -F -c "$TMP/server.cfg" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM
i=0
while [ ! -S "$TMP/server.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
"$BIN/kc-admin" --host "file://$TMP/server.sock" -c bench -p bench-secret -e bench@example.com -f "Bench User" >/dev/null
"$BIN/examples/soap_bench" "127.0.0.1:$PORT" bench bench-secret "$SECONDS_RUN" "$CONNS"
