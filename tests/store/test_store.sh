#!/usr/bin/env bash
# store.suite: the scan store end to end, on SQLite and on a PostgreSQL 15
# server this test starts (initdb into a temporary directory, 127.0.0.1 on
# a free port, stopped at exit):
#   - the store unit program against PostgreSQL (store.sqlite runs it on SQLite)
#   - a v1 store (tests/store/v1_schema.sql) upgraded in place, scans kept;
#     a store with a newer schema refused (exit 4, a clear message)
#   - scans killed (SIGKILL) at random points: the store stays consistent,
#     the killed scan incomplete, the earlier one intact; a rerun completes
#     it without duplicates
#   - 8 shard processes writing one SQLite file and one PostgreSQL database
#     at once lose nothing
#   - GNU parallel runs 4 shards (--shard auto/4, PARALLEL_SEQ) of a scan of
#     the loopback estate into PostgreSQL: the union equals a single-process
#     scan, target by target (stage and flags)
#   - pqtls scan --format html with --store has "since last scan"
#   - pqtls history --format cbom from PostgreSQL = the estate scan's BOM
#   - stored records read back (test_store_record) on PostgreSQL
#   - pqtls history: regressions, new, vanished, exit 1 / 0, --since, usage
#     errors, CSV, and the HTML report in headless Chromium against the JSON
# usage: test_store.sh BUILD_DIR
set -euo pipefail
BUILD="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PQTLS="$BUILD/bin/pqtls"
WORK="$(mktemp -d)"
PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR="$WORK/pg"
PG_PID=
ESTATE_LIFETIME=300
# shellcheck source=../scan/estate.sh
. "$HERE/../scan/estate.sh"

cleanup() {
    estate_stop || true
    if [ -n "$PG_PID" ]; then
        "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -f "$PG_DIR/log" ] && tail -n 20 "$PG_DIR/log" >&2
    exit 1
}
note() { printf '%s\n' "$*"; }
json_field() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r["type"]==sys.argv[2] and (len(sys.argv)<5 or r.get("scan")==sys.argv[4]):
        print(r[sys.argv[3]]); break' "$@"; }

# ---- PostgreSQL --------------------------------------------------------------
[ -x "$PG_BIN/initdb" ] || fail "PostgreSQL 15 is not installed (scripts/deps.sh)"
mkdir -p "$PG_DIR/sock"
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root: run it as user postgres.
    chown -R postgres: "$PG_DIR"
    chmod 755 "$WORK"
    AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync >"$WORK/initdb.log" 2>&1 ||
    fail "initdb: $(tail -n 3 "$WORK/initdb.log")"
for _ in 1 2 3 4 5; do
    PORT=$(estate_free_port)
    if "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$PG_DIR/sock -c fsync=off -c max_connections=60" \
        start >/dev/null 2>&1; then
        PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
        break
    fi
