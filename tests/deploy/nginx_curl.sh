#!/usr/bin/env bash
# deploy.nginx_curl: Debian's nginx 1.22 (OpenSSL 3.0) with pqtls loaded
# through OPENSSL_CONF, and Debian's curl as the client, with and without
# pqtls. Every request asserts the group nginx logged ($ssl_curve).
#
# nginx 1.22 names a group OpenSSL 3.0 knows by its short name (X25519,
# prime256v1) and a provider group by its code point: X25519MLKEM768 is
# logged as 0x11ec.
#
# Three listeners (docs/deploy.md):
#   hybrid first  ssl_ecdh_curve X25519MLKEM768:X25519;  (pqtls scan: supported)
#   supported     ssl_ecdh_curve X25519:X25519MLKEM768;  (pqtls scan: supported)
#   required      ssl_ecdh_curve X25519MLKEM768;         (pqtls scan: required)
# Neither of the first two is "preferred" in the scanner's terms: an
# OpenSSL 3.0 server takes the client's X25519 share rather than ask for
# the hybrid group by HelloRetryRequest.
# and the assertions check what those really do on an OpenSSL 3.0 server:
# the client's first acceptable key share decides; the server's order only
# matters when no share was acceptable and it must send a HelloRetryRequest.
#
# Usage: nginx_curl.sh PQTLS_SO TLS_POKE WORK_ROOT
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
deploy_init "$1" "$2" "$3" nginx_curl
need_cmd curl curl

server_block() {
    cat <<EOF
    server {
        listen 127.0.0.1:$1 ssl;
        server_name localhost;
        ssl_ecdh_curve $2;
        root $3/html;
        location / { try_files \$uri /index.html; }
    }
EOF
}

write_conf() {
    nginx_http_common "$1"
    server_block "$2" X25519MLKEM768:X25519 "$1"
    server_block "$3" X25519:X25519MLKEM768 "$1"
    server_block "$4" X25519MLKEM768 "$1"
    printf '}\n'
}

NGINX_NPORTS=3 start_nginx nginx write_conf
HYBRID_FIRST=${NGINX_PORTS[0]}
SUPPORTED=${NGINX_PORTS[1]}
REQUIRED=${NGINX_PORTS[2]}
curl --version | head -n 1

# --- hybrid first: X25519MLKEM768:X25519 --------------------------------------
expect_http_200 "curl+pqtls hybrid" curl_pq "https://localhost:$HYBRID_FIRST/curl-hybrid" --curves X25519MLKEM768
expect_nginx_group /curl-hybrid 0x11ec "curl+pqtls --curves X25519MLKEM768 (hybrid first)"

expect_http_200 "curl+pqtls X25519 only" curl_pq "https://localhost:$HYBRID_FIRST/curl-x25519" --curves X25519
expect_nginx_group /curl-x25519 X25519 "curl+pqtls --curves X25519 (hybrid first): classical still works"

expect_http_200 "plain curl" curl_plain "https://localhost:$HYBRID_FIRST/curl-plain"
expect_nginx_group /curl-plain X25519 "plain Debian curl, its default groups (hybrid first)"

# OpenSSL 3.0 server: the client's X25519 share is acceptable, so it is
# taken even though the server lists the hybrid group first (no HRR).
expect_http_200 "curl+pqtls X25519 first" curl_pq "https://localhost:$HYBRID_FIRST/x25519-first" --curves X25519:X25519MLKEM768
expect_nginx_group /x25519-first X25519 "client X25519 share first (hybrid first): no HRR to the hybrid group"

# No acceptable share (P-256 is not in the server's list): HRR, and then
# the server's order picks the hybrid group.
expect_http_200 "curl+pqtls P-256 share" curl_pq "https://localhost:$HYBRID_FIRST/hrr" --curves P-256:X25519MLKEM768:X25519
expect_nginx_group /hrr 0x11ec "client P-256 share, server lists neither: HRR picks the server's first (hybrid first)"

# --- supported: X25519:X25519MLKEM768 --------------------------------------
expect_http_200 "curl+pqtls hybrid (supported)" curl_pq "https://localhost:$SUPPORTED/supported-hybrid" --curves X25519MLKEM768:X25519
expect_nginx_group /supported-hybrid 0x11ec "client hybrid share first (supported): the client's share wins"

expect_http_200 "curl+pqtls P-256 share (supported)" curl_pq "https://localhost:$SUPPORTED/supported-hrr" --curves P-256:X25519MLKEM768:X25519
expect_nginx_group /supported-hrr X25519 "client P-256 share (supported): HRR picks the server's first, X25519"

# --- required: X25519MLKEM768 only -----------------------------------------
expect_http_200 "curl+pqtls hybrid (required)" curl_pq "https://localhost:$REQUIRED/required-hybrid" --curves X25519MLKEM768
expect_nginx_group /required-hybrid 0x11ec "curl+pqtls --curves X25519MLKEM768 (required)"

if code="$(curl_plain "https://localhost:$REQUIRED/required-classic" 2>"$DEPLOY_DIR/curl.err")"; then
    fail "required: a classical-only client got HTTP $code; it must be refused"
fi
grep -q 'handshake failure' "$DEPLOY_DIR/curl.err" ||
    fail "required: classical client refused, but not by a handshake failure: $(cat "$DEPLOY_DIR/curl.err")"
note "ok: required: plain curl refused ($(tr -d '\n' <"$DEPLOY_DIR/curl.err"))"

deploy_done
