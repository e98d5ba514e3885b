#!/usr/bin/env bash
# pqtls advise throughput and memory on the generated handshake-heavy
# capture of bench/observe_bench.sh, with pqtls observe as the baseline.
#
#   bench/advise_bench.sh BUILD_DIR [--mib 1100] [--slice-mib 256] [--runs 5]
#                         [--keep DIR]
#
# BUILD_DIR holds bin/pqtls and bin/observe_gen. Two captures (observe_gen
# --seed 1: MIB and SLICE mebibytes) are generated in a fresh temporary
# directory and deleted at the end (--keep DIR: generate once, reuse).
# Each command runs --runs times over each capture, alternating, one
# process at a time, after the capture was read once into the page cache:
#   observe   pqtls observe -q FILE >/dev/null   (JSON Lines, the
#             documented observe figure)
#   advise    pqtls advise -q FILE >/dev/null    (JSON Lines per service,
#             OpenSSL 3.0 model)
#   advise35  pqtls advise -q --server openssl35 --format html FILE >/dev/null
# Reported per command and capture: median CPU seconds (user + system,
# /usr/bin/time), GB/s per core (10^9 bytes of capture per CPU second),
# max RSS; then advise / observe (median CPU) and the max RSS of the large
# capture against the slice's (memory must be flat in the capture size).
set -euo pipefail
[ $# -ge 1 ] || {
    sed -n '2,21p' "$0" >&2
    exit 2
}
BUILD="$(cd "$1" && pwd)"
shift
MIB=1100 SLICE=256 RUNS=5 KEEP=''
while [ $# -gt 0 ]; do
    case "$1" in
    --mib) MIB="$2" ;;
    --slice-mib) SLICE="$2" ;;
    --runs) RUNS="$2" ;;
    --keep) KEEP="$2" ;;
    *)
        echo "advise_bench: unknown option $1" >&2
        exit 2
        ;;
    esac
    shift 2
done
PQTLS="$BUILD/bin/pqtls"
GEN="$BUILD/bin/observe_gen"
for f in "$PQTLS" "$GEN" /usr/bin/time; do
    [ -x "$f" ] || {
        echo "advise_bench: $f is missing (cmake --build $BUILD; Debian package time)" >&2
        exit 2
    }
done
if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    DIR="$(cd "$KEEP" && pwd)"
else
    DIR="$(mktemp -d "${TMPDIR:-/tmp}/advise_bench.XXXXXX")"
    trap 'rm -rf "$DIR"' EXIT
fi
trap 'exit 143' INT TERM HUP

gen() {
    local file="$1" mib="$2"
    if [ ! -s "$file" ]; then
        "$GEN" "$file" "$mib" --seed 1 >"$file.info"
    fi
    echo "  $(basename "$file"): $(tr '\n' ' ' <"$file.info")"
}
BIG="$DIR/big-$MIB.pcap"
SMALL="$DIR/slice-$SLICE.pcap"
echo "advise_bench: $(nproc) CPUs, $(uname -m), $("$PQTLS" --version 2>/dev/null | head -n 1)"
echo "generating captures (observe_gen, seed 1) in $DIR"
gen "$BIG" "$MIB"
gen "$SMALL" "$SLICE"

median() {
    sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# cmd_of NAME FILE: the command line of a measured command.
cmd_of() {
    case "$1" in
    observe) echo "$PQTLS observe -q $2" ;;
    advise) echo "$PQTLS advise -q $2" ;;
    advise35) echo "$PQTLS advise -q --server openssl35 --format html $2" ;;
    esac
}

declare -A CPUS RSS
NAMES="observe advise advise35"
for file in "$SMALL" "$BIG"; do
    cat "$file" >/dev/null
    for i in $(seq 1 "$RUNS"); do
        for name in $NAMES; do
            # shellcheck disable=SC2046
            /usr/bin/time -f '%U %S %M' -o "$DIR/time" $(cmd_of "$name" "$file") >/dev/null 2>"$DIR/err"
            read -r u s m <"$DIR/time"
            CPUS[$name,$file]+="$(echo "$u + $s" | bc -l)"$'\n'
            r=${RSS[$name,$file]:-0}
            [ "$m" -le "$r" ] || RSS[$name,$file]=$m
        done
    done
done

declare -A MED
for file in "$SMALL" "$BIG"; do
    sz=$(stat -c %s "$file")
    echo "$(basename "$file") ($sz bytes), $RUNS runs each:"
    for name in $NAMES; do
        med=$(printf '%s' "${CPUS[$name,$file]}" | median)
        MED[$name,$file]=$med
        printf '  %-9s median %.3f CPU s = %.2f GB/s per core, max RSS %d KiB  (%s)\n' "$name" \
            "$med" "$(echo "$sz / $med / 1000000000" | bc -l)" "${RSS[$name,$file]}" \
            "$(cmd_of "$name" "$(basename "$file")" | sed "s|$PQTLS|pqtls|")"
        echo "            CPU s: $(printf '%s' "${CPUS[$name,$file]}" | tr '\n' ' ')"
    done
done
printf 'advise / observe, median CPU time over %s: %.2fx (html, openssl35: %.2fx)\n' \
    "$(basename "$BIG")" "$(echo "${MED[advise,$BIG]} / ${MED[observe,$BIG]}" | bc -l)" \
    "$(echo "${MED[advise35,$BIG]} / ${MED[observe,$BIG]}" | bc -l)"
printf 'memory: advise max RSS %d KiB for %d MiB, %d KiB for %d MiB of capture\n' \
    "${RSS[advise,$SMALL]}" "$SLICE" "${RSS[advise,$BIG]}" "$MIB"
printf 'services: %d\n' "$("$PQTLS" advise -q "$BIG" | wc -l)"