done
[ -n "$PG_PID" ] || fail "PostgreSQL did not start"
note "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
pg_url() { echo "postgresql://postgres@127.0.0.1:$PORT/$1"; }
newdb() { psql -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE $1" >/dev/null; }
pgq() { psql -h 127.0.0.1 -p "$PORT" -U postgres -d "$1" -At -c "$2"; }

# ---- unit tests on PostgreSQL ------------------------------------------------
newdb unit
"$BUILD/bin/test_store_unit" "$(pg_url unit)" >"$WORK/unit.log" 2>&1 || { cat "$WORK/unit.log"; fail "store unit tests on PostgreSQL"; }
tail -n 1 "$WORK/unit.log"
newdb record
"$BUILD/bin/test_store_record" "$(pg_url record)" >"$WORK/record.log" 2>&1 || { cat "$WORK/record.log"; fail "stored records read back, on PostgreSQL"; }
tail -n 1 "$WORK/record.log"

# ---- migrations --------------------------------------------------------------
sqlite3 "$WORK/v1.db" <"$HERE/v1_schema.sql"
newdb v1
psql -q -h 127.0.0.1 -p "$PORT" -U postgres -d v1 -f "$HERE/v1_schema.sql" >/dev/null
for url in "$WORK/v1.db" "$(pg_url v1)"; do
    rc=0
    "$PQTLS" history --store "$url" --format jsonl >"$WORK/v1.jsonl" || rc=$?
    [ "$rc" = 1 ] || fail "history over the v1 store $url: exit $rc, expected 1 (old1 regressed)"
    [ "$(json_field "$WORK/v1.jsonl" history scans)" = 2 ] || fail "v1 scans not kept ($url)"
    grep -q '"type":"regression","scan":"v1-b","previous":"v1-a","target":"old1.example:443","from":"preferred","to":"supported"' "$WORK/v1.jsonl" ||
        fail "v1 results not kept ($url)"
    grep -q '"type":"new","scan":"v1-b","previous":"v1-a","target":"old4.example:443"' "$WORK/v1.jsonl" || fail "v1 new target ($url)"
    grep -q '"type":"vanished","scan":"v1-b","previous":"v1-a","target":"old3.example:443"' "$WORK/v1.jsonl" || fail "v1 vanished target ($url)"
done
[ "$(sqlite3 "$WORK/v1.db" "SELECT value FROM pqtls_meta WHERE key='schema_version'")" = 2 ] || fail "SQLite v1 store not upgraded"
[ "$(pgq v1 "SELECT value FROM pqtls_meta WHERE key='schema_version'")" = 2 ] || fail "PostgreSQL v1 store not upgraded"
# The upgraded store takes new scans beside the old ones.
"$PQTLS" scan --store "$WORK/v1.db" --scan-id after-v1 --timeout 500 --retries 0 127.0.0.1:9 >/dev/null 2>&1 || true
[ "$(sqlite3 "$WORK/v1.db" "SELECT count(*) FROM scan_shards WHERE complete = 1")" = 3 ] || fail "a scan into the upgraded store"
note "ok: v1 stores (SQLite, PostgreSQL) upgraded in place to version 2, scans kept"
sqlite3 "$WORK/v1.db" "UPDATE pqtls_meta SET value = '3' WHERE key = 'schema_version'"
pgq v1 "UPDATE pqtls_meta SET value = '3' WHERE key = 'schema_version'" >/dev/null
for url in "$WORK/v1.db" "$(pg_url v1)"; do
    rc=0
    "$PQTLS" history --store "$url" >/dev/null 2>"$WORK/newer.err" || rc=$?
    [ "$rc" = 4 ] || fail "a newer store: history exit $rc, expected 4"
    grep -q 'schema version 3, newer than this pqtls understands (2)' "$WORK/newer.err" || fail "newer store message: $(cat "$WORK/newer.err")"
    rc=0
    "$PQTLS" scan --store "$url" --scan-id x 127.0.0.1:9 >/dev/null 2>&1 || rc=$?
    [ "$rc" = 4 ] || fail "a newer store: scan exit $rc, expected 4"
done
note "ok: a store with a newer schema is refused: $(cat "$WORK/newer.err")"

# ---- scans killed at random points -------------------------------------------
# Targets that refuse at once (a closed port, many SNI names): quick real scans.
CLOSED=$(estate_free_port)
for i in $(seq 1 4000); do echo "127.0.0.1:$CLOSED,k$i.test"; done >"$WORK/kill.txt"
head -n 50 "$WORK/kill.txt" >"$WORK/base.txt"
SCAN=("$PQTLS" scan --no-progress --retries 0 --timeout 2000 --concurrency 32 -o /dev/null)
newdb killed
for url in "$WORK/killed.db" "$(pg_url killed)"; do
    "${SCAN[@]}" --store "$url" --scan-id base --targets "$WORK/base.txt" 2>/dev/null || true
    for round in 1 2 3 4 5 6; do
        "${SCAN[@]}" --store "$url" --scan-id "kill$round" --targets "$WORK/kill.txt" 2>/dev/null &
        pid=$!
        sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rc=0
    "$PQTLS" history --store "$url" --format jsonl >"$WORK/kill.jsonl" || rc=$?
    [ "$rc" -le 1 ] || fail "history after kills: exit $rc"
    python3 - "$WORK/kill.jsonl" <<'PY' || fail "store after killed scans ($url)"
import json, sys
scans = {r["scan"]: r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "scan"}
assert scans["base"]["complete"] and scans["base"]["targets"] == 50, scans["base"]
for i in range(1, 7):
    s = scans.get(f"kill{i}")
    assert s is not None, f"kill{i} missing"
    assert s["targets"] <= 4000
    assert s["complete"] == (s["targets"] == 4000 and s["shards_done"] == 1), s
    print(f"  kill{i}: {'complete' if s['complete'] else 'incomplete'}, {s['targets']} targets stored")
PY
    # A killed scan rerun to the end: complete, every target once.
    "${SCAN[@]}" --store "$url" --scan-id kill1 --targets "$WORK/kill.txt" 2>/dev/null || true
    "$PQTLS" history --store "$url" --format jsonl >"$WORK/kill.jsonl" || true
    python3 - "$WORK/kill.jsonl" <<'PY' || fail "rerun of a killed scan ($url)"
import json, sys
s = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "scan" and r["scan"] == "kill1"][0]
assert s["complete"] and s["targets"] == 4000, s
PY
done
[ "$(sqlite3 "$WORK/killed.db" 'PRAGMA integrity_check')" = ok ] || fail "SQLite integrity_check after kills"
[ "$(sqlite3 "$WORK/killed.db" "SELECT count(*) = count(DISTINCT scan_id || ' ' || target) FROM results")" = 1 ] || fail "duplicate rows"
note "ok: scans killed at random points left both stores consistent (killed scans incomplete, base intact, reruns complete)"

