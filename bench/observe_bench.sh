#!/usr/bin/env bash
# pqtls observe throughput on a generated handshake-heavy capture, and
# tshark extracting the same fields from a slice of it.
#
#   bench/observe_bench.sh BUILD_DIR [--mib 1100] [--runs 5] [--slice-mib 256]
#                          [--tshark-runs 3] [--keep DIR] [--pqtls PATH]
#   bench/observe_bench.sh BUILD_DIR --collide [--mib 256] [--concurrency 4096]
#                          [--runs 5] [--keep DIR] [--pqtls PATH]
#   bench/observe_bench.sh BUILD_DIR --quic [--mib 400] [--slice-mib 100] [--runs 5]
#                          [--tshark-runs 3] [--keep DIR] [--pqtls PATH]
#   bench/observe_bench.sh BUILD_DIR --interleave OLD_PQTLS [--mib 256] [--runs 5]
#                          [--keep DIR]
#
# BUILD_DIR holds bin/pqtls and bin/observe_gen (bench/observe_gen.c). The
# captures are generated in a fresh temporary directory ($TMPDIR or /tmp)
# and deleted at the end (--keep DIR: generate once into DIR and reuse).
# --pqtls PATH times another build's pqtls on the same captures.
# --collide: the flow table under colliding flows instead. Two captures of
# the same size and traffic with --concurrency connections open at once,
# one normal, one whose flows all share one bucket of the old unkeyed flow
# hash (observe_gen --collide); median CPU time of each and the ratio
# colliding / normal. Nothing else is run. Otherwise reported:
#   - pqtls observe (JSON Lines to /dev/null, so the records are formatted):
#     median CPU time (user + system, /usr/bin/time -v) of --runs runs over
#     the whole capture, GB/s per core (10^9 bytes of capture file per CPU
#     second), the median wall time beside it (it includes waiting for a
#     core when the machine is shared), max RSS;
#   - the same over the slice, and the max RSS there (memory must be flat
#     in the capture size);
#   - tshark -T fields (TCP reassembly on, as by default) over the slice:
#     frame.time, ip.src/dst, tcp ports, tls.handshake.type, SNI, supported
#     groups, key_share groups, alert description -- the fields observe
#     reports that Debian 12's tshark has (no ja4) -- and the ratio of the
#     two per byte. Skipped with a note when tshark is not installed.
# --quic: QUIC handshakes instead (observe_gen --quic: two client Initials
# with a hybrid ClientHello, the server's Initial and Handshake packets,
# alerts, silent servers): bin/quic_bench's Initial decryption alone (keys
# derived per connection and opening, and opening alone), then pqtls
# observe over the capture (GB/s of capture and of its Initial packets per
# core, max RSS) and over the slice (memory flat), and tshark over the
# slice (it decrypts Initial packets too: quic.frame_type,
# tls.handshake.type, SNI, groups) with the ratio per byte.
# --interleave OLD_PQTLS: the TCP capture timed with OLD_PQTLS and this
# build's pqtls alternately, --runs times each, medians and the ratio
# (new / old): a change's effect on the TCP path under the same load.
# One process at a time; the machine's other load is not controlled.
set -euo pipefail
[ $# -ge 1 ] || {
    sed -n '2,47p' "$0" >&2
    exit 2
}
BUILD="$(cd "$1" && pwd)"
shift
MIB='' RUNS=5 SLICE='' TRUNS=3 KEEP='' PQTLS='' COLLIDE='' CONC=4096 QUIC='' OLD=''
while [ $# -gt 0 ]; do
    case "$1" in
    --quic)
        QUIC=1
        shift
        continue
        ;;
    --interleave) OLD="$2" ;;
    --collide)
        COLLIDE=1
        shift
        continue
        ;;
    --concurrency) CONC="$2" ;;
    --pqtls) PQTLS="$2" ;;
    --mib) MIB="$2" ;;
    --runs) RUNS="$2" ;;
    --slice-mib) SLICE="$2" ;;
    --tshark-runs) TRUNS="$2" ;;
    --keep) KEEP="$2" ;;
    *)
        echo "observe_bench: unknown option $1" >&2
        exit 2
        ;;
    esac
    shift 2
