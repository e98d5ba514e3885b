#!/usr/bin/env bash
# store.cbom: `pqtls history --format cbom` against `pqtls scan --format
# cbom`, on a SQLite store. A real `openssl s_server` with the pqtls
# provider offering X25519MLKEM768 (EC P-256 certificate), a classical one
# (RSA-2048), a closed port and an smtp:// target on it are scanned once with --store and --format cbom (BOM A); `history
# --format cbom` then writes BOM B from the store. B must equal A in
# everything but serialNumber and metadata.timestamp (compare_cbom.py), and
# validate against the official CycloneDX 1.7 schema with the checks of
# tests/scan/check_cbom.py (stages and flags against the JSON Lines of the
# same targets, the hybrid's and the certificates' assets). Then: the same
# targets in two shards (one scan id) give the same BOM as the unsharded
# scan but for its start and each target's ms, in input order; a store without a complete scan and a damaged
# stored record are exit 3 with a message, and no BOM.
#
# usage: test_store_cbom.sh BUILD_DIR
set -euo pipefail
BUILD="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PQTLS="$BUILD/bin/pqtls"
SO="$BUILD/lib/pqtls.so"
SCHEMAS="$ROOT/../shared/schemas/cyclonedx"
# Debian's python with python3-jsonschema (scripts/deps.sh).
PY=/usr/bin/python3
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pqtls-store-cbom.XXXXXX")"
LIFETIME=120
# shellcheck source-path=SCRIPTDIR source=../proc.sh
. "$ROOT/tests/proc.sh"
PIDS=()
cleanup() {
    local rc=$?
    stop_pids 20 "${PIDS[@]}"
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "test_store_cbom: FAILED; files kept in $WORK" >&2
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
[ -f "$SCHEMAS/bom-1.7.schema.json" ] || fail "no CycloneDX schemas in $SCHEMAS"
"$PY" -c 'import jsonschema' 2>/dev/null ||
    fail "$PY has no jsonschema: install python3-jsonschema (scripts/deps.sh)"
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (scripts/deps.sh)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -nodes \
    -keyout "$WORK/ec.key" -out "$WORK/ec.pem" -days 2 -subj /CN=hybrid.test \
    >"$WORK/req.log" 2>&1 || fail "openssl req (EC)"
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -keyout "$WORK/rsa.key" \
    -out "$WORK/rsa.pem" -days 2 -subj /CN=classical.test >>"$WORK/req.log" 2>&1 ||
    fail "openssl req (RSA)"
"$ROOT/scripts/openssl-cnf.sh" "$SO" >"$WORK/openssl.cnf"
OPENSSL_CONF="$WORK/openssl.cnf" openssl list -providers 2>/dev/null | grep -q pqtls ||
    fail "openssl cannot load $SO (a sanitizer build?)"

start_s_server hybrid "$WORK/openssl.cnf" "$WORK/ec.pem" "$WORK/ec.key" X25519MLKEM768:X25519
hybrid="127.0.0.1:$PORT,hybrid.test"
start_s_server classical /dev/null "$WORK/rsa.pem" "$WORK/rsa.key" X25519:P-256
classical="127.0.0.1:$PORT,classical.test"
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
# (s_server serves one connection at a time: an SMTP dialogue waiting on it
# for a greeting would stall the other targets' probes.)
smtp="smtp://127.0.0.1:$closed"
printf '%s\n' "$hybrid" "$classical" "127.0.0.1:$closed" "$smtp" >"$WORK/targets.txt"
SCAN=("$PQTLS" scan --targets "$WORK/targets.txt" --no-progress --timeout 2000)

# ---- one scan: --store and --format cbom; then history --format cbom --------------
rc=0
"${SCAN[@]}" --store "$WORK/st.db" --scan-id one --format cbom -o "$WORK/A.json" \
    2>"$WORK/scan.log" || rc=$?
[ "$rc" -eq 0 ] || fail "pqtls scan --store --format cbom exited $rc (see $WORK/scan.log)"
rc=0
"$PQTLS" history --store "$WORK/st.db" --format cbom -o "$WORK/B.json" 2>"$WORK/history.log" ||
    rc=$?
[ "$rc" -eq 0 ] || fail "pqtls history --format cbom exited $rc: $(cat "$WORK/history.log")"
"$PY" "$HERE/compare_cbom.py" "$WORK/A.json" "$WORK/B.json" ||
    fail "the BOM from the store differs from the scan's"
# The same targets as JSON Lines: the stages and flags the BOM must repeat.
"${SCAN[@]}" -o "$WORK/scan.jsonl" 2>>"$WORK/scan.log" || true
"$PY" "$ROOT/tests/scan/check_cbom.py" "$SCHEMAS" "$WORK/B.json" "$WORK/scan.jsonl" \
    --expect "hybrid=$hybrid" --expect "ec-cert=$hybrid" \
    --expect "classical=$classical" --expect "rsa-cert=$classical" \
    --expect "unreachable=127.0.0.1:$closed"
echo "test_store_cbom: history --format cbom = scan --format cbom (but serialNumber, timestamp), valid CycloneDX 1.7"

# ---- the same targets in two shards of one scan: the same BOM, in input order --------
for k in 1 2; do
    "${SCAN[@]}" --store "$WORK/st.db" --scan-id two --shard "$k/2" -o /dev/null \
        2>>"$WORK/scan.log" || true
done
"$PQTLS" history --store "$WORK/st.db" --format cbom -o "$WORK/C.json" 2>>"$WORK/history.log" ||
    fail "history --format cbom after a sharded scan: $(cat "$WORK/history.log")"
"$PY" - "$WORK/C.json" "$WORK/A.json" <<'EOF' || fail "the sharded scan's BOM"
import json, sys
c, a = (json.load(open(p)) for p in sys.argv[1:3])
names = lambda d: [x["name"] for x in d["components"]
                   if x["cryptoProperties"]["assetType"] == "protocol"]
assert names(c) == names(a), (names(c), names(a))
EOF
"$PY" "$HERE/compare_cbom.py" --other-scan "$WORK/A.json" "$WORK/C.json" ||
    fail "the BOM of two shards differs from the unsharded scan's"
echo "test_store_cbom: a scan in two shards exports the unsharded scan's BOM, in input order"

# ---- errors: no complete scan; a damaged record ----------------------------------------
rc=0
"$PQTLS" history --store "$WORK/empty.db" --format cbom -o "$WORK/E.json" 2>"$WORK/e.err" || rc=$?
[ "$rc" -eq 3 ] || fail "history --format cbom on an empty store: exit $rc, expected 3"
grep -q 'no complete scan' "$WORK/e.err" || fail "empty store message: $(cat "$WORK/e.err")"
[ ! -s "$WORK/E.json" ] || fail "a BOM was written for an empty store"
sqlite3 "$WORK/st.db" "UPDATE results SET record = substr(record, 1, 100) WHERE scan_id = 'two' AND target = '$classical'"
rc=0
"$PQTLS" history --store "$WORK/st.db" --format cbom -o "$WORK/D.json" 2>"$WORK/d.err" || rc=$?
[ "$rc" -eq 3 ] || fail "history --format cbom over a damaged record: exit $rc, expected 3"
grep -q "target $classical: the stored record does not read as pqtls-scan/1: the record ends early" "$WORK/d.err" ||
    fail "damaged record message: $(cat "$WORK/d.err")"
[ ! -s "$WORK/D.json" ] || fail "a half BOM was written over a damaged record"
echo "test_store_cbom: no complete scan, a damaged record: exit 3, the reason, no BOM"
echo "test_store_cbom: ok"
