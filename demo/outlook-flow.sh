#!/usr/bin/env bash
# Plays Outlook's first steps against the running demo with raw SOAP, the way KC's client
# does: logon and getStore at /kopano, then follow the UNABLE_TO_COMPLETE redirect.
# Usage: demo/outlook-flow.sh [USER] [PASSWORD]   (default bob/bob-demo, homed on z2)
set -euo pipefail
cd "$(dirname "$0")/.."
user=${1:-bob}; pass=${2:-$user-demo}
state=demo/state.json
[ -f "$state" ] || { echo "start the demo first: ./demo/run.sh" >&2; exit 1; }
ca=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca"])' "$state")
edge=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["edge"]["https"])' "$state")

envelope() { printf '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="urn:zarafa"><SOAP-ENV:Body>%s</SOAP-ENV:Body></SOAP-ENV:Envelope>' "$1"; }
# 0x240 = UNICODE | MULTI_SERVER: KC refuses a logon without UNICODE (BAD_CHARWIDTH).
logon() { envelope "<ns:logon><szUsername>$user</szUsername><szPassword>$pass</szPassword><ulCapabilities>576</ulCapabilities><ulFlags>0</ulFlags><szClientApp>demo</szClientApp></ns:logon>"; }
get_store() { envelope "<ns:getStore><ulSessionId>$1</ulSessionId><ulFlags>0</ulFlags></ns:getStore>"; }
field() { sed -n "s:.*<$1>\([^<]*\)</$1>.*:\1:p"; }

url=$edge/kopano
for hop in 1 2; do
  echo "== $url"
  reply=$(curl -s --cacert "$ca" "$url" -H 'Content-Type: text/xml' --data "$(logon)")
  session=$(field ulSessionId <<<"$reply"); er=$(field er <<<"$reply")
  echo "logon:    er=$er session=$session"
  reply=$(curl -s --cacert "$ca" "$url" -H 'Content-Type: text/xml' --data "$(get_store "$session")")
  er=$(field er <<<"$reply"); path=$(field lpszServerPath <<<"$reply")
  echo "getStore: er=$er lpszServerPath=$path"
  if [ "$er" = 2147483688 ]; then
    echo "          UNABLE_TO_COMPLETE: the store lives elsewhere; following the redirect"
    url=$path
  else
    break
  fi
done
