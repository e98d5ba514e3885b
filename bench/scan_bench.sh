#!/usr/bin/env bash
# `pqtls scan` throughput: probes per second with full hybrid verification
# (X25519MLKEM768 key exchange finished, handshake keys derived,
# EncryptedExtensions decrypted) against nginx + the pqtls provider on
# loopback (tests/scan/estate.sh), and the scanner's peak memory for two
# target-list sizes (it must not grow with the number of targets).
#
# usage: bench/scan_bench.sh BUILD_DIR [TARGETS...]   (default: 2000 8000)
# Needs nginx and BUILD_DIR/lib/pqtls.so. Loopback only; stops what it starts.
# PQTLS=path/to/pqtls scans with another binary (e.g. an older build) against
# the same nginx + provider. Besides wall-clock probes/s (which depends on
# what else the 2 cores are doing) it prints the scanner's own CPU time per
# probe (user + system), the figure the scanner's code decides.
set -euo pipefail
BUILD="$(cd "${1:?usage: $0 BUILD_DIR [TARGETS...]}" && pwd)"
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
echo "pqtls scan --probes x25519mlkem768 --concurrency 64 against nginx + pqtls ($(nproc) cores)"
for n in "${SIZES[@]}"; do
    for ((i = 0; i < n; i++)); do echo "$addr,t$i.bench"; done >"$WORK/targets.txt"
    /usr/bin/time -f "%e %M %U %S" -o "$WORK/time" "${PQTLS:-$BUILD/bin/pqtls}" scan --targets "$WORK/targets.txt" \
        --probes x25519mlkem768 --concurrency 64 --no-progress -o "$WORK/out.jsonl"
    read -r secs rss usr sys <"$WORK/time"
    verified=$(grep -c '"group":"X25519MLKEM768","version":"TLSv\{0,1\}1\.3","cipher":"[A-Z0-9_]*","alert":null,"verified":true' "$WORK/out.jsonl" || true)
    awk -v n="$n" -v s="$secs" -v r="$rss" -v v="$verified" -v u="$usr" -v y="$sys" \
        'BEGIN { printf "  %6d targets: %6.2f s, %6.0f probes/s, %d verified hybrid, max RSS %.1f MB, scanner CPU %.0f us/probe (user %.2f s, sys %.2f s)\n", n, s, n / s, v, r / 1024, (u + y) * 1e6 / n, u, y }'
    [ "$verified" -eq "$n" ] || { echo "scan_bench: only $verified of $n probes verified" >&2; exit 1; }
done
