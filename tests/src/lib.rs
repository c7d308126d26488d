//! End-to-end tests that start real kc processes and real peers (slapd, openssl, curl, ...).
