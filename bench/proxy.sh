#!/usr/bin/env bash
# kc-proxy against Debian's nginx (nginx-light) as the same TLS reverse proxy,
# in one run, on this machine: same certificate (ECDSA P-256), same backend
# (a plain-HTTP nginx returning a small body), same route (/z1/...), the proxy
# header set both ways, access logs off on both.
#
# For each proxy and each load it prints requests per second, p99 latency
# and the proxy's CPU seconds per 10,000 requests (utime+stime of the proxy
# processes from /proc, so the load generator's CPU is not counted), and
# kc-proxy/nginx ratios:
#   https-keepalive  wrk, HTTP/1.1 over TLS, keep-alive
#   h2               h2load, HTTP/2 over TLS, 10 connections x 10 streams
#   new-conn         h2load --h1 with "Connection: close": one full TLS
#                    handshake per request (requests/s = connections/s)
#
# Needs: nginx (nginx-light), wrk, h2load (nghttp2-client), openssl, curl,
# python3, cargo. Usage: bench/proxy.sh [seconds-per-wrk-run]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-10}"
H2_REQUESTS="${H2_REQUESTS:-60000}"
NEWCONN_REQUESTS="${NEWCONN_REQUESTS:-4000}"

for tool in nginx wrk h2load openssl curl python3 cargo; do
  command -v "$tool" >/dev/null || { echo "bench: '$tool' is missing (scripts/install-deps.sh bench)" >&2; exit 1; }
done

TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
echo "building kc-proxy (release) ..." >&2
cargo build --release -p kc-proxy >&2
KC_PROXY="$TARGET_DIR/release/kc-proxy"

W="$(mktemp -d /tmp/kc-proxy-bench.XXXXXX)"
chmod 755 "$W"   # nginx workers run as nobody
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BACKEND_PORT=$(free_port); NGINX_PORT=$(free_port); KC_PORT=$(free_port); KC_ADMIN=$(free_port)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$W/edge.key" -out "$W/edge.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
chmod 644 "$W/edge.key"

nginx_conf() { # $1 name, $2 server block
  mkdir -p "$W/$1"
  cat >"$W/$1/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $W/$1/nginx.pid;
error_log $W/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $W/$1/body;
  proxy_temp_path $W/$1/proxy;
  fastcgi_temp_path $W/$1/fastcgi;
  uwsgi_temp_path $W/$1/uwsgi;
  scgi_temp_path $W/$1/scgi;
  keepalive_requests 1000000;
  $2
}
EOF
}

nginx_conf backend "server { listen 127.0.0.1:$BACKEND_PORT; location / { return 200 'hello from the node\n'; } }"
nginx_conf edge "
  upstream z1 { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT ssl http2;
    ssl_certificate $W/edge.pem;
    ssl_certificate_key $W/edge.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    underscores_in_headers on;
    location /z1/ {
      proxy_pass http://z1;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header kopano_proxy yes;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Host \$http_host;
      proxy_redirect http://127.0.0.1:$BACKEND_PORT/ https://\$http_host/;
      add_header kopano_proxy yes;
    }
  }"

cat >"$W/proxy.cfg" <<EOF
https_listen = 127.0.0.1:$KC_PORT
admin_listen = 127.0.0.1:$KC_ADMIN
ssl_certificate_file = $W/edge.pem
ssl_private_key_file = $W/edge.key
node_source = static
nodes = z1=http://127.0.0.1:$BACKEND_PORT
threads = 2
log_method = stderr
log_level = 2
access_log_file =
pid_file =
run_as_user =
run_as_group =
EOF

nginx -p "$W/backend" -c "$W/backend/nginx.conf" & PIDS+=($!)
nginx -p "$W/edge" -c "$W/edge/nginx.conf" & NGINX_PID=$!; PIDS+=($NGINX_PID)
"$KC_PROXY" -F -c "$W/proxy.cfg" 2>"$W/kc-proxy.log" & KC_PID=$!; PIDS+=($KC_PID)

