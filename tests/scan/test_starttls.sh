#!/usr/bin/env bash
# Loopback test of `pqtls scan` over every STARTTLS dialogue: small fake
# servers (starttls_servers.py) speak the plaintext side of SMTP, IMAP,
# POP3, FTP, LDAP, PostgreSQL, MySQL and XMPP the way the real servers do,
# then splice the connection to a real `openssl s_server` with the pqtls
# provider. check_starttls.py asserts, per protocol, that all eleven probes
# ran over the dialogue and that X25519MLKEM768 was negotiated and verified
# (and, behind a hybrid-only server, that the HelloRetryRequest was
# continued on the same connection); the flags no-starttls (not offered,
# refused) and plaintext-service (a direct ClientHello meets a banner) with
# their detail; --starttls; input order in JSON Lines, CSV and HTML; and
# the exit codes (policy verdict over bad lines, nothing scanned).
#
# usage: test_starttls.sh BUILD_DIR
set -euo pipefail
BUILD="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PQTLS="$BUILD/bin/pqtls"
SO="$BUILD/lib/pqtls.so"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pqtls-starttls-test.XXXXXX")"
LIFETIME=240
# shellcheck source-path=SCRIPTDIR source=../proc.sh
. "$ROOT/tests/proc.sh"
PIDS=()
cleanup() {
    local rc=$?
    stop_pids 20 "${PIDS[@]}"
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "test_starttls: FAILED; files kept in $WORK" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ -f "$SO" ] || fail "$SO is not built"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" \
    -out "$WORK/cert.pem" -days 2 -subj /CN=localhost >"$WORK/req.log" 2>&1 || fail "openssl req"
"$ROOT/scripts/openssl-cnf.sh" "$SO" >"$WORK/openssl.cnf"
OPENSSL_CONF="$WORK/openssl.cnf" openssl list -providers 2>/dev/null | grep -q pqtls ||
    fail "openssl cannot load $SO (a sanitizer build?)"

# start_servers NAME BACKEND SERVICE...: the fake servers in front of
# BACKEND; their ports land in WORK/NAME.json.
start_servers() {
    local name="$1" backend="$2"
    shift 2
    python3 "$HERE/starttls_servers.py" "$backend" "$@" --lifetime "$LIFETIME" \
        >"$WORK/$name.json" 2>"$WORK/$name.log" </dev/null &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        [ -s "$WORK/$name.json" ] && return 0
        sleep 0.1
    done
    fail "the fake servers ($name) did not start (see $WORK/$name.log)"
}

start_s_server hybrid "$WORK/openssl.cnf" "$WORK/cert.pem" "$WORK/key.pem" X25519MLKEM768:X25519
HYBRID=$PORT
start_s_server required "$WORK/openssl.cnf" "$WORK/cert.pem" "$WORK/key.pem" X25519MLKEM768
REQUIRED=$PORT
GOOD=(smtp=good imap=good pop3=good ftp=good ldap=good postgres=good mysql=good xmpp=good)
start_servers main "$HYBRID" "${GOOD[@]}" \
    smtp=nostarttls imap=nostarttls pop3=nostarttls ftp=nostarttls ldap=nostarttls \
    postgres=nostarttls mysql=nostarttls xmpp=nostarttls \
    smtp=refuse imap=refuse pop3=refuse ftp=refuse ldap=refuse xmpp=refuse \
    smtp=banner imap=banner pop3=banner ssh=banner
start_servers required "$REQUIRED" smtp=good postgres=good xmpp=good

# The targets, in an order that is not the order they finish in: the
# banner targets (quick) and the dialogues (slower) interleaved.
python3 - "$WORK" >"$WORK/targets.txt" <<'EOF'
import json, sys
w = sys.argv[1]
main = json.load(open(f"{w}/main.json"))
req = json.load(open(f"{w}/required.json"))
def url(spec, port):
    name, mode = spec.split("=")
    if mode == "banner":
        return f"127.0.0.1:{port}            # {spec}"
    sni = ",xmpp.test" if name == "xmpp" else ""
    return f"{name}://127.0.0.1:{port}{sni}    # {spec}"
