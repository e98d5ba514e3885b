#!/usr/bin/env bash
# Compare two revisions of pqtls byte for byte on the same inputs, and
# (with --bench) time them against each other, interleaved.
#
#   scripts/compare-revs.sh [OPTIONS] OLD NEW        e.g.  12d8b6f HEAD
#
# Both revisions are checked out as git worktrees under a temporary
# directory and built there (cmake, Release; never in build/). Every input
# goes through both `pqtls` binaries, one after the other, with the same
# command line, the same working directory name and argv[0] "pqtls"; what
# is compared is standard output, standard error, the exit status and every
# file the command wrote (-o), byte for byte:
#
#   observe   every capture under ../shared/pcaps as JSON Lines (with the
#             summary on stderr), --format table, --format prom, and JSON
#             Lines and table with --pseudonym-key (a fixed 32-byte key); the
#             golden test's other inputs (tests/observe/test_golden.py): a
#             bare header, cuts, 24 corrupted copies (same generator and
#             seed), empty and garbage files, gzip from a file and from
#             stdin, several files as one capture, --families, --max-flows,
#             prom with -o, and its error cases. --pseudonymise (random key
#             per run) cannot be compared byte for byte and is left out.
#   recorded  one capture recorded by NEW's tests/observe/record.sh
#             (tcpdump of Chromium, curl, Node.js 24 against nginx/s_server
#             + pqtls; needs root), and captures written by observe_gen;
#             the SAME files go to both binaries. observe_gen of both
#             revisions must also write identical files.
#   scan      one live estate (NEW's tests/scan/estate.sh with the hostile
#             servers and NEW's pqtls.so in nginx), scanned by both binaries
#             with the estate test's and the demo's command lines: jsonl,
#             table, csv, html, a policy that passes and one that fails,
#             bad target lines, two shards, a target by name. Each scan runs
#             three times: OLD, NEW, and OLD again as a control (what differs
#             between two runs of the same binary is run-to-run variation).
#   cli       --help of the command and every subcommand, --version, and the
#             error messages and exit codes of bad command lines (the list of
#             tests/cli/test_cli.py and more); ML-KEM known answers (ACVP
#             seeds, so the outputs are deterministic).
#
# Normalisation, applied to scan outputs only (both sides; observe and cli
# outputs are compared exactly as written):
#   - "ms":N (target and probe durations)                    -> "ms":_
#   - the HTML report's generation time "YYYY-MM-DD HH:MM:SS UTC" -> <time>
#   - bytes_received -> _ of probes whose outcome is server_hello or hrr
#     (the server's ECDSA signature in CertificateVerify / ServerKeyExchange
#     is 70-72 bytes of DER, different in every handshake) and of probes
#     whose error is record_too_large or handshake_too_large (the hostile
#     servers hugelen and endless keep sending; how much had arrived when
#     the scanner gave up depends on how the reads fell). Every other probe
#     (alerts, closes, timeouts, other malformed answers) keeps its count.
#   - the order of records: targets are written as they finish, so JSON
#     Lines records, CSV rows, table rows, HTML target rows and stderr lines
#     are sorted (headers and footers stay where they are)
# and the one intended change (issue 9: one spelling everywhere), applied to
# OLD's scan outputs only and counted in the summary: TLS1.0..TLS1.3 ->
# TLSv1.0..TLSv1.3, SSL3.0 -> SSLv3.
#
# Options:
#   --work DIR    work directory (default: a new /tmp/pqtls-compare.XXXXXX);
#                 worktrees and builds already there at the right commits
#                 are reused
#   --keep        keep the work directory (default: worktrees and builds are
#                 removed; the outputs and diffs are kept if anything differs)
#   --no-record   skip the tcpdump recording (part "recorded" then uses only
#                 observe_gen captures)
#   --no-estate   skip the live scan comparison
#   --bench N     afterwards, N rounds of benchmarks, both builds in each,
#                 the order alternating (old new, new old, ...): per round
#                 `pqtls bench kem --iterations 3000 --format jsonl` twice per
#                 build (old new new old), then bench/observe_bench.sh BUILD
#                 --keep DIR --runs 5 (captures generated once) and
#                 bench/scan_bench.sh BUILD 2000 8000 once per build (NEW's
#                 copies of the two scripts for both builds; each build's
#                 own pqtls.so in nginx); then instructions of observe over a
#                 64 MiB capture under callgrind. Prints medians, new/old,
#                 and old/old (odd against even runs of old: the noise)
#   --bench-only  no comparison, only --bench (default N 10)
#
# Exit status: 0 when every input gave identical output (after the
# normalisation above), 1 when something differs, 2 for bad usage or when
# a revision does not build.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

WORK="" KEEP=0 RECORD=1 ESTATE=1 BENCH=0 COMPARE=1
while [ $# -gt 0 ]; do
    case "$1" in
    --work) WORK="$2"; shift ;;
    --keep) KEEP=1 ;;
    --no-record) RECORD=0 ;;
    --no-estate) ESTATE=0 ;;
    --bench) BENCH="$2"; shift ;;
    --bench-only) COMPARE=0 ;;
    -h | --help) usage ;;
    -*) echo "compare-revs: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
    shift
