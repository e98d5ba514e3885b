#!/usr/bin/env bash
# advise.live: `pqtls advise -i lo --duration 8 'tcp port N'` while
# models_client.py makes eight TLS 1.3 handshakes (each its own SNI) with
# an OpenSSL 3.0 s_server on loopback, and `pqtls observe -i lo` records
# the same port at the same time. advise must stop by itself after the
# duration with status 0 and report every handshake, with the numbers
# live_check.py derives from observe's records. Live capture needs root or
# CAP_NET_RAW (CI runs as root): the test FAILS without it. No pqtls.so is
# loaded (the server is classical; the hellos' hybrid shares are only
# listed), so this runs in sanitizer builds too.
#
# Usage: live.sh PQTLS_BIN WORK_ROOT
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../proc.sh
. "$ROOT/tests/proc.sh"
[ $# -eq 2 ] || {
    echo "usage: live.sh PQTLS_BIN WORK_ROOT" >&2
    exit 2
}
PQTLS="$1"
PIDS=()
OK=0
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
cleanup() {
    local rc=$?
    stop_pids 10 "${PIDS[@]}"
    if [ "$rc" -ne 0 ] || [ "$OK" -ne 1 ]; then
        for f in "$DIR"/*.log "$DIR"/*.jsonl "$DIR"/*.err; do
            [ -f "$f" ] || continue
            printf '\n----- %s -----\n' "$f" >&2
            tail -n 40 "$f" >&2 || true
        done
        printf '\nadvise.live: FAILED; files kept in %s\n' "$DIR" >&2
        [ "$rc" -ne 0 ] || rc=1
    else
        rm -rf "$DIR"
    fi
    exit "$rc"
}
[ -x "$PQTLS" ] || fail "pqtls $PQTLS is missing; build first"
for c in openssl python3 timeout; do
    command -v "$c" >/dev/null || fail "$c is not installed; run scripts/deps.sh (as root)"
done
mkdir -p "$2"
DIR="$(mktemp -d "$2/live.XXXXXX")"
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$DIR/key.pem" -out "$DIR/cert.pem" -days 2 -subj /CN=localhost \
    >"$DIR/req.log" 2>&1 || fail "openssl req could not make a test certificate"
: >"$DIR/s_server.log" # exists before the loop below reads it
timeout -k 5 60 openssl s_server -accept 127.0.0.1:0 -www -cert "$DIR/cert.pem" \
    -key "$DIR/key.pem" -groups x25519:secp256r1 -tls1_3 >"$DIR/s_server.log" 2>&1 </dev/null &
PIDS+=($!)
PORT=
for _ in $(seq 1 100); do
    PORT="$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$DIR/s_server.log")"
    [ -z "$PORT" ] || break
    sleep 0.1
done
[ -n "$PORT" ] || fail "s_server printed no ACCEPT line within 10 s"

# Packet sockets open now: both captures must add theirs before the first
# handshake (a busy machine may take a while to start them).
base=$(wc -l </proc/net/packet)
timeout -k 5 40 "$PQTLS" advise -i lo --duration 8 -o "$DIR/advise.jsonl" "tcp port $PORT" \
    2>"$DIR/advise.err" &
ADV=$!
PIDS+=("$ADV")
timeout -k 5 40 "$PQTLS" observe -q -i lo --duration 8 -o "$DIR/observe.jsonl" \
    "tcp port $PORT" 2>"$DIR/observe.err" &
OBS=$!
PIDS+=("$OBS")
for _ in $(seq 1 100); do
    [ "$(wc -l </proc/net/packet)" -lt $((base + 2)) ] || break
    sleep 0.1
done
sleep 0.5 # both capture before the first SYN
if grep -qiE 'permission|not permitted|operation not' "$DIR/advise.err"; then
    fail "pqtls advise cannot capture on lo: $(head -n 2 "$DIR/advise.err"); this test needs root or CAP_NET_RAW (CI runs it as root)"
fi
timeout -k 5 60 python3 "$HERE/models_client.py" "$PQTLS" 127.0.0.1 "$PORT" live \
    >"$DIR/client.jsonl" 2>"$DIR/client.err" || fail "models_client.py failed"
status=0
wait "$ADV" || status=$?
[ "$status" = 0 ] || fail "pqtls advise -i lo --duration 8 ended with status $status"
wait "$OBS" || fail "pqtls observe -i lo ended with an error"
grep -q 'handshakes from' "$DIR/advise.err" || fail "advise printed no summary"
python3 "$HERE/live_check.py" "$DIR/advise.jsonl" "$DIR/observe.jsonl" "$DIR/client.jsonl" ||
    fail "advise's live report does not match"
OK=1
echo "advise.live: ok"