done
if [ -z "$MIB" ]; then
    MIB=1100
    [ -z "$COLLIDE" ] || MIB=256
    [ -z "$QUIC" ] || MIB=400
    [ -z "$OLD" ] || MIB=256
fi
if [ -z "$SLICE" ]; then
    SLICE=256
    [ -z "$QUIC" ] || SLICE=100
fi
PQTLS="${PQTLS:-$BUILD/bin/pqtls}"
GEN="$BUILD/bin/observe_gen"
for f in "$PQTLS" "$GEN"; do
    [ -x "$f" ] || {
        echo "observe_bench: $f is missing; build with cmake --build $BUILD" >&2
        exit 2
    }
done
[ -x /usr/bin/time ] || {
    echo "observe_bench: /usr/bin/time is missing (Debian package time)" >&2
    exit 2
}

if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    DIR="$(cd "$KEEP" && pwd)"
else
    DIR="$(mktemp -d "${TMPDIR:-/tmp}/observe_bench.XXXXXX")"
    trap 'rm -rf "$DIR"' EXIT
fi
trap 'exit 143' INT TERM HUP

BIG="$DIR/big-$MIB.pcap"
SMALL="$DIR/slice-$SLICE.pcap"
# gen FILE MIB [observe_gen options]
gen() {
    local file="$1" mib="$2"
    shift 2
    if [ ! -s "$file" ]; then
        "$GEN" "$file" "$mib" --seed 1 "$@" >"$file.info"
    fi
    echo "  $(basename "$file"): $(tr '\n' ' ' <"$file.info")"
}
echo "observe_bench: $(nproc) CPUs, $(uname -m), $PQTLS: $("$PQTLS" --version 2>/dev/null | head -n 1 || echo pqtls)"
echo "generating captures (observe_gen, seed 1) in $DIR"
if [ -n "$QUIC" ]; then
    BIG="$DIR/quic-$MIB.pcap"
    SMALL="$DIR/quic-slice-$SLICE.pcap"
    gen "$BIG" "$MIB" --quic
    gen "$SMALL" "$SLICE" --quic
elif [ -z "$COLLIDE" ]; then
    gen "$BIG" "$MIB"
    [ -n "$OLD" ] || gen "$SMALL" "$SLICE"
fi

# run_timed OUT_PREFIX CMD...: CPU seconds (user + system), wall seconds
# and max RSS (KiB) of one run.
run_timed() {
    local out="$1"
    shift
    local t0 t1 u s
    t0=$(date +%s.%N)
    /usr/bin/time -v -o "$out.time" "$@" >/dev/null 2>"$out.err"
    t1=$(date +%s.%N)
    WALL=$(echo "$t1 - $t0" | bc -l)
    u=$(sed -n 's/.*User time (seconds): //p' "$out.time")
    s=$(sed -n 's/.*System time (seconds): //p' "$out.time")
    CPU=$(echo "$u + $s" | bc -l)
    RSS=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out.time")
}