for port in $BACKEND_PORT $NGINX_PORT $KC_PORT; do
  for _ in $(seq 100); do curl -sk -o /dev/null "https://127.0.0.1:$port/z1/" 2>/dev/null && break
    curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done
done
for port in $NGINX_PORT $KC_PORT; do
  body=$(curl -sk "https://127.0.0.1:$port/z1/warm")
  [ "$body" = "hello from the node" ] || { echo "bench: proxy on $port does not answer: '$body'" >&2; cat "$W/kc-proxy.log" >&2; exit 1; }
done

TCK=$(getconf CLK_TCK)
cpu_ticks() { # total utime+stime of a process and its direct children
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}

RESULTS="$W/results.tsv"
: >"$RESULTS"
record() { # name load rps p99_ms cpu_ticks requests
  echo -e "$1\t$2\t$3\t$4\t$5\t$6" >>"$RESULTS"
}

run_wrk() { # name port pid
  local before after out rps p99 reqs
  before=$(cpu_ticks "$3")
  out=$(wrk -t2 -c50 -d"${DURATION}s" --latency "https://127.0.0.1:$2/z1/bench")
  after=$(cpu_ticks "$3")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  record "$1" https-keepalive "$rps" "$p99" $((after - before)) "$reqs"
}

run_h2load() { # name port pid load extra-args...
  local name=$1 port=$2 pid=$3 load=$4; shift 4
  local before after out rps reqs p99 log="$W/h2load-$name-$load.log"
  rm -f "$log"
  before=$(cpu_ticks "$pid")
  out=$(h2load "$@" --log-file="$log" "https://127.0.0.1:$port/z1/bench")
  after=$(cpu_ticks "$pid")
  rps=$(awk '/^finished in/ {print $4}' <<<"$out")
  reqs=$(awk '/^requests:/ {print $8}' <<<"$out")   # succeeded
  p99=$(python3 - "$log" <<'PY'
import sys
d = sorted(int(l.split()[2]) for l in open(sys.argv[1]) if len(l.split()) >= 3)
print(f"{d[min(len(d)-1, int(len(d)*0.99))]/1000:.2f}" if d else "nan")
PY
)
  record "$name" "$load" "$rps" "$p99" $((after - before)) "$reqs"
}

for target in "kc-proxy $KC_PORT $KC_PID" "nginx $NGINX_PORT $NGINX_PID"; do
  set -- $target
  echo "load: $1 ..." >&2
  run_wrk "$1" "$2" "$3"
  run_h2load "$1" "$2" "$3" h2 -c10 -m10 -n"$H2_REQUESTS"
  run_h2load "$1" "$2" "$3" new-conn --h1 -c10 -n"$NEWCONN_REQUESTS" -H "Connection: close"
done

python3 - "$RESULTS" "$TCK" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
tck = float(sys.argv[2])
res = {}
for name, load, rps, p99, ticks, reqs in rows:
    rps, p99, reqs = float(rps or "nan"), float(p99 or "nan"), float(reqs or "nan")
    cpu10k = float(ticks) / tck / reqs * 10000 if reqs and reqs == reqs and reqs > 0 else float("nan")
    res[(name, load)] = (rps, p99, cpu10k)
print(f"{'load':<16}{'proxy':<10}{'req/s':>12}{'p99 ms':>10}{'CPU s/10k':>12}")
for load in ["https-keepalive", "h2", "new-conn"]:
    for name in ["kc-proxy", "nginx"]:
        r = res.get((name, load))
        if r:
            print(f"{load:<16}{name:<10}{r[0]:>12.0f}{r[1]:>10.2f}{r[2]:>12.3f}")
    k, n = res.get(("kc-proxy", load)), res.get(("nginx", load))
    if k and n:
        print(f"{load:<16}{'ratio':<10}{k[0]/n[0]:>12.2f}{k[1]/n[1]:>10.2f}{k[2]/n[2]:>12.2f}   (kc-proxy / nginx)")
PY
