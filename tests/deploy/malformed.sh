#!/usr/bin/env bash
# deploy.malformed_<server>: malformed client key shares for every group
# pqtls offers, sent with tls_poke to a real server that loaded pqtls.
# Each must be refused with a fatal illegal_parameter alert (47):
#   RFC 8446 §4.2.8: a share that is not a valid point or encoding -> 47;
#   draft-ietf-tls-ecdhe-mlkem §3 / FIPS 203 §7.2: an ML-KEM encapsulation
#   key of the wrong length, or one failing the modulus check, likewise.
# Right after each refusal a good client (tls_poke --mode valid) must get a
# ServerHello for the same group, so a bad share never wedges the server;
# at the end curl + pqtls fetches a page and the hybrid group is asserted
# once more (from nginx's log where the server is nginx).
#
# Usage: malformed.sh PQTLS_SO TLS_POKE WORK_ROOT s_server|nginx|haproxy
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SERVER="${4:?server kind: s_server, nginx or haproxy}"
deploy_init "$1" "$2" "$3" "malformed_$SERVER"
need_cmd curl curl

# Every group pqtls implements, hybrid ones first, and one classical
# fallback so a classical client could still connect.
GROUPS_ALL=X25519MLKEM768:SecP256r1MLKEM768:SecP384r1MLKEM1024:MLKEM512:MLKEM768:MLKEM1024:X25519

# The malformations that apply to each group (tls_poke --mode):
#   short / long: one byte missing or extra in the whole share;
#   ek-modulus:   an ML-KEM coefficient 4095 >= q;
#   ec-offcurve:  the P-256 / P-384 point is not on the curve;
#   ec-zero:      the classical part all zero (X25519: low order, the
#                 all-zero shared secret; P-256/P-384: not a point).
declare -A MODES=(
    [X25519MLKEM768]="short long ek-modulus ec-zero"
    [SecP256r1MLKEM768]="short long ek-modulus ec-offcurve ec-zero"
    [SecP384r1MLKEM1024]="short long ek-modulus ec-offcurve ec-zero"
    [MLKEM512]="short long ek-modulus"
    [MLKEM768]="short long ek-modulus"
    [MLKEM1024]="short long ek-modulus"
)
ORDER=(X25519MLKEM768 SecP256r1MLKEM768 SecP384r1MLKEM1024 MLKEM512 MLKEM768 MLKEM1024)

case "$SERVER" in
s_server)
    start_s_server s_server "$GROUPS_ALL"
    PORT=$S_SERVER_PORT
    SERVER_PID=$S_SERVER_PID
    ;;
nginx)
    write_conf() {
        nginx_http_common "$1"
        cat <<EOF
    server {
        listen 127.0.0.1:$2 ssl;
        server_name localhost;
        ssl_ecdh_curve $GROUPS_ALL;
        root $1/html;
        location / { try_files \$uri /index.html; }
    }
}
EOF
    }
    start_nginx nginx write_conf
    PORT=${NGINX_PORTS[0]}
    SERVER_PID=$NGINX_PID
    ;;
haproxy)
    write_conf() {
        cat <<EOF
global
    log stderr format raw local0 info
defaults
    mode http
    log global
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend pq
    bind 127.0.0.1:$2 ssl crt $DEPLOY_DIR/cert+key.pem curves $GROUPS_ALL
    http-request return status 200 content-type text/plain string "hello from pqtls haproxy"
EOF
    }
    start_haproxy haproxy write_conf
    PORT=$HAPROXY_PORT
    SERVER_PID=$HAPROXY_PID
    ;;
*)
    fail "unknown server kind $SERVER (s_server, nginx or haproxy)"
    ;;
esac

n=0
for group in "${ORDER[@]}"; do
    # The good share first: the server must take this group at all, or the
    # alerts below would prove nothing.
    poke "$PORT" "$group" valid --expect-group "$group"
    for mode in ${MODES[$group]}; do
        poke "$PORT" "$group" "$mode" --expect-alert 47
        kill -0 "$SERVER_PID" 2>/dev/null || fail "$SERVER died after $group $mode"
        poke "$PORT" "$group" valid --expect-group "$group"
        n=$((n + 1))
    done
done
note "ok: $n malformed shares refused with alert 47, each followed by a good handshake"

# The server's own log names each rejection in words: pqtls registers its
# reason strings with the core, so OpenSSL prints "pqtls::key share has the
# wrong length for its group", never "lib(129)::reason(16)".
case "$SERVER" in
s_server) SERVER_LOG="$DEPLOY_DIR/s_server.log" ;;
nginx) SERVER_LOG="$NGINX_LOG_DIR/error.log" ;;
haproxy) SERVER_LOG="" ;; # HAProxy 2.6 logs "SSL handshake failure" without OpenSSL's queue
esac
if [ -n "$SERVER_LOG" ]; then
    sleep 0.2 # the server writes its log line after the alert
    # "error:40800010:pqtls::key share ..." (nginx), or with the function
    # between the colons (s_server's long form).
    for text in "key share has the wrong length for its group" \
        "encapsulation key fails the FIPS 203 modulus check" \
        "peer EC point is malformed, compressed or not on the curve"; do
        grep -Eq "pqtls:[a-z_]*:$text" "$SERVER_LOG" ||
            fail "$SERVER log has no 'pqtls:...:$text': $(grep -m3 -i error "$SERVER_LOG")"
    done
    ! grep -q 'lib(1[0-9][0-9])' "$SERVER_LOG" ||
        fail "$SERVER log has an undecoded error: $(grep -m1 'lib(1' "$SERVER_LOG")"
    note "ok: $SERVER's log names the rejections: $(grep -m1 -Eo 'pqtls:[a-z_]*:key share has the wrong length for its group' "$SERVER_LOG")"
fi

# And a real client afterwards.
case "$SERVER" in
s_server)
    expect_http_200 "curl+pqtls after the malformed shares" \
        curl_pq "https://localhost:$PORT/" --curves X25519MLKEM768
    # OpenSSL 3.0's s_server names no provider group anywhere; the curl
    # above offered X25519MLKEM768 alone, so it can only have completed
    # with that group (and tls_poke saw it in the ServerHello).
    note "ok: curl+pqtls --curves X25519MLKEM768 (the only group offered) completed"
    ;;
nginx)
    expect_http_200 "curl+pqtls after the malformed shares" \
        curl_pq "https://localhost:$PORT/after-malformed" --curves X25519MLKEM768:X25519
    expect_nginx_group /after-malformed 0x11ec "curl+pqtls after the malformed shares"
    ;;
haproxy)
    # HAProxy 2.6 has no fetch for the negotiated group (ssl_fc_curve came
    # later); curl offering X25519MLKEM768 alone can only complete with it.
    expect_http_200 "curl+pqtls after the malformed shares" \
        curl_pq "https://localhost:$PORT/" --curves X25519MLKEM768
    note "ok: curl+pqtls --curves X25519MLKEM768 (the only group offered) completed"
    expect_http_200 "plain curl (classical) after the malformed shares" curl_plain "https://localhost:$PORT/"
    note "ok: plain Debian curl (X25519) completed"
    ;;
esac

deploy_done