median() {
    sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# bench_observe FILE RUNS: sets MED (CPU s), MEDW (wall s), MAXRSS (KiB).
bench_observe() {
    local file="$1" runs="$2" i walls="" cpus="" rss=0
    cat "$file" >/dev/null # page cache: measure parsing, not the disk
    for i in $(seq 1 "$runs"); do
        run_timed "$DIR/obs" "$PQTLS" observe -q "$file"
        walls+="$WALL"$'\n'
        cpus+="$CPU"$'\n'
        [ "$RSS" -le "$rss" ] || rss=$RSS
    done
    MED=$(printf '%s' "$cpus" | median)
    MEDW=$(printf '%s' "$walls" | median)
    MAXRSS=$rss
    echo "    CPU s: $(printf '%s' "$cpus" | tr '\n' ' ')"
    echo "    wall s: $(printf '%s' "$walls" | tr '\n' ' ')"
}

if [ -n "$COLLIDE" ]; then
    NORMAL="$DIR/normal-$MIB-c$CONC.pcap"
    COLLIDING="$DIR/collide-$MIB-c$CONC.pcap"
    gen "$NORMAL" "$MIB" --concurrency "$CONC"
    gen "$COLLIDING" "$MIB" --concurrency "$CONC" --collide
    for f in "$NORMAL" "$COLLIDING"; do
        echo "pqtls observe -q $(basename "$f") >/dev/null ($(stat -c %s "$f") bytes), $RUNS runs"
        bench_observe "$f" "$RUNS"
        HS=$("$PQTLS" observe -q "$f" | wc -l)
        printf '  median %.3f CPU s = %.2f GB/s per core (wall %.3f s), max RSS %d KiB, %d handshake records\n' \
            "$MED" "$(echo "$(stat -c %s "$f") / $MED / 1000000000" | bc -l)" "$MEDW" "$MAXRSS" "$HS"
        if [ "$f" = "$NORMAL" ]; then
            MED_NORMAL=$MED
        fi
    done
    if [ "$(echo "$MED_NORMAL > 0" | bc -l)" = 1 ]; then
        printf 'colliding / normal, median CPU time: %.2fx\n' "$(echo "$MED / $MED_NORMAL" | bc -l)"
    else
        echo "colliding / normal: the normal capture took under 10 ms; use a larger --mib"
    fi
    exit 0
fi

if [ -n "$OLD" ]; then
    [ -x "$OLD" ] || {
        echo "observe_bench: $OLD is missing" >&2
        exit 2
    }
    cat "$BIG" >/dev/null
    olds="" news=""
    echo "interleaved, $RUNS runs each: $OLD and $PQTLS observe -q $(basename "$BIG")"
    for i in $(seq 1 "$RUNS"); do
        run_timed "$DIR/old" "$OLD" observe -q "$BIG"
        olds+="$CPU"$'\n'
        run_timed "$DIR/new" "$PQTLS" observe -q "$BIG"
        news+="$CPU"$'\n'
    done
    echo "    old CPU s: $(printf '%s' "$olds" | tr '\n' ' ')"
    echo "    new CPU s: $(printf '%s' "$news" | tr '\n' ' ')"
    MO=$(printf '%s' "$olds" | median)
    MN=$(printf '%s' "$news" | median)
    SZ=$(stat -c %s "$BIG")
    printf '  median old %.3f CPU s = %.2f GB/s, new %.3f CPU s = %.2f GB/s per core; new / old %.3f\n' \
        "$MO" "$(echo "$SZ / $MO / 1000000000" | bc -l)" "$MN" "$(echo "$SZ / $MN / 1000000000" | bc -l)" \
        "$(echo "$MN / $MO" | bc -l)"
    exit 0
fi

SZ_BIG=$(stat -c %s "$BIG")
SZ_SMALL=$(stat -c %s "$SMALL")
if [ -n "$QUIC" ]; then
    QB="$BUILD/bin/quic_bench"
    [ -x "$QB" ] || {
        echo "observe_bench: $QB is missing; build with cmake --build $BUILD" >&2
        exit 2
    }
    echo "quic_bench $(basename "$BIG") --runs $RUNS (Initial decryption alone)"
    "$QB" "$BIG" --runs "$RUNS" | sed 's/^/  /'
    INIT_BYTES=$(sed -n 's/.*quic_initial_bytes \([0-9]*\).*/\1/p' "$BIG.info")
fi
echo "pqtls observe -q $(basename "$BIG") >/dev/null ($SZ_BIG bytes), $RUNS runs"
bench_observe "$BIG" "$RUNS"
OBS_BIG=$MED
RSS_BIG=$MAXRSS
GBS_BIG=$(echo "$SZ_BIG / $OBS_BIG / 1000000000" | bc -l)
printf '  median %.3f CPU s = %.2f GB/s per core (wall %.3f s), max RSS %d KiB\n' "$OBS_BIG" \
    "$GBS_BIG" "$MEDW" "$RSS_BIG"
HS=$("$PQTLS" observe -q "$BIG" | wc -l)
printf '  %d handshake records, %.0f handshakes/s\n' "$HS" "$(echo "$HS / $OBS_BIG" | bc -l)"
if [ -n "$QUIC" ] && [ -n "$INIT_BYTES" ]; then
    printf '  Initial packets: %d bytes, %.2f GB/s of them per core\n' "$INIT_BYTES" \
        "$(echo "$INIT_BYTES / $OBS_BIG / 1000000000" | bc -l)"
fi

echo "pqtls observe -q $(basename "$SMALL") >/dev/null ($SZ_SMALL bytes), $RUNS runs"
bench_observe "$SMALL" "$RUNS"
OBS_SMALL=$MED
RSS_SMALL=$MAXRSS
printf '  median %.3f CPU s = %.2f GB/s per core (wall %.3f s), max RSS %d KiB\n' "$OBS_SMALL" \
    "$(echo "$SZ_SMALL / $OBS_SMALL / 1000000000" | bc -l)" "$MEDW" "$RSS_SMALL"
printf 'memory: max RSS %d KiB for %d MiB, %d KiB for %d MiB of capture\n' "$RSS_SMALL" "$SLICE" \
    "$RSS_BIG" "$MIB"

if ! command -v tshark >/dev/null 2>&1; then
    echo "tshark: not installed (apt-get install tshark); no comparison"
    exit 0
fi
echo "$(tshark --version 2>/dev/null | head -n 1)"
TFIELDS=(-e frame.time -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e tls.handshake.type
    -e tls.handshake.extensions_server_name -e tls.handshake.extensions_supported_group
    -e tls.handshake.extensions_key_share_group -e tls.alert_message.desc)
TFILTER='tls.handshake or tls.alert_message'
if [ -n "$QUIC" ]; then
    TFIELDS=(-e frame.time -e ip.src -e ip.dst -e udp.srcport -e udp.dstport -e quic.long.packet_type
        -e tls.handshake.type -e tls.handshake.extensions_server_name
        -e tls.handshake.extensions_supported_group -e tls.handshake.extensions_key_share_group
        -e quic.cc.error_code)
    TFILTER='tls.handshake or quic.frame_type == 0x1c'
fi
echo "tshark -n -r $(basename "$SMALL") -T fields ${TFIELDS[*]} -Y '$TFILTER', $TRUNS runs"
walls=""
cpus=""
for i in $(seq 1 "$TRUNS"); do
    run_timed "$DIR/tshark" tshark -n -r "$SMALL" -T fields "${TFIELDS[@]}" -Y "$TFILTER"
    walls+="$WALL"$'\n'
    cpus+="$CPU"$'\n'
    TRSS=$RSS
done
echo "    CPU s: $(printf '%s' "$cpus" | tr '\n' ' ')"
echo "    wall s: $(printf '%s' "$walls" | tr '\n' ' ')"
TSH=$(printf '%s' "$cpus" | median)
NL=$(tshark -n -r "$SMALL" -T fields "${TFIELDS[@]}" -Y "$TFILTER" 2>/dev/null | wc -l)
printf '  median %.3f CPU s = %.3f GB/s per core, max RSS %d KiB, %d lines\n' "$TSH" \
    "$(echo "$SZ_SMALL / $TSH / 1000000000" | bc -l)" "$TRSS" "$NL"
printf 'ratio per byte, CPU time: %.0fx (tshark slice / observe slice), %.0fx (tshark slice / observe whole capture)\n' \
    "$(echo "$TSH / $OBS_SMALL" | bc -l)" \
    "$(echo "($TSH / $SZ_SMALL) / ($OBS_BIG / $SZ_BIG)" | bc -l)"