done
[ $# -eq 2 ] || usage
[ "$COMPARE" = 1 ] || [ "$BENCH" -gt 0 ] || BENCH=10
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(cd "$REPO/../shared" 2>/dev/null && pwd)" || {
    echo "compare-revs: $REPO/../shared (vectors, pcaps) is missing" >&2
    exit 2
}
OLD_SHA=$(git -C "$REPO" rev-parse --verify "$1^{commit}") || exit 2
NEW_SHA=$(git -C "$REPO" rev-parse --verify "$2^{commit}") || exit 2
OLD_NAME="$1 ($(git -C "$REPO" rev-parse --short "$OLD_SHA"))"
NEW_NAME="$2 ($(git -C "$REPO" rev-parse --short "$NEW_SHA"))"
[ -n "$WORK" ] || WORK="$(mktemp -d /tmp/pqtls-compare.XXXXXX)"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
NODE_MODULES="$REPO/node_modules"

ESTATE_STARTED=0
cleanup() {
    local rc=$?
    [ "$ESTATE_STARTED" = 0 ] || estate_stop
    if [ "$KEEP" = 0 ]; then
        for side in old new; do
            if [ -d "$WORK/src-$side" ]; then
                git -C "$REPO" worktree remove --force "$WORK/src-$side" 2>/dev/null || true
            fi
            rm -rf "$WORK/src-$side" "$WORK/build-$side" "$WORK/bin-$side"
        done
        git -C "$REPO" worktree prune
        rm -rf "$WORK/bench" "$WORK/record-work" "$WORK/estate"
        if [ -s "$WORK/different.txt" ]; then
            echo "outputs and diffs kept in $WORK (worktrees and builds removed)"
        else
            rm -rf "$WORK"
        fi
    else
        echo "work directory kept: $WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' INT TERM HUP

# ---------------------------------------------------------------- build
build() { # SIDE SHA
    local side="$1" sha="$2" src="$WORK/src-$1" bld="$WORK/build-$1"
    if [ -d "$src" ] && [ "$(git -C "$src" rev-parse HEAD 2>/dev/null)" != "$sha" ]; then
        git -C "$REPO" worktree remove --force "$src"
    fi
    if [ ! -d "$src" ]; then
        git -C "$REPO" worktree add --detach "$src" "$sha" >/dev/null 2>&1 || {
            echo "compare-revs: git worktree add $src $sha failed" >&2
            exit 2
        }
    fi
    # The estate and the recording find Node.js 24 in the tree's node_modules.
    if [ ! -e "$src/node_modules" ] && [ -d "$NODE_MODULES" ]; then
        ln -s "$NODE_MODULES" "$src/node_modules"
    fi
    echo "building $side ($sha) in $bld"
    if ! { cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DPQT_SHARED_DIR="$SHARED" &&
        cmake --build "$bld" -j "$(nproc)"; } >"$WORK/build-$side.log" 2>&1; then
        tail -n 30 "$WORK/build-$side.log" >&2
        echo "compare-revs: $side ($sha) does not build; log: $WORK/build-$side.log" >&2
        exit 2
    fi
    # argv[0] is "pqtls" for both: each side is run through PATH.
    mkdir -p "$WORK/bin-$side"
    ln -sf "$bld/bin/pqtls" "$WORK/bin-$side/pqtls"
}
build old "$OLD_SHA"
build new "$NEW_SHA"
BUILD_OLD="$WORK/build-old"
BUILD_NEW="$WORK/build-new"
SRC_NEW="$WORK/src-new"

# ---------------------------------------------------------------- running and comparing
OUT="$WORK/out"
NORM="$WORK/norm"
DIFFS="$WORK/diffs"
mkdir -p "$DIFFS"
TOTAL=0 SAME=0 CTL_TOTAL=0 CTL_SAME=0
declare -A PART_TOTAL PART_SAME
: >"$WORK/different.txt"
: >"$WORK/control-different.txt"
: >"$WORK/spelling.txt"

# run SIDE PART CASE ARGS...: `pqtls ARGS` of SIDE (old, new, or ctl = old
# again) in the directory OUT/SIDE/PART/CASE, standard input from $STDIN
# (default /dev/null), at most 300 s.
run() {
    local side="$1" part="$2" name="$3"
    shift 3
    local bin="$WORK/bin-$side" dir="$OUT/$side/$part/$name" rc=0
    [ "$side" != ctl ] || bin="$WORK/bin-old"
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$dir" && PATH="$bin:$PATH" exec timeout -k 5 300 pqtls "$@") \
        <"${STDIN:-/dev/null}" >"$dir/stdout" 2>"$dir/stderr" || rc=$?
    echo "$rc" >"$dir/status"
}

# compare PART CASE [scan]: diff OLD's and NEW's outputs of one case
# (normalised first for scan; with a control run, OLD against OLD too).
compare() {
    local part="$1" name="$2" kind="${3:-}" side
    for side in old new; do
        rm -rf "${NORM:?}/$side/$part/$name"
        mkdir -p "$NORM/$side/$part"
        cp -r "$OUT/$side/$part/$name" "$NORM/$side/$part/$name"
        if [ "$kind" = scan ]; then
            python3 "$WORK/norm_scan.py" "$NORM/$side/$part/$name" \
                "$([ "$side" = old ] && echo spelling || echo keep)" "$WORK/spelling.txt" "$side"
        fi
    done
    TOTAL=$((TOTAL + 1))
    PART_TOTAL[$part]=$((${PART_TOTAL[$part]:-0} + 1))
    if diff -ru "$NORM/old/$part/$name" "$NORM/new/$part/$name" >"$DIFFS/$part.$name.diff"; then
        SAME=$((SAME + 1))
        PART_SAME[$part]=$((${PART_SAME[$part]:-0} + 1))
        rm -f "$DIFFS/$part.$name.diff"
    else
        echo "$part/$name" >>"$WORK/different.txt"
    fi
    if [ -d "$OUT/ctl/$part/$name" ]; then
        CTL_TOTAL=$((CTL_TOTAL + 1))
        # The control was not given the spelling rewrite (same binary):
        # redo OLD without it for this diff.
        rm -rf "$NORM/ctl-old/$part/$name"
        mkdir -p "$NORM/ctl-old/$part"
        cp -r "$OUT/old/$part/$name" "$NORM/ctl-old/$part/$name"
        python3 "$WORK/norm_scan.py" "$NORM/ctl-old/$part/$name" keep /dev/null ctl-old
        rm -rf "$NORM/ctl/$part/$name"
        mkdir -p "$NORM/ctl/$part"
        cp -r "$OUT/ctl/$part/$name" "$NORM/ctl/$part/$name"
        python3 "$WORK/norm_scan.py" "$NORM/ctl/$part/$name" keep /dev/null ctl
        if diff -ru "$NORM/ctl-old/$part/$name" "$NORM/ctl/$part/$name" >"$DIFFS/control.$part.$name.diff"; then
            CTL_SAME=$((CTL_SAME + 1))
            rm -f "$DIFFS/control.$part.$name.diff"
        else
            echo "$part/$name" >>"$WORK/control-different.txt"
        fi
    fi
}

# both PART CASE ARGS...: run OLD then NEW on the same command line, compare.
both() {
    local part="$1" name="$2"
    shift 2
    run old "$part" "$name" "$@"
    run new "$part" "$name" "$@"
    compare "$part" "$name"
}

# The scan normaliser (see the header of this script for the rules).
cat >"$WORK/norm_scan.py" <<'EOF'
import os, re, sys
d, mode, tally, side = sys.argv[1:5]
spell = 0
def spelling(t):
    global spell
    t, n1 = re.subn(r"\bTLS1\.([0-3])\b", r"TLSv1.\1", t)
    t, n2 = re.subn(r"\bSSL3\.0\b", "SSLv3", t)
    spell += n1 + n2
    return t
VARIES = re.compile(r'"outcome":"(?:server_hello|hrr)"|"error":"(?:record_too_large|handshake_too_large)"')
def bytes_received(line):
    # Each probe object runs from {"name": to its "bytes_received" (alert
    # objects start with {"code":, so they never match the start).
    def one(m):
        return m.group(1) + ("_" if VARIES.search(m.group(1)) else m.group(2))
    return re.sub(r'(\{"name":"[^"]*","outcome":(?:(?!"bytes_received":).)*"bytes_received":)(\d+)', one, line)
def sort_block(lines, start, pred):
    i = start
    while i < len(lines) and not pred(lines[i]):
        i += 1
    j = i
    while j < len(lines) and pred(lines[j]):
        j += 1
    lines[i:j] = sorted(lines[i:j])
    return lines
for root, _, files in os.walk(d):
    for f in files:
        p = os.path.join(root, f)
        if f == "status":
            continue
        t = open(p, encoding="utf-8", errors="surrogateescape").read()
        if mode == "spelling":
            t = spelling(t)
        lines = t.split("\n")
        if t.startswith('{"schema":"pqtls-scan'):
            lines = [bytes_received(re.sub(r'"ms":\d+', '"ms":_', l)) for l in lines]
            lines = sorted(l for l in lines if l) + [""]
        elif t.startswith("schema,target,"):
            lines = lines[:1] + sorted(l for l in lines[1:] if l) + [""]
        elif t.startswith("TARGET "):
            lines = lines[:1] + sort_block(lines[1:], 0, lambda l: l != "")
        elif t.startswith("<!DOCTYPE html>"):
            lines = [re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "<time>", l) for l in lines]
            lines = sort_block(lines, 0, lambda l: l.startswith('<tr class="target"'))
        elif f == "stderr":
            lines = sorted(l for l in lines if l) + [""]
        open(p, "w", encoding="utf-8", errors="surrogateescape").write("\n".join(lines))
