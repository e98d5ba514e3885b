#!/usr/bin/env bash
# `pqtls scan` throughput: probes per second with full hybrid verification
# (X25519MLKEM768 key exchange finished, handshake keys derived,
# EncryptedExtensions decrypted) against nginx + the pqtls provider on
# loopback (tests/scan/estate.sh), and the scanner's peak memory for two
# target-list sizes (it must not grow with the number of targets).
#
# usage: bench/scan_bench.sh [--starttls | --store STORE] BUILD_DIR [TARGETS...]   (default: 2000 8000)
# Needs nginx and BUILD_DIR/lib/pqtls.so. Loopback only; stops what it starts.
# PQTLS=path/to/pqtls scans with another binary (e.g. an older build) against
# the same nginx + provider. Besides wall-clock probes/s (which depends on
# what else the 2 cores are doing) it prints the scanner's own CPU time per
# probe (user + system), the figure the scanner's code decides.
#
# --starttls: the same nginx behind a fake SMTP server
# (tests/scan/starttls_servers.py: greeting, multi-line EHLO reply,
# STARTTLS, then the socket spliced to nginx), scanned as smtp:// targets,
# against the same relay's direct twin (the socket spliced at once, scanned
# as host:port): the two differ only by the dialogue, so the ratio of the
# scanner's CPU per probe is what a STARTTLS dialogue costs it. The relay
# (Python) limits the wall-clock rate; the CPU figures are the scanner's.
#
# --store STORE: each size is scanned twice, without and with
# `--store STORE` (a SQLite path, created fresh in the work directory when
# it is "sqlite", or a postgresql:// URL of an existing database), and the
# ratio of the two says what writing to the store costs the scan
# (docs/store.md, docs/performance.md).
set -euo pipefail
STARTTLS=0
STORE=
while [ $# -gt 0 ]; do
    case "$1" in
    --starttls) STARTTLS=1; shift ;;
    --store) STORE="$2"; shift 2 ;;
    *) break ;;
    esac
done
BUILD="$(cd "${1:?usage: $0 [--starttls] BUILD_DIR [TARGETS...]}" && pwd)"
shift
SIZES=("${@:-2000}")
[ $# -gt 0 ] || SIZES=(2000 8000)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d)"
ESTATE_LIFETIME=300
# shellcheck source=../tests/scan/estate.sh
source "$ROOT/tests/scan/estate.sh"
trap 'estate_stop; rm -rf "$WORK"' EXIT
estate_start "$BUILD" "$WORK/estate" >/dev/null
[ "$ESTATE_HAVE_NGINX" = 1 ] || { echo "scan_bench: needs nginx and $BUILD/lib/pqtls.so" >&2; exit 1; }
# Two nginx workers: the server side should not be the bottleneck.
sed -i 's/worker_processes 1;/worker_processes 2;/' "$WORK/estate/nginx/nginx.conf"
kill -HUP "$(cat "$WORK/estate/nginx/nginx.pid")"
sleep 1
addr=$(grep nginx-supported "$WORK/estate/targets.txt" | cut -d, -f1)

# scan N PREFIX LABEL: N targets PREFIX,tI.bench with the x25519mlkem768
# probe; one line of figures; every probe must be verified. Sets CPU_US.
scan() {
    local n="$1" prefix="$2" label="$3" i
    shift 3
    for ((i = 0; i < n; i++)); do echo "$prefix,t$i.bench"; done >"$WORK/targets.txt"
    /usr/bin/time -f "%e %M %U %S" -o "$WORK/time" "${PQTLS:-$BUILD/bin/pqtls}" scan --targets "$WORK/targets.txt" \
        --probes x25519mlkem768 --concurrency 64 --no-progress -o "$WORK/out.jsonl" "$@"
    read -r secs rss usr sys <"$WORK/time"
    verified=$(grep -c '"group":"X25519MLKEM768","version":"TLSv\{0,1\}1\.3","cipher":"[A-Z0-9_]*","alert":null,"verified":true' "$WORK/out.jsonl" || true)
    awk -v n="$n" -v s="$secs" -v r="$rss" -v v="$verified" -v u="$usr" -v y="$sys" -v l="$label" \
        'BEGIN { printf "  %6d targets%s: %6.2f s, %6.0f probes/s, %d verified hybrid, max RSS %.1f MB, scanner CPU %.0f us/probe (user %.2f s, sys %.2f s)\n", n, l, s, n / s, v, r / 1024, (u + y) * 1e6 / n, u, y }'
    CPU_US=$(awk -v n="$n" -v u="$usr" -v y="$sys" 'BEGIN { printf "%.1f", (u + y) * 1e6 / n }')
    [ "$verified" -eq "$n" ] || { echo "scan_bench: only $verified of $n probes verified" >&2; exit 1; }
}

if [ -n "$STORE" ]; then
    [ "$STORE" != sqlite ] || STORE="$WORK/store.db"
    echo "pqtls scan --probes x25519mlkem768 --concurrency 64 against nginx + pqtls ($(nproc) cores),"
    echo "without and with --store ${STORE%%\?*}"
    for n in "${SIZES[@]}"; do
        for round in 1 2 3; do
            scan "$n" "$addr" " (no store)"
            base=$CPU_US
            scan "$n" "$addr" " (--store)  " --store "$STORE" --scan-id "bench-$n-$round-$$"
            awk -v a="$base" -v b="$CPU_US" 'BEGIN { printf "  scanner CPU per probe with the store / without: %.3f\n", b / a }'
        done
    done
    exit 0
fi

if [ "$STARTTLS" = 0 ]; then
    echo "pqtls scan --probes x25519mlkem768 --concurrency 64 against nginx + pqtls ($(nproc) cores)"
    for n in "${SIZES[@]}"; do
        scan "$n" "$addr" ""
    done
    exit 0
fi

# The fake SMTP server and its direct twin, both in front of the nginx.
python3 "$ROOT/tests/scan/starttls_servers.py" "${addr#127.0.0.1:}" smtp=good smtp=direct \
    --lifetime 280 >"$WORK/relay.json" 2>"$WORK/relay.log" </dev/null &
ESTATE_PIDS+=($!)
for _ in $(seq 1 100); do
    [ -s "$WORK/relay.json" ] && break
    sleep 0.1
done
read -r smtp direct < <(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(p["smtp=good"], p["smtp=direct"])' "$WORK/relay.json")
echo "pqtls scan --probes x25519mlkem768 --concurrency 64: smtp:// (STARTTLS) against the same relay's"
echo "direct twin, both spliced to nginx + pqtls ($(nproc) cores)"
for n in "${SIZES[@]}"; do
    scan "$n" "127.0.0.1:$direct" " direct  "
    d=$CPU_US
    scan "$n" "smtp://127.0.0.1:$smtp" " STARTTLS"
    awk -v d="$d" -v s="$CPU_US" 'BEGIN { printf "  STARTTLS / direct scanner CPU per probe: %.2fx\n", s / d }'
done
