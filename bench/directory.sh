#!/usr/bin/env bash
# Directory benchmark: starts a private slapd (Debian's slapd, unprivileged, on a
# free loopback port) with directory/testdata, and prints cached lookups/s,
# uncached lookups/s, an ldapsearch round-trip anchor from the same run, and how
# many LDAP searches 1,000 concurrent first lookups of one user cause.
# Needs: slapd, ldap-utils (apt-get install -y slapd ldap-utils).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in /usr/sbin/slapd /usr/sbin/slapadd /usr/bin/ldapsearch; do
    if [ ! -x "$tool" ]; then
        echo "bench/directory.sh: $tool is missing (apt-get install -y slapd ldap-utils)" >&2
        exit 1
    fi
done
cargo run --quiet --release -p kc-directory --example dir_bench
