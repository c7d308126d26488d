#!/usr/bin/env bash
# Installs the Debian packages kc needs: `demo` for building and running, `test` for the whole test suite.
# Idempotent: packages already present are not touched. Uses sudo when not root.
set -euo pipefail

profile="${1:-test}"

build_pkgs=(cmake gcc pkg-config)
demo_pkgs=(openssl curl)
test_pkgs=(slapd ldap-utils openssl curl nghttp2-client python3 dovecot-imapd dovecot-pop3d util-linux fetchmail isync offlineimap3 libwbxml2-utils)

case "$profile" in
  demo) want=("${build_pkgs[@]}" "${demo_pkgs[@]}") ;;
  test) want=("${build_pkgs[@]}" "${demo_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want=("${build_pkgs[@]}" "${test_pkgs[@]}" nginx-light wrk dovecot-lmtpd) ;;
  *) echo "usage: $0 demo|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
  # slapd's postinst starts the system daemon; the tests run their own unprivileged slapd instead.
  $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs) first" >&2; exit 1; }
