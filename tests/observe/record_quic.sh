#!/usr/bin/env bash
# observe.recorded_quic: the suite records its own loopback capture
# (tcpdump) of real QUIC (HTTP/3) handshakes, then `pqtls observe` must
# read back what happened from the Initial packets alone:
#
#   chromium --enable-quic -> ngtcp2 server (GnuTLS)   Chromium's ClientHello
#       offers X25519MLKEM768 (1216-byte share) + x25519 and spans two
#       Initial packets; the server (GnuTLS in Debian 12 has no ML-KEM)
#       selects x25519; JA4 q13d..., family Chromium 131+; completed
#   ngtcp2 client -> ngtcp2 server                     x25519, completed,
#       family GnuTLS 3.6.5+ (rule in src/observe/families.rules)
#   ngtcp2 client -> ngtcp2 server -V (Retry)          the Initial keys
#       change with the Retry's connection ID; still read; quic.retry
#   ngtcp2 client, version 0x1a2a3a4a -> ngtcp2 server  Version Negotiation
#       (ngtcp2 0.12's client then gives up): one record,
#       version_negotiation, for that version, without a ClientHello
#
# Chromium is made to use QUIC on that origin with --origin-to-force-quic-on
# and to trust the throwaway certificate by its SPKI hash. tcpdump needs
# root or CAP_NET_RAW: without it the test FAILS with that message.
#
# Usage: record_quic.sh PQTLS_BIN WORK_ROOT
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../proc.sh
. "$ROOT/tests/proc.sh"
[ $# -eq 2 ] || { echo "usage: record_quic.sh PQTLS_BIN WORK_ROOT" >&2; exit 2; }
PQTLS_BIN="$1"
mkdir -p "$2"
WORK="$(mktemp -d "$2/record_quic.XXXXXX")"
PIDS=()
OK=0
LIFETIME=90

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
cleanup() {
    local rc=$?
    stop_pids 10 "${PIDS[@]}"
    if [ "$rc" -ne 0 ] || [ "$OK" -ne 1 ]; then
        for f in "$WORK"/*.log "$WORK"/*.err; do
            [ -f "$f" ] || continue
            printf '\n----- %s (last 30 lines) -----\n' "$f" >&2
            tail -n 30 "$f" >&2 || true
        done
        printf '\nrecord_quic: FAILED; files kept in %s\n' "$WORK" >&2
        [ "$rc" -ne 0 ] || rc=1
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed (Debian package $2); run scripts/deps.sh (as root)"; }
need tcpdump tcpdump
need chromium chromium
need gtlsserver ngtcp2-server
need gtlsclient ngtcp2-client
need openssl openssl
need python3 python3
[ -x "$PQTLS_BIN" ] || fail "pqtls $PQTLS_BIN is missing; build first"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" \
    -out "$WORK/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >"$WORK/req.log" 2>&1 ||
    fail "openssl req could not make a test certificate"
SPKI="$(openssl x509 -in "$WORK/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)"
mkdir -p "$WORK/htdocs"
echo '<html><body>hello over quic</body></html>' >"$WORK/htdocs/index.html"

# A UDP port nobody holds now (the kernel's pick; a server that cannot bind
# it exits and is retried on another).
free_udp_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# start_server NAME [OPTIONS...]: sets PORT.
start_server() {
    local name="$1" try pid
    shift
    for try in 1 2 3 4 5; do
        PORT="$(free_udp_port)"
        gtlsserver -q "$@" -d "$WORK/htdocs" 127.0.0.1 "$PORT" "$WORK/key.pem" "$WORK/cert.pem" \
            >"$WORK/server.$name.log" 2>&1 </dev/null &
        pid=$!
        sleep 0.3
        if kill -0 "$pid" 2>/dev/null; then
            PIDS+=("$pid")
            kill_after "$LIFETIME" "$pid"
            PIDS+=("$KILL_AFTER_PID")
            return 0
        fi
        wait "$pid" 2>/dev/null || true
    done
    fail "ngtcp2 server $name did not start (log: $WORK/server.$name.log)"
}
start_server plain
P_PLAIN=$PORT
start_server retry -V
P_RETRY=$PORT
start_server vn
P_VN=$PORT

# ---- capture ----
PCAP="$WORK/quic.pcap"
tcpdump -i lo --immediate-mode -U -s 0 -w "$PCAP" "udp and (port $P_PLAIN or port $P_RETRY or port $P_VN)" \
    >"$WORK/tcpdump.log" 2>&1 </dev/null &
tcpdump_pid=$!
PIDS+=("$tcpdump_pid")
kill_after "$LIFETIME" "$tcpdump_pid"
PIDS+=("$KILL_AFTER_PID")
for _ in $(seq 1 100); do
    grep -q 'listening on' "$WORK/tcpdump.log" && break
    if ! kill -0 "$tcpdump_pid" 2>/dev/null; then
        if grep -qiE 'permission|not permitted' "$WORK/tcpdump.log"; then
            fail "tcpdump cannot capture on lo: $(head -n 2 "$WORK/tcpdump.log"); this test needs root or CAP_NET_RAW (CI runs it as root)"
        fi
        fail "tcpdump exited: $(head -n 3 "$WORK/tcpdump.log")"
    fi
    sleep 0.1
done
grep -q 'listening on' "$WORK/tcpdump.log" || fail "tcpdump did not start within 10 s"

# ---- clients ----
echo "browser: $(chromium --version 2>/dev/null | head -n 1); ngtcp2 $(dpkg-query -W -f '${Version}' ngtcp2-client 2>/dev/null || echo '?')"
mkdir -p "$WORK/profile" "$WORK/home"
flags=(--headless --disable-gpu --no-first-run --disable-background-networking
    --disable-component-update --disable-sync --disable-extensions
    --user-data-dir="$WORK/profile" --enable-quic
    --origin-to-force-quic-on="localhost:$P_PLAIN" --host-resolver-rules="MAP localhost 127.0.0.1"
    --ignore-certificate-errors-spki-list="$SPKI")
[ "$(id -u)" -ne 0 ] || flags+=(--no-sandbox)
rc=0
HOME="$WORK/home" timeout -k 5 40 chromium "${flags[@]}" --dump-dom "https://localhost:$P_PLAIN/index.html" \
    >"$WORK/dom.html" 2>"$WORK/chromium.log" </dev/null || rc=$?
[ "$rc" -ne 124 ] || fail "chromium did not finish within 40 s"
[ "$rc" -eq 0 ] || fail "chromium exited with status $rc"
grep -q 'hello over quic' "$WORK/dom.html" || fail "chromium did not fetch the page over HTTP/3"
echo "ok: chromium fetched the page over HTTP/3"

for target in "plain $P_PLAIN" "retry $P_RETRY"; do
    set -- $target
    timeout -k 2 15 gtlsclient -q --exit-on-all-streams-close 127.0.0.1 "$2" \
        "https://localhost:$2/index.html" >"$WORK/client.$1.log" 2>&1 </dev/null ||
        fail "ngtcp2 client -> $1 server failed (status $?)"
    echo "ok: ngtcp2 client -> $1 server"
done
# A version the server does not speak: it answers with Version Negotiation.
timeout -k 2 15 gtlsclient -q -v 0x1a2a3a4a --exit-on-all-streams-close \
    127.0.0.1 "$P_VN" "https://localhost:$P_VN/index.html" >"$WORK/client.vn.log" 2>&1 </dev/null || true
grep -q 'VERSION_NEGOTIATION' "$WORK/client.vn.log" ||
    fail "ngtcp2 client with version 0x1a2a3a4a got no Version Negotiation (log: $WORK/client.vn.log)"
echo "ok: ngtcp2 client (version 0x1a2a3a4a) -> vn server: Version Negotiation"

sleep 0.5
kill -INT "$tcpdump_pid"
for _ in $(seq 1 50); do
    kill -0 "$tcpdump_pid" 2>/dev/null || break
    sleep 0.1
done
echo "$(grep -E 'packets (captured|dropped)' "$WORK/tcpdump.log" | tr '\n' ' ')"

# ---- what observe reports ----
timeout -k 2 60 "$PQTLS_BIN" observe "$PCAP" >"$WORK/observe.jsonl" 2>"$WORK/observe.err" ||
    fail "pqtls observe $PCAP failed (status $?)"
timeout -k 2 60 "$PQTLS_BIN" observe --format table "$PCAP" >"$WORK/observe.table" 2>/dev/null ||
    fail "pqtls observe --format table failed"
grep -q '^  quic ' "$WORK/observe.table" || fail "the table has no quic row"
python3 - "$WORK/observe.jsonl" "$P_PLAIN" "$P_RETRY" "$P_VN" <<'PY' || fail "observe did not report the recorded QUIC handshakes as they happened (records: $WORK/observe.jsonl)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
plain, retry, vn = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
quic = [r for r in recs if r["transport"] == "quic"]
check(len(quic) == len(recs), "only QUIC records: %s" % [r["transport"] for r in recs])
# Chromium: its family is told by JA4; it offers the hybrid group.
chrome = [r for r in quic if r["server_port"] == plain and "X25519MLKEM768" in r["offered_groups"]]
check(len(chrome) >= 1, "a Chromium handshake offering X25519MLKEM768 to port %d" % plain)
for r in chrome:
    check(r["ja4"] and r["ja4"].startswith("q13d") and r["ja4"][8:10] == "h3", "chromium ja4 %s" % r["ja4"])
    check(r["offered_groups"][0] == "X25519MLKEM768", "chromium offers X25519MLKEM768 first: %s" % r["offered_groups"])
    check({"group": "X25519MLKEM768", "size": 1216} in r["key_shares"] and "x25519" in r["key_share_groups"],
          "chromium key shares %s" % r["key_shares"])
    check(r["quic"]["version"] == "1" and r["quic"]["initial_packets"] >= 2 and r["quic"]["datagrams"] >= 2,
          "chromium's hello spans two Initials: %s" % r["quic"])
    check(r["client_hello"]["complete"] and r["client_hello"]["size"] > 1216, "chromium hello %s" % r["client_hello"])
    check(r["sni"] == "localhost" and r["alpn"][:1] == ["h3"], "chromium sni %s alpn %s" % (r["sni"], r["alpn"]))
    # GnuTLS 3.7 (the ngtcp2 server's TLS) has no ML-KEM: it takes x25519.
    check(r["group"] == "x25519" and r["version"] == "TLSv1.3", "chromium selected %s %s" % (r["group"], r["version"]))
    check(r["outcome"] == "completed", "chromium outcome %s" % r["outcome"])
    check(r["client_family"] == "Chromium 131+ (BoringSSL)", "chromium family %s (ja4 %s)" % (r["client_family"], r["ja4"]))
ng = [r for r in quic if r["server_port"] == plain and r not in chrome]
check(len(ng) == 1, "one ngtcp2 client handshake to port %d, got %d" % (plain, len(ng)))
for r in ng:
    check(r["group"] == "x25519" and r["outcome"] == "completed" and not r["quic"]["retry"],
          "ngtcp2 client: %s %s %s" % (r["group"], r["outcome"], r["quic"]))
    check(r["ja4"].startswith("q13d") and r["quic"]["initial_packets"] == 1 and r["client_family"] == "GnuTLS 3.6.5+",
          "ngtcp2 client ja4 %s %s %s" % (r["ja4"], r["quic"], r["client_family"]))
rt = [r for r in quic if r["server_port"] == retry]
check(len(rt) == 1, "one handshake to the Retry server, got %d" % len(rt))
for r in rt:
    check(r["quic"]["retry"] and r["group"] == "x25519" and r["outcome"] == "completed",
          "Retry server: %s %s %s" % (r["quic"], r["group"], r["outcome"]))
vr = [r for r in quic if r["server_port"] == vn]
check([(r["outcome"], r["quic"]["version"], r["ja4"]) for r in vr] == [("version_negotiation", "0x1a2a3a4a", None)],
      "Version Negotiation: %s" % [(r["outcome"], r["quic"]["version"]) for r in vr])
for b in bad:
    print("FAIL:", b)
for r in quic:
    print("  %s:%d -> %d %s %s groups %s selected %s %s quic %s" % (r["client"], r["client_port"], r["server_port"],
          r["ja4"], r["client_family"], r["offered_groups"], r["group"], r["outcome"], r["quic"]))
sys.exit(1 if bad else 0)
PY
OK=1
echo "record_quic: all assertions held"
