#!/usr/bin/env bash
# What X25519MLKEM768 costs against X25519 in full TLS 1.3 handshakes,
# measured with `pqtls bench tls` (docs/performance.md, "pqtls bench tls"):
#   1. against its in-process libssl server (no TARGET);
#   2. the same with the client's MSS clamped to 1460 (an Ethernet path);
#   3. against nginx (Debian's, OpenSSL 3.0) with pqtls.so loaded through
#      an openssl.cnf, ssl_ecdh_curve X25519MLKEM768:X25519, an Ed25519
#      certificate, one worker, on a free loopback port.
#
#   bench/tls_bench.sh BUILD_DIR [--handshakes N] [--runs R] [--groups LIST]
#
# BUILD_DIR holds bin/pqtls and lib/pqtls.so. Each setting is run R times
# (default 3) with N handshakes per group (default 1000); per run, the
# command's own per-group medians/percentiles; the script prints each run's
# JSON-derived line and the median over runs of every figure and of the
# differences to X25519 (which the command takes within one run, the
# groups interleaved handshake by handshake). Nothing else runs here; the
# machine's other load is not controlled.
set -euo pipefail
[ $# -ge 1 ] || {
    sed -n '2,18p' "$0" >&2
    exit 2
}
BUILD="$(cd "$1" && pwd)"
shift
N=1000 RUNS=3 GROUPS_ARG=X25519,X25519MLKEM768
while [ $# -gt 0 ]; do
    case "$1" in
    --handshakes) N="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --groups) GROUPS_ARG="$2"; shift 2 ;;
    *) echo "tls_bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PQTLS="$BUILD/bin/pqtls"
SO="$BUILD/lib/pqtls.so"
[ -x "$PQTLS" ] && [ -f "$SO" ] || { echo "tls_bench.sh: build first ($PQTLS, $SO)" >&2; exit 2; }
command -v nginx >/dev/null || { echo "tls_bench.sh: nginx is not installed (scripts/deps.sh)" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tls_bench.XXXXXX")"
NGINX_PID=
cleanup() {
    if [ -n "$NGINX_PID" ]; then
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The median over runs of each field of the JSON lines in the files given,
# per group.
summarise() {
    python3 - "$@" <<'EOF_PY'
import json, statistics, sys
rows = {}
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        if "error" in r:
            sys.exit("%s: %s" % (r["group"], r["error"]))
        rows.setdefault(r["group"], []).append(r)
keys = ["client_hello_bytes", "server_hello_bytes", "bytes_sent", "bytes_received",
        "client_hello_segments", "mss", "latency_ms_p50", "latency_ms_p90", "latency_ms_p99",
        "client_cpu_us"]
for g, rs in rows.items():
    print("  %-16s runs %d" % (g, len(rs)))
    for r in rs:
        print("    run: p50 %.3f ms p90 %.3f p99 %.3f cpu %.1f us | delta p50 %+.3f ms cpu %+.1f us"
              % (r["latency_ms_p50"], r["latency_ms_p90"], r["latency_ms_p99"], r["client_cpu_us"],
                 r["latency_ms_p50_delta"], r["client_cpu_us_delta"]))
    med = {k: statistics.median(r[k] for r in rs) for k in keys}
    dmed = {k: statistics.median(r[k + "_delta"] for r in rs)
            for k in keys if k + "_delta" in rs[0]}
    print("    median: " + ", ".join("%s %g" % (k, med[k]) for k in keys))
    print("    median delta to %s: " % rs[0]["baseline"] +
          ", ".join("%s %+g" % (k, dmed[k]) for k in dmed))
EOF_PY
}

run_setting() {
    local name="$1"
    shift
    echo "== $name: pqtls bench tls $* --groups $GROUPS_ARG --handshakes $N --format jsonl"
    local files=()
    for r in $(seq 1 "$RUNS"); do
        "$PQTLS" bench tls "$@" --groups "$GROUPS_ARG" --handshakes "$N" --format jsonl \
            >"$WORK/$name.$r.jsonl"
        files+=("$WORK/$name.$r.jsonl")
    done
    summarise "${files[@]}"
}

echo "pqtls bench tls, $(date -u +%Y-%m-%dT%H:%MZ), $(openssl version), $(nproc) cores, $N handshakes per group, $RUNS runs"
run_setting local
run_setting local-mss1460 --mss 1460

# nginx with the provider.
openssl req -x509 -newkey ed25519 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    -days 2 -subj /CN=localhost >/dev/null 2>&1
"$ROOT/scripts/openssl-cnf.sh" "$SO" >"$WORK/openssl.cnf"
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
for try in 1 2 3 4 5 6 7 8; do
    PORT=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
    cat >"$WORK/nginx/nginx.conf" <<EOF_CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/logs/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 256; }
http {
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    access_log off;
    server {
        listen 127.0.0.1:$PORT ssl;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.3;
        ssl_ecdh_curve X25519MLKEM768:X25519;
        ssl_session_tickets off;
        ssl_session_cache off;
        return 200 "ok\n";
    }
}
EOF_CONF
    OPENSSL_CONF="$WORK/openssl.cnf" nginx -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" \
        -e "$WORK/nginx/logs/error.log" >"$WORK/nginx/stdout.log" 2>&1 &
    NGINX_PID=$!
    up=0
    for _ in $(seq 1 50); do
        kill -0 "$NGINX_PID" 2>/dev/null || break
        if "$PQTLS" bench tls "127.0.0.1:$PORT" --groups X25519 --handshakes 1 --format jsonl \
            >/dev/null 2>&1; then
            up=1
            break
        fi
        sleep 0.1
    done
    [ "$up" -eq 0 ] || break
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
    grep -q 'Address already in use' "$WORK/nginx/logs/error.log" 2>/dev/null && continue
    echo "tls_bench.sh: nginx did not start:" >&2
    cat "$WORK/nginx/logs/error.log" "$WORK/nginx/stdout.log" >&2 || true
    exit 1
done
[ -n "$NGINX_PID" ] || { echo "tls_bench.sh: no free port for nginx" >&2; exit 1; }
echo "(nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), ssl_ecdh_curve X25519MLKEM768:X25519, pid $NGINX_PID, 127.0.0.1:$PORT)"
run_setting nginx "127.0.0.1:$PORT"
run_setting nginx-mss1460 "127.0.0.1:$PORT" --mss 1460
