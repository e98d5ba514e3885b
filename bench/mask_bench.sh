#!/usr/bin/env bash
# pqtls mask throughput on the observe benchmark capture, beside
# tcprewrite --seed --fixcsum (Debian tcpreplay) on the same file.
#
#   bench/mask_bench.sh BUILD_DIR [--mib 1100] [--runs 5] [--tcprewrite-runs 3] [--keep DIR]
#                       [--quic] [--baseline PQTLS]
#
# BUILD_DIR holds bin/pqtls and bin/observe_gen. The capture (observe_gen
# --seed 1, as bench/observe_bench.sh makes it) is generated in a temporary
# directory, or once into --keep DIR and reused. Reported, as medians of
# the runs: CPU seconds (user + system, /usr/bin/time) and GB/s per core
# (10^9 bytes of capture per CPU second) of `pqtls mask` writing to
# /dev/null and to a file, max RSS, and tcprewrite's CPU seconds writing a
# file; the ratio. The file is read from the page cache (read once before).
# --quic: observe_gen --quic (QUIC handshakes: every Initial opened,
# masked and sealed again). --baseline PQTLS: another pqtls binary (an
# older build) run interleaved with this one to /dev/null; the ratio of
# the medians.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
BUILD="$(cd "$1" && pwd)"
shift
MIB=1100 RUNS=5 TRUNS=3 KEEP='' QUIC='' BASE=''
while [ $# -gt 0 ]; do
    case "$1" in
    --mib) MIB="$2" ;;
    --runs) RUNS="$2" ;;
    --tcprewrite-runs) TRUNS="$2" ;;
    --keep) KEEP="$2" ;;
    --quic) QUIC=--quic; shift; continue ;;
    --baseline) BASE="$2" ;;
    *) echo "mask_bench: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
PQTLS="$BUILD/bin/pqtls" GEN="$BUILD/bin/observe_gen"
if [ -n "$KEEP" ]; then
    DIR="$KEEP"; mkdir -p "$DIR"
else
    DIR="$(mktemp -d)"; trap 'rm -rf "$DIR"' EXIT
fi
BIG="$DIR/big${QUIC:+-quic}-$MIB.pcap"
[ -s "$BIG" ] || "$GEN" "$BIG" "$MIB" --seed 1 $QUIC >"$BIG.info"
BYTES=$(stat -c %s "$BIG")
echo "mask_bench: $(nproc) CPUs, $(uname -m); capture $BIG ($BYTES bytes): $(cat "$BIG.info")"
head -c 32 /dev/urandom >"$DIR/k.key"
cat "$BIG" >/dev/null

# timed LABEL CMD...: appends "cpu wall rss" to $DIR/LABEL.times
timed() {
    local label="$1"
    shift
    /usr/bin/time -f "%U %S %e %M" -o "$DIR/t" "$@" >/dev/null 2>&1
    awk '{printf "%.3f %.3f %d\n", $1 + $2, $3, $4}' "$DIR/t" >>"$DIR/$label.times"
}
median() { sort -n -k1,1 "$1" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }

rm -f "$DIR"/*.times
for _ in $(seq "$RUNS"); do
    timed mask_null "$PQTLS" mask -q --key-file "$DIR/k.key" -o /dev/null "$BIG"
    timed mask_file "$PQTLS" mask -q --key-file "$DIR/k.key" -o "$DIR/out.pcap" "$BIG"
    rm -f "$DIR/out.pcap"
    if [ -n "$BASE" ]; then
        timed base_null "$BASE" mask -q --key-file "$DIR/k.key" -o /dev/null "$BIG"
    fi
done
for _ in $(seq "$TRUNS"); do
    timed tcprewrite tcprewrite --seed=42 --fixcsum -i "$BIG" -o "$DIR/tcprewrite.pcap"
    rm -f "$DIR/tcprewrite.pcap"
done
report() {
    read -r cpu wall rss <<<"$(median "$DIR/$1.times")"
    printf "  %-34s median CPU %7.3f s  wall %7.3f s  %6.2f GB/s per core  max RSS %d KiB\n" \
        "$2" "$cpu" "$wall" "$(echo "$BYTES / $cpu / 1000000000" | bc -l)" "$rss"
    eval "CPU_$1=$cpu"
}
report mask_null "pqtls mask -o /dev/null ($RUNS runs)"
report mask_file "pqtls mask -o FILE ($RUNS runs)"
if [ -n "$BASE" ]; then
    report base_null "baseline mask -o /dev/null ($RUNS)"
    printf "  pqtls mask / baseline (to /dev/null, CPU): %.3f\n" \
        "$(echo "$CPU_mask_null / ${CPU_base_null}" | bc -l)"
fi
report tcprewrite "tcprewrite --seed --fixcsum ($TRUNS)"
printf "  tcprewrite / pqtls mask (to a file, CPU): %.1fx\n" \
    "$(echo "$CPU_tcprewrite / ${CPU_mask_file}" | bc -l)"