if spell:
    with open(tally, "a") as out:
        out.write("%s %s %d\n" % (side, d, spell))
EOF

summary_part() {
    local part="$1"
    printf '  %-9s %4d inputs, %4d identical, %d different\n' "$part" "${PART_TOTAL[$part]:-0}" \
        "${PART_SAME[$part]:-0}" $((${PART_TOTAL[$part]:-0} - ${PART_SAME[$part]:-0}))
}

INPUTS="$WORK/inputs"
mkdir -p "$INPUTS"
PCAPS="$SHARED/pcaps"

compare_observe() {
    echo "== observe: every capture under $PCAPS, and the golden test's other inputs"
    local f n caps=()
    while IFS= read -r f; do caps+=("$f"); done < <(find "$PCAPS" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | LC_ALL=C sort)
    # The golden test's generated inputs, with its generator and seed.
    python3 - "$PCAPS" "$INPUTS" <<'EOF'
import gzip, os, random, sys
P, D = sys.argv[1], sys.argv[2]
src = os.path.join(P, "arkime/tls-split-client-hello.pcap")
data = open(src, "rb").read()
open(os.path.join(D, "hdr.pcap"), "wb").write(data[:24])
for cut in (10, 23, 40, 200, 1500, 2200, len(data) // 2, len(data) - 7):
    open(os.path.join(D, "cut-%d.pcap" % cut), "wb").write(data[:cut])
open(os.path.join(D, "cut-in-ch.pcap"), "wb").write(data[:1800])
rng = random.Random(5)
corpus = [os.path.join(P, f) for f in ("arkime/tls-split-client-hello.pcap", "foxio-ja4/pcap/tls-handshake.pcapng",
                                       "ndpi/pcap/tls_with_huge_ch.pcapng", "zeek/traces/tls/hrr.pcap")]
for i in range(24):
    d = bytearray(open(corpus[i % len(corpus)], "rb").read())
    for _ in range(1 + i % 20):
        pos = rng.randrange(24 if i % 3 else 0, len(d))
        d[pos] = rng.randrange(256)
    open(os.path.join(D, "corrupt-%d" % i), "wb").write(bytes(d))
for name, blob in (("empty", b""), ("garbage", bytes(rng.randrange(256) for _ in range(5000)))):
    open(os.path.join(D, name), "wb").write(blob)
with open(os.path.join(D, "tls3.pcapng.gz"), "wb") as raw:
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(open(os.path.join(P, "foxio-ja4/pcap/tls3.pcapng"), "rb").read())
open(os.path.join(D, "key"), "wb").write(bytes(range(32)))
open(os.path.join(D, "key-short"), "wb").write(bytes(range(8)))
open(os.path.join(D, "families"), "w").write(
    "# test\nt13d1516h2_8daaf6152771_02713d6af862  Test Browser 1\nt00d0309*  Fizz\n")
open(os.path.join(D, "families-bad"), "w").write("nonsense\n")
EOF
    local key="$INPUTS/key"
    for f in "${caps[@]}"; do
        n="${f#"$PCAPS"/}"
        n="${n//\//_}"
        both observe "$n.jsonl" observe "$f"
        both observe "$n.table" observe -q --format table "$f"
        both observe "$n.prom" observe -q --format prom "$f"
        both observe "$n.pseudo.jsonl" observe -q --pseudonym-key "$key" "$f"
        both observe "$n.pseudo.table" observe -q --format table --pseudonym-key "$key" "$f"
    done
    echo "  $(( ${#caps[@]} * 5 )) runs over ${#caps[@]} captures"
    # Damaged input: reported, never a crash; the same records and messages.
    local damaged=(hdr.pcap empty garbage)
    for f in "$INPUTS"/cut-*.pcap; do damaged+=("$(basename "$f")"); done
    for f in "${damaged[@]}"; do
        both observe "damaged.$f" observe "$INPUTS/$f"
    done
    for i in $(seq 0 23); do
        both observe "damaged.corrupt-$i" observe "$INPUTS/corrupt-$i"
        both observe "damaged.corrupt-$i.table" observe --format table "$INPUTS/corrupt-$i"
    done
    local sites="$PCAPS/ndpi/pcap/sites.pcapng" split="$PCAPS/arkime/tls-split-client-hello.pcap"
    both observe gzip-file observe -q "$INPUTS/tls3.pcapng.gz"
    STDIN="$INPUTS/tls3.pcapng.gz" both observe gzip-stdin observe -q -
    STDIN="$split" both observe pcap-stdin observe -
    both observe two-files observe -q "$PCAPS/zeek/traces/tls/hrr.pcap" "$PCAPS/arkime/tls13.pcap"
    both observe all-files.jsonl observe "${caps[@]}"
    both observe all-files.table observe -q --format table "${caps[@]}"
    both observe all-files.prom observe -q --format prom "${caps[@]}"
    both observe prom-to-file observe -q --format prom -o observe.prom "$sites"
    both observe table-to-file observe -q --format table -o observe.txt "$sites"
    both observe jsonl-to-file observe -o observe.jsonl "$sites"
    both observe families-exact observe -q --families "$INPUTS/families" "$split"
    both observe families-prefix observe -q --families "$INPUTS/families" "$PCAPS/ndpi/pcap/tls_2_reasms.pcapng"
    both observe families-bad observe --families "$INPUTS/families-bad" "$split"
    both observe families-missing observe --families "$INPUTS/no-such-families" "$split"
    both observe max-flows observe --max-flows 2 "$sites"
    both observe max-flows-q observe -q --max-flows 2 "$sites"
    both observe max-buffer observe --max-buffer 1 "$PCAPS/ndpi/pcap/tls_with_huge_ch.pcapng"
    both observe timeout observe --timeout 1 "$sites"
    both observe prefixes observe -q --prefix-v4 16 --prefix-v6 32 "$sites"
    both observe prefix-bad observe --prefix-v4 33 "$sites"
    both observe max-flows-abc observe --max-flows abc "$sites"
    both observe max-flows-neg observe --max-flows -1 "$sites"
    both observe format-bad observe --format xml "$sites"
    both observe frobnicate observe --frobnicate "$split"
    both observe no-input observe
    both observe no-input-q observe -q
    both observe missing-file observe "$INPUTS/does-not-exist.pcap"
    both observe key-missing observe --pseudonym-key "$INPUTS/no-such-key" "$sites"
    both observe key-short observe --pseudonym-key "$INPUTS/key-short" "$sites"
    both observe output-unwritable observe -o /nonexistent-dir/out.jsonl "$sites"
    both observe iface-missing observe -i pqtls-no-such-if0 --count 1
    both observe help observe --help
}

compare_recorded() {
    echo "== recorded captures: the same files through both binaries"
    local f n caps=()
    if [ "$RECORD" = 1 ]; then
        mkdir -p "$INPUTS/recorded"
        echo "  recording with $SRC_NEW/tests/observe/record.sh (tcpdump on lo, real clients)"
        if PQT_RECORD_KEEP="$INPUTS/recorded" bash "$SRC_NEW/tests/observe/record.sh" \
            "$BUILD_NEW/lib/pqtls.so" "$BUILD_NEW/bin/tls_poke" "$WORK/record-work" \
            "$BUILD_NEW/bin/pqtls" >"$WORK/record.log" 2>&1; then
            caps+=("$INPUTS/recorded/recorded.pcap")
        else
            tail -n 20 "$WORK/record.log" >&2
            echo "compare-revs: the recording failed (log: $WORK/record.log)" >&2
            exit 2
        fi
    fi
    # observe_gen (bench/observe_gen.c) of both revisions: same arguments,
    # the files must be identical; NEW's files go to both observers.
    local spec seed mib conc
    for spec in "1 8 64" "2 4 1" "3 4 200" "7 2 16"; do
        read -r seed mib conc <<<"$spec"
        n="gen-s$seed-m$mib-c$conc.pcap"
        "$BUILD_OLD/bin/observe_gen" "$INPUTS/old-$n" "$mib" --seed "$seed" --concurrency "$conc" >"$INPUTS/old-$n.info"
        "$BUILD_NEW/bin/observe_gen" "$INPUTS/$n" "$mib" --seed "$seed" --concurrency "$conc" >"$INPUTS/$n.info"
        TOTAL=$((TOTAL + 1))
        PART_TOTAL[recorded]=$((${PART_TOTAL[recorded]:-0} + 1))
        if cmp -s "$INPUTS/old-$n" "$INPUTS/$n" && cmp -s "$INPUTS/old-$n.info" "$INPUTS/$n.info"; then
            SAME=$((SAME + 1))
            PART_SAME[recorded]=$((${PART_SAME[recorded]:-0} + 1))
        else
            echo "recorded/observe_gen-$n (generator output)" >>"$WORK/different.txt"
            cmp "$INPUTS/old-$n" "$INPUTS/$n" >"$DIFFS/recorded.observe_gen-$n.diff" 2>&1 || true
        fi
        rm -f "$INPUTS/old-$n"
        caps+=("$INPUTS/$n")
    done
    for f in "${caps[@]}"; do
        n=$(basename "$f")
        both recorded "$n.jsonl" observe "$f"
        both recorded "$n.table" observe -q --format table "$f"
        both recorded "$n.prom" observe -q --format prom "$f"
        both recorded "$n.pseudo.jsonl" observe -q --pseudonym-key "$INPUTS/key" "$f"
    done
}

# scan_case CASE ARGS...: OLD, NEW, then OLD again (control), compared
# after the scan normalisation.
scan_case() {
    local name="$1"
    shift
    run old scan "$name" "$@"
    run new scan "$name" "$@"
    run ctl scan "$name" "$@"
    compare scan "$name" scan
}

compare_scan() {
    echo "== scan: one live estate (hostile servers included), scanned by both binaries"
    # shellcheck disable=SC2034 # read by estate.sh
    ESTATE_LIFETIME=900
    # shellcheck source=../tests/scan/estate.sh
    source "$SRC_NEW/tests/scan/estate.sh"
    ESTATE_STARTED=1
    estate_start "$BUILD_NEW" "$WORK/estate" hostile >"$WORK/estate.log" 2>&1 || {
        cat "$WORK/estate.log" >&2
        echo "compare-revs: the estate did not start" >&2
        exit 2
    }
    [ "$ESTATE_HAVE_NGINX" = 1 ] || echo "  note: $(cat "$WORK/estate.log")"
    local targets="$WORK/estate/targets.txt" T=2500 f
    cp "$targets" "$INPUTS/targets.txt"
    # tests/scan/test_estate.sh's command lines
    local S=(scan --targets "$targets" --timeout "$T" --split-gap 200 --no-progress)
    scan_case estate.jsonl "${S[@]}" -o scan.jsonl
    scan_case estate.csv "${S[@]}" --format csv -o scan.csv
    scan_case estate.html "${S[@]}" --format html -o report.html
    scan_case estate.table "${S[@]}" --format table
    scan_case estate.jsonl-stdout "${S[@]}"
    # scripts/demo.sh's
    local D=(scan --targets "$targets" --timeout 3000 --split-gap 200 --no-progress)
    scan_case demo.table "${D[@]}" --format table
    printf '%s\n' '*,node24.test     supported' '*,nginx-*.test    supported' \
        '*,middlebox.test  supported  no-segmentation-intolerant' >"$INPUTS/demo.policy"
    scan_case demo.policy "${D[@]}" -o /dev/null --policy "$INPUTS/demo.policy"
    # policies
    printf '%s\n' '*,node24.test        preferred' '*,legacy-kyber.test  none' \
        '*                    none no-broken-hybrid' >"$INPUTS/ok.policy"
    printf '%s\n' '*,node24.test  required' '*              supported no-legacy-kyber' >"$INPUTS/strict.policy"
    local P=(scan --targets "$targets" --timeout "$T" --no-progress --probes "browser,x25519mlkem768,hrr-preference,classical")
    scan_case policy-ok "${P[@]}" -o /dev/null --policy "$INPUTS/ok.policy"
    scan_case policy-strict "${P[@]}" -o /dev/null --policy "$INPUTS/strict.policy"
    scan_case policy-strict.jsonl "${P[@]}" -o policy.jsonl --policy "$INPUTS/strict.policy"
    # bad target lines: reported, skipped, exit 2
    {
        head -n 3 "$targets"
        echo "bad host name!"
        echo "127.0.0.1:99999"
        sed -n '4,5p' "$targets"
    } >"$INPUTS/mixed.txt"
    scan_case mixed scan --targets "$INPUTS/mixed.txt" --no-progress --probes classical --timeout "$T" -o mixed.jsonl
    for f in 1 2; do
        scan_case "shard$f" scan --targets "$targets" --shard "$f/2" --probes classical --timeout "$T" --no-progress -o shard.jsonl
    done
    local tls12
    tls12=$(grep ',tls12.test' "$targets" | cut -d, -f1)
    scan_case byname scan "localhost:${tls12#127.0.0.1:},byname.test" --probes classical --timeout "$T" --no-progress
    STDIN="$targets" scan_case targets-stdin.csv scan --targets - --timeout "$T" --split-gap 200 --no-progress --format csv
    estate_stop
    ESTATE_STARTED=0
}

# ACVP values for the known-answer and error cases (as tests/cli/test_cli.py).
acvp_values() {
    python3 - "$SHARED/vectors/nist-acvp" "$INPUTS/acvp" <<'EOF'
import json, os, sys
A, D = sys.argv[1], sys.argv[2]
os.makedirs(D, exist_ok=True)
def groups(n):
    return json.load(open(os.path.join(A, n, "internalProjection.json")))["testGroups"]
def put(name, v):
    open(os.path.join(D, name), "w").write(v)
for g in groups("ML-KEM-keyGen-FIPS203"):
    t = g["tests"][0]
    put("seed-" + g["parameterSet"], t["d"] + t["z"])
    if g["parameterSet"] == "ML-KEM-768":
        put("ek", t["ek"]); put("dk", t["dk"])
for g in groups("ML-KEM-encapDecap-FIPS203"):
    t = g["tests"][0]
    ps = g["parameterSet"]
    if g["function"] == "encapsulation":
        put("enc-ek-" + ps, t["ek"]); put("enc-m-" + ps, t["m"])
        if ps == "ML-KEM-768":
            put("ct", t["c"])
    elif g["function"] == "decapsulation" and g.get("keyFormat") == "expanded":
        put("dec-dk-" + ps, t["dk"]); put("dec-ct-" + ps, t["c"])
open(os.path.join(D, "bad.hex"), "w").write("abcd\nab#d\n")
EOF
}

compare_cli() {
    echo "== cli: help texts, known answers, error messages and exit codes"
    acvp_values
    local a="$INPUTS/acvp" alg t
    v() { cat "$a/$1"; }
    both cli help --help
    both cli help-h -h
    both cli help-cmd help
    for t in scan observe kem bench; do
        both cli "help-$t" help "$t"
        both cli "$t--help" "$t" --help
    done
    both cli bench-kem--help bench kem --help
    both cli help-bogus help bogus
    both cli version --version
    both cli version-V -V
    both cli no-args
    both cli unknown-command frobnicate
    both cli kem-unknown-subcommand kem frobnicate
    for alg in ML-KEM-512 ML-KEM-768 ML-KEM-1024; do
        both cli "keygen-$alg" kem keygen --alg "$alg" --seed "$(v "seed-$alg")"
        both cli "keygen-$alg-portable" kem keygen --alg "$alg" --seed "$(v "seed-$alg")" --backend portable
        both cli "encaps-$alg" kem encaps --alg "$alg" --ek "$(v "enc-ek-$alg")" --m "$(v "enc-m-$alg")"
        [ ! -e "$a/dec-dk-$alg" ] ||
            both cli "decaps-$alg" kem decaps --alg "$alg" --dk "$(v "dec-dk-$alg")" --ct "$(v "dec-ct-$alg")"
    done
    local ek dk seed h bad_dk
    ek=$(v ek) dk=$(v dk) seed=$(v seed-ML-KEM-768)
    both cli ek-bad-hex kem encaps --alg 768 --ek "${ek:0:10}zz${ek:12}"
    both cli ek-odd kem encaps --alg 768 --ek "${ek:0:${#ek}-1}"
    both cli ek-short kem encaps --alg 768 --ek "${ek:0:${#ek}-2}"
    both cli ek-wrong-alg kem encaps --alg 1024 --ek "$ek"
    both cli seed-short kem keygen --alg 768 --seed "${seed:0:${#seed}-4}"
    both cli alg-unknown kem encaps --alg ML-KEM-769 --ek "$ek"
    both cli ek-missing kem encaps --alg 768
    both cli alg-missing kem keygen
    both cli ct-missing kem decaps --alg 768 --dk "$dk"
    both cli kem-bogus-option kem encaps --alg 768 --ek "$ek" --bogus
    both cli backend-unknown kem encaps --alg 768 --ek "$ek" --backend sse9
    both cli ek-bad-file kem encaps --alg 768 --ek "@$a/bad.hex"
    both cli ek-modulus kem encaps --alg 768 --ek "ffff${ek:4}"
    h=$((2 * (1152 + 1184)))
    if [ "${dk:$h:1}" != 0 ]; then bad_dk="${dk:0:$h}0${dk:$h+1}"; else bad_dk="${dk:0:$h}1${dk:$h+1}"; fi
    both cli dk-hash kem decaps --alg 768 --dk "$bad_dk" --ct "$(v ct)"
    both cli ek-file-missing kem encaps --alg 768 --ek "@$INPUTS/missing.hex"
    both cli bench-iterations-0 bench kem --iterations 0
    both cli bench-format-xml bench kem --format xml
    both cli bench-alg-bogus bench kem --alg bogus
    both cli bench-backend-bogus bench kem --backend bogus
    both cli bench-no-sub bench
    both cli bench-unknown bench frobnicate
    both cli scan-no-targets scan
    both cli scan-format-bad scan --format xml 127.0.0.1:1
    both cli scan-shard-bad scan --shard 3/2 127.0.0.1:1
    both cli scan-shard-syntax scan --shard x 127.0.0.1:1
    both cli scan-concurrency-0 scan --concurrency 0 127.0.0.1:1
    both cli scan-timeout-abc scan --timeout abc 127.0.0.1:1
    both cli scan-probes-bogus scan --probes bogus 127.0.0.1:1
    both cli scan-policy-missing scan --policy "$INPUTS/no-such.policy" 127.0.0.1:1
    both cli scan-targets-missing scan --targets "$INPUTS/no-such-targets.txt"
    both cli scan-bogus-option scan --bogus 127.0.0.1:1
    both cli scan-bad-target scan --no-progress "bad host name!"
    both cli scan-bad-port scan --no-progress 127.0.0.1:99999
}

# ---------------------------------------------------------------- benchmarks
# One round: bench kem twice per side (ABBA), then observe_bench.sh and
# scan_bench.sh once per side, the side order alternating from round to
# round (old new, new old, ...), so that drift in the machine's load falls
# on both sides alike.
bench_kem() { # SIDE ROUND K
    "$WORK/build-$1/bin/pqtls" bench kem --iterations 3000 --format jsonl >"$WORK/bench/kem-$1-$2-$3.jsonl"
}
bench_tools() { # SIDE ROUND
    local side="$1" r="$2" bld="$WORK/build-$1" b="$WORK/bench"
    bash "$SRC_NEW/bench/observe_bench.sh" "$bld" --keep "$b/obs" --runs 5 >"$b/obs-$side-$r.txt" 2>&1 || {
        cat "$b/obs-$side-$r.txt" >&2
        exit 2
    }
    bash "$SRC_NEW/bench/scan_bench.sh" "$bld" 2000 8000 >"$b/scan-$side-$r.txt" 2>&1 || {
        cat "$b/scan-$side-$r.txt" >&2
        exit 2
    }
}

run_bench() {
    local n="$1" r first second b="$WORK/bench"
    mkdir -p "$b"
    echo "== benchmarks: $n rounds, interleaved (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    for r in $(seq 1 "$n"); do
        if [ $((r % 2)) = 1 ]; then first=old second=new; else first=new second=old; fi
        echo "  round $r: $first then $second"
        bench_kem "$first" "$r" 1
        bench_kem "$second" "$r" 1
        bench_kem "$second" "$r" 2
        bench_kem "$first" "$r" 2
        bench_tools "$first" "$r"
        bench_tools "$second" "$r"
    done
    echo "  (load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
    # Instructions, which the machine's load does not change: observe over
    # a 64 MiB capture (observe_gen --seed 1) under callgrind.
    "$BUILD_NEW/bin/observe_gen" "$b/slice-64.pcap" 64 --seed 1 >/dev/null
    local side
    for side in old new; do
        valgrind --tool=callgrind --callgrind-out-file=/dev/null \
            "$WORK/build-$side/bin/pqtls" observe -q "$b/slice-64.pcap" >/dev/null 2>"$b/callgrind-$side.txt"
    done
    python3 - "$b" "$n" "$OLD_NAME" "$NEW_NAME" <<'EOF'
import glob, json, re, statistics, sys
b, n, old_name, new_name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
med = statistics.median
def runs(pattern):
    # files in round order (round, then repetition)
    key = lambda f: [int(x) for x in re.findall(r"-(\d+)", f.rsplit("/", 1)[1])]
    return sorted(glob.glob(pattern), key=key)
def noise(v):
    # old against old: median of the even-numbered runs / the odd-numbered
    return med(v[1::2]) / med(v[0::2]) if len(v) > 1 else float("nan")
print("\nold = %s, new = %s; %d rounds\n" % (old_name, new_name, n))
print("'old/old' is the same statistic between the odd- and the even-numbered")
print("runs of old: what noise alone gives.\n")
kem = {}
for side in ("old", "new"):
    for f in runs("%s/kem-%s-*.jsonl" % (b, side)):
        for line in open(f):
            o = json.loads(line)
            kem.setdefault((o["alg"], o["backend"], o["op"]), {}).setdefault(side, []).append(o["median_ticks"])
k0 = next(iter(kem))
print("pqtls bench kem --iterations 3000 --format jsonl: median over %d runs per side of each run's"
      " median ticks per call\n" % len(kem[k0]["old"]))
print("| alg | backend | op | old | new | new/old | old/old |")
print("|---|---|---|---:|---:|---:|---:|")
rs, ns = [], []
ops = ["keygen", "encaps", "decaps", "keygen-eph", "decaps-eph"]
for k in sorted(kem, key=lambda k: (int(k[0][7:]), k[1] != "portable", ops.index(k[2]))):
    o, nw = med(kem[k]["old"]), med(kem[k]["new"])
    rs.append(nw / o)
    ns.append(noise(kem[k]["old"]))
    print("| %s | %s | %s | %s | %s | %.3f | %.3f |" % (k[0], k[1], k[2], format(round(o), ","),
                                                      format(round(nw), ","), nw / o, ns[-1]))
def gmean(v):
    p = 1.0
    for x in v:
        p *= x
    return p ** (1 / len(v))
print("\ngeometric mean of the %d new/old ratios: %.3f (%.3f-%.3f); of old/old: %.3f (%.3f-%.3f)\n"
      % (len(rs), gmean(rs), min(rs), max(rs), gmean(ns), min(ns), max(ns)))
obs = {}
sizes = {}
for side in ("old", "new"):
    for f in runs("%s/obs-%s-*.txt" % (b, side)):
        t = open(f).read()
        for m in re.finditer(r"observe -q (\S+) >/dev/null \((\d+) bytes\)", t):
            sizes[m.group(1)] = int(m.group(2))
        cpu = re.findall(r"CPU s: ([0-9. ]+)", t)
        wall = re.findall(r"wall s: ([0-9. ]+)", t)
        rss = re.findall(r"median .* max RSS (\d+) KiB", t)
        for i, which in enumerate(("whole", "slice")):
            obs.setdefault((which, "CPU s"), {}).setdefault(side, []).extend(float(x) for x in cpu[i].split())
            obs.setdefault((which, "wall s"), {}).setdefault(side, []).extend(float(x) for x in wall[i].split())
            obs.setdefault((which, "max RSS MB"), {}).setdefault(side, []).append(int(rss[i]) / 1024)
names = sorted(sizes, key=lambda x: -sizes[x])
print("bench/observe_bench.sh BUILD --keep DIR --runs 5: %d CPU timings per capture and side"
      " (whole: %s, %s bytes; slice: %s, %s bytes)\n"
      % (len(obs[("whole", "CPU s")]["old"]), names[0], format(sizes[names[0]], ","), names[1], format(sizes[names[1]], ",")))
print("| capture | measure | old | new | new/old | old/old |")
print("|---|---|---:|---:|---:|---:|")
for which in ("whole", "slice"):
    for m in ("CPU s", "wall s", "max RSS MB"):
        v = obs[(which, m)]
        o, nw = med(v["old"]), med(v["new"])
        print("| %s | %s | %.3f | %.3f | %.3f | %.3f |" % (which, m, o, nw, nw / o, noise(v["old"])))
ir = {}
for side in ("old", "new"):
    m = re.search(r"Collected : (\d+)", open("%s/callgrind-%s.txt" % (b, side)).read())
    ir[side] = int(m.group(1)) if m else 0
if ir["old"] and ir["new"]:
    print("\ninstructions, pqtls observe -q slice-64.pcap under callgrind: old %s, new %s, new/old %.3f\n"
          % (format(ir["old"], ","), format(ir["new"], ","), ir["new"] / ir["old"]))
sc = {}
pat = re.compile(r"(\d+) targets:\s+([0-9.]+) s,\s+(\d+) probes/s, (\d+) verified hybrid, max RSS ([0-9.]+) MB, scanner CPU (\d+) us/probe")
for side in ("old", "new"):
    for f in runs("%s/scan-%s-*.txt" % (b, side)):
        for m in pat.finditer(open(f).read()):
            nt = int(m.group(1))
            sc.setdefault((nt, "probes/s"), {}).setdefault(side, []).append(float(m.group(3)))
            sc.setdefault((nt, "scanner CPU us/probe"), {}).setdefault(side, []).append(float(m.group(6)))
            sc.setdefault((nt, "max RSS MB"), {}).setdefault(side, []).append(float(m.group(5)))
print("bench/scan_bench.sh BUILD 2000 8000: %d runs per side\n" % len(sc[min(sc)]["old"]))
print("| targets | measure | old | new | new/old | old/old |")
print("|---|---|---:|---:|---:|---:|")
for k in sorted(sc, key=lambda k: (k[0], ["probes/s", "scanner CPU us/probe", "max RSS MB"].index(k[1]))):
    o, nw = med(sc[k]["old"]), med(sc[k]["new"])
    print("| %s | %s | %.1f | %.1f | %.3f | %.3f |" % (format(k[0], ","), k[1], o, nw, nw / o, noise(sc[k]["old"])))
EOF
}

# ---------------------------------------------------------------- main
if [ "$COMPARE" = 1 ]; then
    echo "comparing old = $OLD_NAME with new = $NEW_NAME; outputs in $OUT"
    compare_observe
    compare_recorded
    if [ "$ESTATE" = 1 ]; then compare_scan; fi
    compare_cli
    echo
    echo "== summary: $TOTAL inputs compared, $SAME identical, $((TOTAL - SAME)) different"
    for part in observe recorded scan cli; do
        [ -z "${PART_TOTAL[$part]:-}" ] || summary_part "$part"
    done
    if [ "$ESTATE" = 1 ]; then
        echo "  scan control (OLD run twice, after normalisation): $CTL_TOTAL scans, $CTL_SAME identical"
        if [ -s "$WORK/control-different.txt" ]; then
            echo "  run-to-run variation the normalisation does not cover:"
            sed 's/^/    /' "$WORK/control-different.txt"
        fi
        spelled=$(awk '$1 == "old" {s += $3} END {print s + 0}' "$WORK/spelling.txt")
        echo "  intended change: $spelled version names in OLD's scan outputs respelled (TLS1.x -> TLSv1.x, SSL3.0 -> SSLv3)"
    fi
    if [ -s "$WORK/different.txt" ]; then
        echo
        echo "== differences (full diffs in $DIFFS)"
        while IFS= read -r c; do
            echo "--- $c"
            f="${c%% *}"
            f="$DIFFS/${f/\//.}.diff"
            [ ! -f "$f" ] || head -n 40 "$f" | cut -c1-240
        done <"$WORK/different.txt"
    fi
fi
if [ "$BENCH" -gt 0 ]; then
    run_bench "$BENCH"
fi
[ ! -s "$WORK/different.txt" ]
