#!/usr/bin/env bash
# What client family recognition costs `pqtls observe`: two builds timed
# against each other on the same captures, interleaved (old, new, new,
# old, ...), so that the machine's other load falls on both alike.
#
#   bench/family_bench.sh OLD_PQTLS NEW_PQTLS OBSERVE_GEN [--mib 256] [--runs 11]
#                         [--keep DIR] [--pcap FILE]...
#
# OLD_PQTLS is a build without the feature rules (e.g. the commit before
# them, built with scripts/compare-revs.sh or a second cmake build dir),
# NEW_PQTLS one with them. The captures: one written by OBSERVE_GEN
# (bench/observe_gen.c, seed 1: --mib MiB of handshake-heavy traffic, a
# ClientHello per 37 KB, each named "BoringSSL" by the seventh feature rule
# after the nine JA4 entries) and every --pcap FILE given (e.g. tests/families' recording, kept
# with PQT_FAMILIES_KEEP). For each capture and build: the CPU time (user +
# system, /usr/bin/time) of `pqtls observe -q FILE >/dev/null` (JSON Lines
# formatted, so the new fields are written too), --runs runs each; printed
# are every run, the medians and the ratio new / old of the medians.
# bench/hello_flood.py writes captures of nothing but ClientHellos, where
# the per-hello work (parsing, JA4, families) is all there is to time.
set -euo pipefail
[ $# -ge 3 ] || {
    sed -n '2,20p' "$0" >&2
    exit 2
}
OLD="$1" NEW="$2" GEN="$3"
shift 3
MIB=256 RUNS=11 KEEP='' PCAPS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --mib) MIB="$2" ;;
    --runs) RUNS="$2" ;;
    --keep) KEEP="$2" ;;
    --pcap) PCAPS+=("$2") ;;
    *)
        echo "family_bench: unknown option $1" >&2
        exit 2
        ;;
    esac
    shift 2
done
for f in "$OLD" "$NEW" "$GEN"; do
    [ -x "$f" ] || {
        echo "family_bench: $f is missing" >&2
        exit 2
    }
done
if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    DIR="$(cd "$KEEP" && pwd)"
else
    DIR="$(mktemp -d "${TMPDIR:-/tmp}/family_bench.XXXXXX")"
    trap 'rm -rf "$DIR"' EXIT
fi
trap 'exit 143' INT TERM HUP

GENPCAP="$DIR/gen-$MIB.pcap"
[ -s "$GENPCAP" ] || "$GEN" "$GENPCAP" "$MIB" --seed 1 >"$GENPCAP.info"
echo "family_bench: $(nproc) CPUs; old $OLD, new $NEW; $RUNS interleaved runs each"
echo "  $(basename "$GENPCAP"): $(tr '\n' ' ' <"$GENPCAP.info")"

# cpu_of PQTLS FILE: user + system CPU seconds of one run, to the
# millisecond (bash's time; /usr/bin/time rounds to 10 ms).
cpu_of() {
    local TIMEFORMAT='%3U %3S' t
    t=$({ time "$1" observe -q "$2" >/dev/null 2>"$DIR/err"; } 2>&1) || {
        echo "family_bench: $1 observe $2 failed: $(head -n 3 "$DIR/err")" >&2
        exit 1
    }
    echo "$t" | awk '{print $1 + $2}'
}
median() {
    sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

for pcap in "$GENPCAP" "${PCAPS[@]}"; do
    cat "$pcap" >/dev/null # page cache
    "$OLD" observe -q "$pcap" >/dev/null 2>&1 || true # warm-up of both
    "$NEW" observe -q "$pcap" >/dev/null 2>&1 || true
    olds="" news=""
    for i in $(seq 1 "$RUNS"); do
        if [ $((i % 2)) -eq 1 ]; then
            olds+="$(cpu_of "$OLD" "$pcap")"$'\n'
            news+="$(cpu_of "$NEW" "$pcap")"$'\n'
        else
            news+="$(cpu_of "$NEW" "$pcap")"$'\n'
            olds+="$(cpu_of "$OLD" "$pcap")"$'\n'
        fi
    done
    mo=$(printf '%s' "$olds" | median)
    mn=$(printf '%s' "$news" | median)
    echo "$(basename "$pcap") ($(stat -c %s "$pcap") bytes)"
    echo "  old CPU s: $(printf '%s' "$olds" | tr '\n' ' ')"
    echo "  new CPU s: $(printf '%s' "$news" | tr '\n' ' ')"
    if [ "$(echo "$mo > 0" | bc -l)" = 1 ]; then
        echo "  median old $mo s, new $mn s, new/old $(echo "scale=4; $mn / $mo" | bc -l)"
    else
        echo "  median old $mo s, new $mn s (too short to compare)"
    fi
done