print("# pqtls scan over STARTTLS dialogues (tests/scan/test_starttls.sh)")
for spec, port in main.items():
    print(url(spec, port))
for spec, port in req.items():
    print(url(spec, port).replace("#", "# required:"))
EOF
echo "targets:"
sed 's/^/  /' "$WORK/targets.txt"

T=5000
"$PQTLS" scan --targets "$WORK/targets.txt" --timeout "$T" --no-progress -o "$WORK/scan.jsonl"
"$PQTLS" scan --targets "$WORK/targets.txt" --timeout "$T" --no-progress --format csv \
    -o "$WORK/scan.csv"
"$PQTLS" scan --targets "$WORK/targets.txt" --timeout "$T" --no-progress --format html \
    -o "$WORK/report.html"
"$PQTLS" scan --targets "$WORK/targets.txt" --timeout "$T" --no-progress --format table \
    | tee "$WORK/scan.txt"

# --starttls: the same SMTP server as a bare host:port.
smtp_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["smtp=good"])' \
    "$WORK/main.json")
"$PQTLS" scan --starttls smtp "127.0.0.1:$smtp_port" --timeout "$T" --no-progress \
    -o "$WORK/option.jsonl"

python3 "$HERE/check_starttls.py" "$WORK"

# Exit codes. A failing policy stays 1 when bad lines were skipped too.
printf '%s\n' '*  supported' >"$WORK/policy.txt"
{
    sed -n '2,4p' "$WORK/targets.txt"
    echo "gopher://127.0.0.1:70"
    grep 'nostarttls' "$WORK/targets.txt" | head -n 1
} >"$WORK/mixed.txt"
set +e
"$PQTLS" scan --targets "$WORK/mixed.txt" --timeout "$T" --no-progress -o /dev/null \
    --policy "$WORK/policy.txt" 2>"$WORK/mixed.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "policy failure with a bad line exited $rc, expected 1: $(cat "$WORK/mixed.err")"
grep -q "mixed.txt:4: 'gopher://127.0.0.1:70': unknown scheme" "$WORK/mixed.err" ||
    fail "the bad line is not reported: $(cat "$WORK/mixed.err")"
grep -q "1 bad target line skipped" "$WORK/mixed.err" || fail "the bad line is not counted"
grep -q "does not comply" "$WORK/mixed.err" || fail "the policy failure is not listed"
echo "exit codes: policy failure + bad line -> 1, both reported"

# Nothing could be scanned: every target unreachable (closed ports) -> 4.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
set +e
"$PQTLS" scan "smtp://127.0.0.1:$closed" "127.0.0.1:$closed" --timeout 2000 --no-progress \
    -o /dev/null 2>"$WORK/none.err"
rc=$?
"$PQTLS" scan "gopher://127.0.0.1:$closed" "bad host!" --no-progress -o /dev/null \
    2>"$WORK/bad.err"
rc_bad=$?
"$PQTLS" scan "127.0.0.1:$closed" --no-progress -o /dev/null --policy "$WORK/policy.txt" \
    2>"$WORK/none_policy.err"
rc_policy=$?
set -e
[ "$rc" -eq 4 ] || fail "all targets unreachable exited $rc, expected 4: $(cat "$WORK/none.err")"
grep -q "no target could be scanned" "$WORK/none.err" || fail "exit 4 without its reason"
[ "$rc_bad" -eq 4 ] || fail "only bad target lines exited $rc_bad, expected 4: $(cat "$WORK/bad.err")"
[ "$rc_policy" -eq 4 ] ||
    fail "an unreachable target under a policy exited $rc_policy, expected 4"
echo "exit codes: nothing scanned -> 4 (unreachable, no valid line, with or without a policy)"
echo "test_starttls: passed"