# ---- 8 concurrent shard writers ----------------------------------------------
newdb conc
for url in "$WORK/conc.db" "$(pg_url conc)"; do
    pids=()
    for k in 1 2 3 4 5 6 7 8; do
        "${SCAN[@]}" --store "$url" --scan-id conc --shard "$k/8" --targets "$WORK/kill.txt" 2>"$WORK/conc$k.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || [ $? = 4 ] || fail "a concurrent shard failed: $(cat "$WORK"/conc*.err)"; done
    "$PQTLS" history --store "$url" --format jsonl >"$WORK/conc.jsonl" || true
    python3 - "$WORK/conc.jsonl" <<'PY' || fail "8 concurrent writers ($url)"
import json, sys
recs = list(map(json.loads, open(sys.argv[1])))
s = [r for r in recs if r["type"] == "scan" and r["scan"] == "conc"][0]
assert s["complete"] and s["shards"] == 8 and s["shards_done"] == 8, s
assert s["targets"] == 4000, s
assert len([r for r in recs if r["type"] == "target"]) == 4000
PY
done
note "ok: 8 shard processes at once into one SQLite file (WAL) and one PostgreSQL database: 4000 of 4000 targets, 8 of 8 shards"

# ---- GNU parallel shards of the estate = one single-process scan ---------------
estate_start "$BUILD" "$WORK/estate" hostile >"$WORK/estate.log" 2>&1 || fail "estate: $(tail -n 5 "$WORK/estate.log")"
grep -v '^#' "$WORK/estate/targets.txt" >"$WORK/estate.txt"
head -n 40 "$WORK/kill.txt" >>"$WORK/estate.txt"
newdb par
PURL="$(pg_url par)"
# --split-gap 200 as in every estate scan: the middlebox relay counts the
# hello's segments (split_relay.py); the gap keeps the two writes apart.
ESCAN=("$PQTLS" scan --no-progress --timeout 3000 --split-gap 200 --targets "$WORK/estate.txt" --store "$PURL")
command -v parallel >/dev/null || fail "GNU parallel is not installed (scripts/deps.sh)"
parallel --will-cite -j 4 "${ESCAN[@]}" --shard auto/4 -o "$WORK/par{}.jsonl" ::: 1 2 3 4 2>/dev/null || true
"${ESCAN[@]}" --scan-id single -o "$WORK/single.jsonl" 2>/dev/null || true
sid=$(pgq par "SELECT scan_id FROM scans WHERE scan_id LIKE 'parallel-%'")
[ -n "$sid" ] || fail "no scan id derived from PARALLEL_PID"
[ "$(pgq par "SELECT count(*) FROM scan_shards WHERE scan_id = '$sid' AND complete = 1")" = 4 ] || fail "not all 4 parallel shards complete"
diff <(pgq par "SELECT target, stage, flags FROM results WHERE scan_id = 'single' ORDER BY target") \
    <(pgq par "SELECT target, stage, flags FROM results WHERE scan_id = '$sid' ORDER BY target") >"$WORK/par.diff" ||
    fail "the union of the parallel shards differs from the single scan: $(cat "$WORK/par.diff"; grep middlebox "$WORK"/single.jsonl "$WORK"/par*.jsonl)"
