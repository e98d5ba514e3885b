#!/usr/bin/env bash
# Integration test for `pqtls scan`: the demo estate plus hostile servers on
# loopback (tests/scan/estate.sh), scanned for real; check_estate.py asserts
# each stage and flag on the target built to have it and a bounded, named
# error for each hostile server. Then: the CSV and the HTML report agree with
# the JSON (the HTML as rendered by headless Chromium when installed), a
# policy gates with exit 0/1, bad target lines give exit 2 without stopping
# the scan, and two shards add up to the whole list.
#
# usage: test_estate.sh BUILD_DIR
set -euo pipefail
BUILD="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PQTLS="$BUILD/bin/pqtls"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pqtls-scan-test.XXXXXX")"
ESTATE_LIFETIME=240
# shellcheck source=estate.sh
source "$HERE/estate.sh"
cleanup() {
    local rc=$?
    estate_stop
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "test_estate: FAILED; files kept in $WORK" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

estate_start "$BUILD" "$WORK/estate" hostile
TARGETS="$WORK/estate/targets.txt"
T=2500 # handshake timeout (ms): the slow server must hit it
# The relay counts segments with TCP_INFO (split_relay.py); the 200 ms gap
# only keeps the kernel from coalescing the two writes on a loaded machine.

start=$(date +%s)
"$PQTLS" scan --targets "$TARGETS" --timeout "$T" --split-gap 200 --no-progress -o "$WORK/scan.jsonl"
elapsed=$(($(date +%s) - start))
echo "scan of $(grep -c . "$WORK/scan.jsonl") targets took ${elapsed}s"
[ "$elapsed" -le 20 ] || fail "the scan took ${elapsed}s (bound 20s)"

"$PQTLS" scan --targets "$TARGETS" --timeout "$T" --split-gap 200 --no-progress --format csv -o "$WORK/scan.csv"
"$PQTLS" scan --targets "$TARGETS" --timeout "$T" --split-gap 200 --no-progress --format html -o "$WORK/report.html"

# Headless Chromium renders the report; compare what it shows with the JSON.
DOM="$WORK/report.html"
if command -v chromium >/dev/null 2>&1; then
    timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$WORK/chromium-profile" --dump-dom "file://$WORK/report.html" \
        >"$WORK/dom.html" 2>"$WORK/chromium.log" || fail "chromium could not render the report"
    grep -q 'id="stage-chart"' "$WORK/dom.html" || fail "chromium's DOM has no stage chart"
    DOM="$WORK/dom.html"
    echo "report rendered by $(chromium --version 2>/dev/null | head -1)"
else
    echo "note: chromium is not installed (scripts/deps.sh); checking the HTML source instead"
fi
# Scans differ in timing only; the stage and flags of every target must
# agree between the three runs, which check_estate.py verifies per format.
python3 "$HERE/check_estate.py" "$WORK/scan.jsonl" "$T" --csv "$WORK/scan.csv" --html "$DOM"

# Names: "localhost" resolves through /etc/hosts (the resolver threads,
# no network) to the TLS 1.2 server; the IPv6 literal target connected to ::1.
tls12=$(grep ',tls12.test' "$TARGETS" | cut -d, -f1)
"$PQTLS" scan "localhost:${tls12#127.0.0.1:},byname.test" --probes classical --timeout "$T" \
    --no-progress -o "$WORK/byname.jsonl"
python3 - "$WORK/byname.jsonl" "${tls12#127.0.0.1:}" <<'EOF2'
import json, sys
o = json.loads(open(sys.argv[1]).readline())
p = o["probes"][0]
assert o["error"] is None and o["address"] == "127.0.0.1:" + sys.argv[2], o
assert p["version"] == "TLSv1.2" and p["group"] == "secp384r1", p
print(f"by name: localhost -> {o['address']}, {p['version']} {p['group']}")
EOF2

# Policy gate: a satisfiable policy exits 0, a strict one exits 1 and names
# the targets that fail.
cat >"$WORK/ok.policy" <<'EOF'
*,node24.test        preferred
*,legacy-kyber.test  none
*                    none no-broken-hybrid
EOF
"$PQTLS" scan --targets "$TARGETS" --timeout "$T" --no-progress --probes \
    browser,x25519mlkem768,hrr-preference,classical -o /dev/null --policy "$WORK/ok.policy" ||
    fail "a satisfiable policy did not exit 0"
cat >"$WORK/strict.policy" <<'EOF'
*,node24.test  required
*              supported no-legacy-kyber
EOF
set +e
"$PQTLS" scan --targets "$TARGETS" --timeout "$T" --no-progress -o /dev/null \
    --policy "$WORK/strict.policy" --probes browser,x25519mlkem768,hrr-preference,classical \
    2>"$WORK/policy.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "a failing policy exited $rc, expected 1"
grep -q "node24.test does not comply: stage preferred is below required" "$WORK/policy.err" ||
    fail "policy failure for node24.test not listed: $(cat "$WORK/policy.err")"
grep -q "openssl-classic.test does not comply" "$WORK/policy.err" ||
    fail "policy failure for openssl-classic.test not listed"
echo "policy gate: exit 0 when compliant, exit 1 listing $(grep -c 'does not comply' "$WORK/policy.err") targets"

# Bad input lines: reported with line numbers, skipped, exit 2, rest scanned.
{
    head -n 3 "$TARGETS"
    echo "bad host name!"
    echo "127.0.0.1:99999"
    sed -n '4,5p' "$TARGETS"
} >"$WORK/mixed.txt"
set +e
"$PQTLS" scan --targets "$WORK/mixed.txt" --no-progress --probes classical --timeout "$T" \
    -o "$WORK/mixed.jsonl" 2>"$WORK/mixed.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad target lines gave exit $rc, expected 2"
grep -q "mixed.txt:4: 'bad host name!'" "$WORK/mixed.err" || fail "line 4 not reported: $(cat "$WORK/mixed.err")"
grep -q "mixed.txt:5: '127.0.0.1:99999': the port" "$WORK/mixed.err" || fail "line 5 not reported"
good=$(grep -vc '^#' <(head -n 3 "$TARGETS"; sed -n '4,5p' "$TARGETS"))
[ "$(grep -c . "$WORK/mixed.jsonl")" -eq "$good" ] || fail "the good lines were not all scanned"
echo "bad lines: reported with line numbers, exit 2, $good good targets still scanned"

# Shards: 1/2 and 2/2 are disjoint and together cover the list.
for k in 1 2; do
    "$PQTLS" scan --targets "$TARGETS" --shard "$k/2" --probes classical --timeout "$T" \
        --no-progress -o "$WORK/shard$k.jsonl"
done
python3 - "$WORK" <<'EOF'
import json, sys
w = sys.argv[1]
full = {json.loads(l)["target"] for l in open(f"{w}/scan.jsonl")}
s1 = [json.loads(l)["target"] for l in open(f"{w}/shard1.jsonl")]
s2 = [json.loads(l)["target"] for l in open(f"{w}/shard2.jsonl")]
assert not set(s1) & set(s2), "shards overlap"
assert set(s1) | set(s2) == full, "shards do not cover the list"
assert len(s1) + len(s2) == len(full), "a target was scanned twice"
print(f"shards: {len(s1)} + {len(s2)} = {len(full)} targets, disjoint")
EOF
echo "test_estate: passed"
