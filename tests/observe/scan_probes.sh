#!/usr/bin/env bash
# observe.scan_probes: `pqtls scan`'s own probes, recorded on loopback and
# read back by `pqtls observe`. A scanner refused by a server (an alert),
# answered with a HelloRetryRequest, or given bytes that are not TLS resets
# the connection; none of that is the broken-middlebox signature, and
# observe must not report it as reset_after_client_hello. Recorded:
#
#   the scan estate (tests/scan/estate.sh, hostile servers included):
#     nginx + pqtls, s_server, TLS 1.2, Node.js 24, 0x6399, the relay that
#     drops split ClientHellos (the one true middlebox), garbage, endless,
#     hugelen, slow, midclose, wronggroup
#   an openssl s_server with P-256 alone (HelloRetryRequests, then resets)
#   the STARTTLS dialogues of tests/scan/starttls_servers.py (SMTP, IMAP,
#     POP3, FTP, LDAP, PostgreSQL, MySQL, XMPP) in front of s_server +
#     pqtls, and SMTP and IMAP ports met with a direct ClientHello (banner)
#
# scan_probes_check.py asserts the outcome of every probe connection, the
# application protocol of each target, one table row and one metric label
# set per service; then the same capture with every frame carrying a
# server's alert removed (a capture that lost them) must report those
# connections as gap, not as resets after the ClientHello.
#
# tcpdump needs root or CAP_NET_RAW: without it the test fails saying so.
#
# Usage: scan_probes.sh BUILD_DIR WORK_ROOT
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
[ $# -eq 2 ] || {
    echo "usage: scan_probes.sh BUILD_DIR WORK_ROOT" >&2
    exit 2
}
BUILD="$(cd "$1" && pwd)"
PQTLS="$BUILD/bin/pqtls"
mkdir -p "$2"
WORK="$(mktemp -d "$2/scan_probes.XXXXXX")"
ESTATE_LIFETIME=120
# shellcheck source=../scan/estate.sh
. "$ROOT/tests/scan/estate.sh"
PIDS=()
cleanup() {
    local rc=$?
    stop_pids 20 "${PIDS[@]}"
    estate_stop
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "scan_probes: FAILED; files kept in $WORK" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
command -v tcpdump >/dev/null || fail "tcpdump is not installed; run scripts/deps.sh"
[ -x "$PQTLS" ] || fail "$PQTLS is missing; build first"

estate_start "$BUILD" "$WORK/estate" hostile || fail "the scan estate did not start"
[ "$ESTATE_HAVE_NGINX" = 1 ] || fail "the estate has no nginx + pqtls targets (see above)"

# s_server with P-256 only: a probe whose key share is another group gets a
# HelloRetryRequest; s_server + pqtls behind the STARTTLS dialogues.
start_s_server() {
    local name="$1" log="$WORK/s_server.$1.log"
    shift
    "$@" -accept 127.0.0.1:0 -www -cert "$WORK/estate/cert.pem" -key "$WORK/estate/key.pem" \
        >"$log" 2>&1 </dev/null &
    PIDS+=($!)
    kill_after "$ESTATE_LIFETIME" "$!"
    PIDS+=("$KILL_AFTER_PID")
    PORT=
    for _ in $(seq 1 100); do
        PORT="$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")"
        [ -z "$PORT" ] || return 0
        sleep 0.1
    done
    fail "s_server $name printed no ACCEPT line (see $log)"
}
start_s_server p256 openssl s_server -groups P-256
P256=$PORT
start_s_server backend env OPENSSL_CONF="$WORK/estate/openssl-pqtls.cnf" openssl s_server \
    -groups X25519MLKEM768:X25519
BACKEND=$PORT
python3 "$ROOT/tests/scan/starttls_servers.py" "$BACKEND" smtp=good imap=good pop3=good \
    ftp=good ldap=good postgres=good mysql=good xmpp=good smtp=banner imap=banner \
    --lifetime "$ESTATE_LIFETIME" >"$WORK/starttls.json" 2>"$WORK/starttls.log" </dev/null &
PIDS+=($!)
for _ in $(seq 1 100); do
    [ -s "$WORK/starttls.json" ] && break
    sleep 0.1
done
[ -s "$WORK/starttls.json" ] || fail "starttls_servers.py did not start (see $WORK/starttls.log)"