n=$(pgq par "SELECT count(*) FROM results WHERE scan_id = '$sid'")
[ "$n" = "$(wc -l <"$WORK/estate.txt")" ] || fail "parallel union has $n targets"
stages=$(pgq par "SELECT string_agg(DISTINCT stage::text, ',') FROM results WHERE scan_id = 'single'")
note "ok: GNU parallel, 4 shards (--shard auto/4, scan id $sid) = single-process scan: $n targets, stages {$stages}, identical stage and flags"
# The scan report with a store: "since last scan".
"${ESCAN[@]}" --scan-id again --format html -o "$WORK/again.html" 2>/dev/null || true
grep -q 'id="since-last"' "$WORK/again.html" || fail "scan --format html --store has no 'since last scan'"
grep -q "id=\"since-prev\">single<" "$WORK/again.html" || fail "since last scan does not compare with the single scan"
note "ok: pqtls scan --format html --store: 'since last scan' against the single scan"
# The estate's BOM exported from PostgreSQL = the scan's own (but serial, timestamp).
"${ESCAN[@]}" --scan-id bom --format cbom -o "$WORK/estate.scan.cbom" 2>/dev/null || true
"$PQTLS" history --store "$PURL" --format cbom -o "$WORK/estate.store.cbom" 2>"$WORK/cbom.err" ||
    fail "history --format cbom from PostgreSQL: $(cat "$WORK/cbom.err")"
/usr/bin/python3 "$HERE/compare_cbom.py" "$WORK/estate.scan.cbom" "$WORK/estate.store.cbom" >"$WORK/cbom.cmp" ||
    fail "the estate's BOM from PostgreSQL differs from the scan's: $(cat "$WORK/cbom.cmp")"
/usr/bin/python3 "$HERE/../scan/check_cbom.py" "$HERE/../../../shared/schemas/cyclonedx" "$WORK/estate.store.cbom" >/dev/null ||
    fail "the estate's BOM from PostgreSQL is not valid CycloneDX 1.7"
note "ok: history --format cbom from PostgreSQL = the estate scan's BOM: $(cat "$WORK/cbom.cmp")"

# ---- history: regressions, exit codes, formats, Chromium ---------------------
"$BUILD/bin/store_gen" "$WORK/h.db" 12 300 --regress 5 --add 3 --vanish 2
rc=0
"$PQTLS" history --store "$WORK/h.db" --format jsonl >"$WORK/h.jsonl" 2>"$WORK/h.err" || rc=$?
[ "$rc" = 1 ] || fail "history with regressions: exit $rc, expected 1"
grep -q '5 regressions in the latest scan gen-011' "$WORK/h.err" || fail "history stderr: $(cat "$WORK/h.err")"
python3 - "$WORK/h.jsonl" <<'PY' || fail "history jsonl"
import json, sys
recs = list(map(json.loads, open(sys.argv[1])))
last = [r for r in recs if r["type"] == "scan"][-1]
assert (last["regressions"], last["new"], last["vanished"]) == (5, 3, 2), last
assert len([r for r in recs if r["type"] == "regression"]) == 5
assert len([r for r in recs if r["type"] == "target"]) == 303
first = [r for r in recs if r["type"] == "scan"][0]
assert first["regressions"] is None and first["required_share"] == 0
PY
"$PQTLS" history --store "$WORK/h.db" --format html -o "$WORK/h.html" || true
"$PQTLS" history --store "$WORK/h.db" --format csv >"$WORK/h.csv" || true
[ "$(wc -l <"$WORK/h.csv")" = 13 ] || fail "CSV: one header and 12 scan rows"
rc=0
"$PQTLS" history --store "$WORK/h.db" --since 2025-03-01 --format jsonl >"$WORK/since.jsonl" || rc=$?
[ "$(json_field "$WORK/since.jsonl" history scans)" = 3 ] || fail "--since 2025-03-01: expected 3 scans"
"$BUILD/bin/store_gen" "$WORK/ok.db" 4 100
"$PQTLS" history --store "$WORK/ok.db" >/dev/null || fail "history without regressions: exit $?"
rc=0; "$PQTLS" history --store "$WORK/ok.db" --since yesterday >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "bad --since: exit $rc"
rc=0; "$PQTLS" history >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "no --store: exit $rc"
rc=0; "$PQTLS" scan --store "$WORK/x.db" --shard 2/4 127.0.0.1:9 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--store --shard 2/4 without --scan-id: exit $rc"
note "ok: history regressions (exit 1), none (exit 0), --since, CSV, usage errors (exit 2)"
if command -v chromium >/dev/null 2>&1; then
    timeout -k 5 90 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --user-data-dir="$WORK/chromium-profile" \
        --dump-dom "file://$WORK/h.html" >"$WORK/h.dom" 2>"$WORK/chromium.log" || fail "chromium could not render the history report"
    python3 "$HERE/check_history_html.py" "$WORK/h.dom" "$WORK/h.jsonl" || fail "history HTML against JSON"
else
    fail "chromium is not installed (scripts/deps.sh)"
fi
note "ok: store suite"
