# Sourced by bench scripts: free ports, waiting, ratios, and the parts of a
# kc-server configuration every benchmark shares.

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() { # port
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "port $1 did not open" >&2; exit 1
}

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }

# The options of a benchmark node (foreground, no TLS listener, files
# under DIR, quiet log); callers append their own lines.
#   kc_server_cfg DIR HTTP_PORT LMTP_PORT
kc_server_cfg() {
  cat <<CFG
server_name = bench
server_listen = 127.0.0.1:$2
server_listen_tls =
server_pipe_name = $1/server.sock
server_pipe_priority =
sqlite_path = $1/kc.db
attachment_path = $1/attachments
lmtp_listen = 127.0.0.1:$3
tmp_path = $1
run_as_user =
run_as_group =
pid_file =
log_method = file
log_file = $1/server.log
log_level = ${LOG_LEVEL:-2}
CFG
}