# The targets and what each is, for the scanner and the checker.
python3 - "$WORK" "$P256" <<'EOF' || fail "cannot write the target list"
import json, sys
work, p256 = sys.argv[1], int(sys.argv[2])
targets, lines = {}, []
for line in open(f"{work}/estate/targets.txt"):
    if line.startswith("#") or not line.strip():
        continue
    hostport, rest = line.split(",", 1)
    name = rest.split()[0].removesuffix(".test")
    targets[name] = {"port": int(hostport.rsplit(":", 1)[1]), "kind": "direct"}
    lines.append(line.split("#")[0].strip())
targets["p256"] = {"port": p256, "kind": "direct"}
lines.append(f"127.0.0.1:{p256},p256.test")
for spec, port in json.load(open(f"{work}/starttls.json")).items():
    proto, mode = spec.split("=")
    name = f"{proto}-{mode}"
    targets[name] = {"port": port, "kind": mode, "app": proto}
    if mode == "banner":
        lines.append(f"127.0.0.1:{port},{name}.test")
    else:
        lines.append(f"{proto}://127.0.0.1:{port}" + (",xmpp.test" if proto == "xmpp" else ""))
json.dump(targets, open(f"{work}/targets.json", "w"))
open(f"{work}/targets.txt", "w").write("\n".join(lines) + "\n")
EOF

# ---- capture: every target port (the relay's and the fakes' backends too) ----
PCAP="$WORK/probes.pcap"
filter="$(python3 -c 'import json,sys; print(" or ".join("port %d" % t["port"] for t in json.load(open(sys.argv[1])).values()))' "$WORK/targets.json") or port $BACKEND"
tcpdump -i lo -B 32768 --immediate-mode -U -s 0 -w "$PCAP" "tcp and ($filter)" \
    >"$WORK/tcpdump.log" 2>&1 </dev/null &
tcpdump_pid=$!
PIDS+=("$tcpdump_pid")
for _ in $(seq 1 100); do
    grep -q 'listening on' "$WORK/tcpdump.log" && break
    if ! kill -0 "$tcpdump_pid" 2>/dev/null; then
        if grep -qiE 'permission|not permitted' "$WORK/tcpdump.log"; then
            fail "tcpdump cannot capture on lo: $(head -n 2 "$WORK/tcpdump.log"); this test needs root or CAP_NET_RAW"
        fi
        fail "tcpdump exited: $(head -n 3 "$WORK/tcpdump.log")"
    fi
    sleep 0.1
done
grep -q 'listening on' "$WORK/tcpdump.log" || fail "tcpdump did not start within 10 s"

"$PQTLS" scan --targets "$WORK/targets.txt" --timeout 2500 --split-gap 200 --no-progress \
    -o "$WORK/scan.jsonl" || true
sleep 0.5
kill -INT "$tcpdump_pid"
for _ in $(seq 1 50); do
    kill -0 "$tcpdump_pid" 2>/dev/null || break
    sleep 0.1
done
wait "$tcpdump_pid" 2>/dev/null || true
grep -E 'packets (captured|dropped)' "$WORK/tcpdump.log" | tr '\n' ' '
echo
grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log" ||
    fail "tcpdump dropped packets (machine too busy); the assertions need the whole capture"

# ---- what observe reports ----
"$PQTLS" observe "$PCAP" >"$WORK/observe.jsonl" 2>"$WORK/observe.err" ||
    fail "pqtls observe failed: $(cat "$WORK/observe.err")"
"$PQTLS" observe -q --format table "$PCAP" >"$WORK/observe.table" || fail "observe --format table"
"$PQTLS" observe -q --format prom "$PCAP" >"$WORK/observe.prom" || fail "observe --format prom"
# The same capture without the frames that carry a server's alert.
python3 "$HERE/scan_probes_check.py" drop-alerts "$PCAP" "$WORK/lost.pcap" "$WORK/targets.json" ||
    fail "cannot write the capture without alerts"
"$PQTLS" observe -q "$WORK/lost.pcap" >"$WORK/lost.jsonl" || fail "pqtls observe lost.pcap failed"
python3 "$HERE/scan_probes_check.py" check "$WORK" ||
    fail "observe did not report the scanner's probes as they happened (records: $WORK/observe.jsonl)"
echo "scan_probes: passed"
