#!/usr/bin/env bash
# prometheus.scrape: Debian's Prometheus server scrapes `pqtls observe -i lo
# --metrics-listen` every second while curl makes TLS handshakes on
# loopback, and queries through Prometheus's HTTP API return the counts:
#   - openssl s_server -www with the pqtls provider, groups
#     X25519MLKEM768:X25519, on a port the kernel picks;
#   - the observer on lo with the BPF filter `tcp port PORT`;
#   - prometheus on 127.0.0.1 (random port, its own config and data dir
#     under the work dir), scrape and rule evaluation every 1 s, loading
#     deploy/prometheus/pqtls-rules.yml;
#   - the observer labels client paths (--metrics-paths 4);
#   - phase 1: one hybrid (curl + pqtls, --curves X25519MLKEM768), one
#     classical (curl, --curves X25519) and one refused hybrid attempt (curl
#     + pqtls offering only SecP384r1MLKEM1024, which the server lacks: its
#     handshake_failure alert comes before any ServerHello) handshake,
#     waited for in Prometheus; phase 2: two more hybrid, one more classical,
#     one more refused;
#   - /api/v1/query: X25519MLKEM768 completed = 3 with offered_pq
#     X25519MLKEM768 and x25519 = 2 with offered_pq none (by group, and per
#     service with outcome completed); the refused attempts group none,
#     outcome alert, offered_pq SecP384r1MLKEM1024 = 2 (and per service with
#     outcome alert); the path metric for 127.0.0.0/24 = 7; the service's
#     hybrid-share recording rule 2/4 (the phase-2 increase: the series
#     start at the same scrape); the hybrid failure ratio recording rule
#     counts the refused hybrid attempts (above 0) and the classical one
#     is 0.
# Live capture needs root or CAP_NET_RAW (CI runs as root); otherwise FAIL.
# Every process has a lifetime guard and is stopped by the trap.
#
# Usage: scrape.sh PQTLS_BIN PQTLS_SO WORK_ROOT
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../proc.sh
. "$ROOT/tests/proc.sh"
[ $# -eq 3 ] || {
    echo "usage: scrape.sh PQTLS_BIN PQTLS_SO WORK_ROOT" >&2
    exit 2
}
PQTLS="$1"
PQTLS_SO="$2"
LIFETIME=60
PIDS=()
OK=0

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
note() { printf '%s\n' "$*"; }

cleanup() {
    local rc=$?
    stop_pids 10 "${PIDS[@]}"
    if [ "$rc" -ne 0 ] || [ "$OK" -ne 1 ]; then
        for f in "$WORK"/*.log "$WORK"/*.json "$WORK"/prometheus.yml; do
            [ -f "$f" ] || continue
            printf '\n----- %s -----\n' "$f" >&2
            tail -n 30 "$f" >&2 || true
        done
        printf '\nprometheus.scrape: FAILED; files kept in %s\n' "$WORK" >&2
        [ "$rc" -ne 0 ] || rc=1
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}

[ -x "$PQTLS" ] || fail "pqtls $PQTLS is missing; build first"
[ -f "$PQTLS_SO" ] || fail "$PQTLS_SO is missing; build first"
for c in prometheus curl openssl python3 timeout; do
    command -v "$c" >/dev/null || fail "$c is not installed; run scripts/deps.sh (as root)"
done
mkdir -p "$3"
WORK="$(mktemp -d "$3/scrape.XXXXXX")"
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >"$WORK/req.log" 2>&1 ||
    fail "openssl req could not make a test certificate"
"$ROOT/scripts/openssl-cnf.sh" "$PQTLS_SO" >"$WORK/openssl.cnf"

# The server (tests/proc.sh: sets PORT, guards it with LIFETIME).
start_s_server hybrid "$WORK/openssl.cnf" "$WORK/cert.pem" "$WORK/key.pem" X25519MLKEM768:X25519
TLS_PORT="$PORT"
note "s_server with pqtls on 127.0.0.1:$TLS_PORT"

free_port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 12768)); }

# The observer, on a metrics port that is free (retry on a collision).
up=0
for _ in 1 2 3 4 5 6 7 8; do
    MPORT="$(free_port)"
    "$PQTLS" observe -i lo "tcp port $TLS_PORT" --duration 50 --metrics-paths 4 \
        --metrics-listen "127.0.0.1:$MPORT" -o "$WORK/observe.jsonl" >"$WORK/observe.log" 2>&1 </dev/null &
    obs_pid=$!
    PIDS+=("$obs_pid")
    kill_after "$LIFETIME" "$obs_pid"
    PIDS+=("$KILL_AFTER_PID")
    for _ in $(seq 1 100); do
        kill -0 "$obs_pid" 2>/dev/null || break
        if curl --silent --fail --max-time 2 --noproxy '*' -o /dev/null \
            "http://127.0.0.1:$MPORT/metrics" 2>/dev/null; then
            up=1
            break
        fi
        sleep 0.1
    done
    [ "$up" -eq 0 ] || break
    rc=0
    wait "$obs_pid" 2>/dev/null || rc=$?
    grep -q 'in use' "$WORK/observe.log" && continue
    if [ "$rc" -eq 4 ] || grep -qiE 'permission|CAP_NET_RAW' "$WORK/observe.log"; then
        fail "pqtls observe cannot capture on lo ($(head -n 1 "$WORK/observe.log")); this test needs root or CAP_NET_RAW (CI runs it as root)"
    fi
    fail "pqtls observe -i lo did not serve /metrics within 10 s (status $rc): $(head -n 3 "$WORK/observe.log")"
done
[ "$up" -eq 1 ] || fail "no free metrics port for the observer after 8 tries"
note "pqtls observe pid $obs_pid, /metrics on 127.0.0.1:$MPORT"

# Prometheus with its own config and data dir; retry on a port collision.
up=0
for _ in 1 2 3 4 5 6 7 8; do
    PPORT="$(free_port)"
    [ "$PPORT" != "$MPORT" ] || continue
    cat >"$WORK/prometheus.yml" <<EOF_CONF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/deploy/prometheus/pqtls-rules.yml
scrape_configs:
  - job_name: pqtls
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF_CONF
    rm -rf "$WORK/data"
    prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
        --web.listen-address="127.0.0.1:$PPORT" >"$WORK/prometheus.log" 2>&1 </dev/null &
    prom_pid=$!
    PIDS+=("$prom_pid")
    kill_after "$LIFETIME" "$prom_pid"
    PIDS+=("$KILL_AFTER_PID")
    for _ in $(seq 1 150); do
        kill -0 "$prom_pid" 2>/dev/null || break
        if curl --silent --fail --max-time 2 --noproxy '*' -o /dev/null \
            "http://127.0.0.1:$PPORT/-/ready" 2>/dev/null; then
            up=1
            break
        fi
        sleep 0.1
    done
    [ "$up" -eq 0 ] || break
    wait "$prom_pid" 2>/dev/null || true
    grep -q 'address already in use' "$WORK/prometheus.log" && continue
    fail "prometheus did not get ready within 15 s: $(tail -n 3 "$WORK/prometheus.log")"
done
[ "$up" -eq 1 ] || fail "no free port for prometheus after 8 tries"
note "prometheus pid $prom_pid on 127.0.0.1:$PPORT, scraping every 1 s"

# query EXPR: the value of the single sample EXPR gives now, or "" (none);
# more than one sample fails.
query() {
    curl --silent --show-error --fail --max-time 3 --noproxy '*' -G \
        --data-urlencode "query=$1" "http://127.0.0.1:$PPORT/api/v1/query" >"$WORK/query.json" \
        2>"$WORK/curl.log" || fail "GET /api/v1/query failed for $1: $(cat "$WORK/curl.log")"
    python3 - "$WORK/query.json" "$1" <<'EOF_PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d.get("status") != "success":
    sys.exit("query %s: %s" % (sys.argv[2], d))
r = d["data"]["result"]
if len(r) > 1:
    sys.exit("query %s: %d samples, expected one: %s" % (sys.argv[2], len(r), r))
print(r[0]["value"][1] if r else "")
EOF_PY
}
# wait_value EXPR WANT: poll (up to 15 s) until EXPR gives WANT.
wait_value() {
    local v=
    for _ in $(seq 1 75); do
        v="$(query "$1")" || fail "query $1 failed"
        [ "$v" != "$2" ] || {
            note "ok: $1 = $2"
            return 0
        }
        sleep 0.2
    done
    fail "Prometheus: $1 is '${v}', expected $2 within 15 s"
}

hybrid() {
    local code
    code="$(OPENSSL_CONF="$WORK/openssl.cnf" curl --silent --show-error --max-time 10 --noproxy '*' \
        --cacert "$WORK/cert.pem" --curves X25519MLKEM768 -o /dev/null -w '%{http_code}' \
        "https://127.0.0.1:$TLS_PORT/" 2>"$WORK/curl-hs.log")" ||
        fail "hybrid curl failed: $(cat "$WORK/curl-hs.log")"
    [ "$code" = 200 ] || fail "hybrid curl: HTTP $code"
}
classical() {
    local code
    code="$(curl --silent --show-error --max-time 10 --noproxy '*' \
        --cacert "$WORK/cert.pem" --curves X25519 -o /dev/null -w '%{http_code}' \
        "https://127.0.0.1:$TLS_PORT/" 2>"$WORK/curl-hs.log")" ||
        fail "classical curl failed: $(cat "$WORK/curl-hs.log")"
    [ "$code" = 200 ] || fail "classical curl: HTTP $code"
}

# A hybrid attempt the server refuses before any ServerHello: the client
# offers only SecP384r1MLKEM1024, the server has X25519MLKEM768:X25519.
refused() {
    if OPENSSL_CONF="$WORK/openssl.cnf" curl --silent --max-time 10 --noproxy '*' \
        --cacert "$WORK/cert.pem" --curves SecP384r1MLKEM1024 -o /dev/null \
        "https://127.0.0.1:$TLS_PORT/" 2>"$WORK/curl-hs.log"; then
        fail "curl offering only SecP384r1MLKEM1024 was not refused"
    fi
}

H='pqtls_observe_handshakes_total{job="pqtls",group="X25519MLKEM768",outcome="completed",offered_pq="X25519MLKEM768"}'
C='pqtls_observe_handshakes_total{job="pqtls",group="x25519",outcome="completed",offered_pq="none"}'
F='pqtls_observe_handshakes_total{job="pqtls",group="none",outcome="alert",offered_pq="SecP384r1MLKEM1024"}'
SH="pqtls_observe_service_handshakes_total{job=\"pqtls\",port=\"$TLS_PORT\",group=\"X25519MLKEM768\",outcome=\"completed\"}"
SC="pqtls_observe_service_handshakes_total{job=\"pqtls\",port=\"$TLS_PORT\",group=\"x25519\",outcome=\"completed\"}"
SF="pqtls_observe_service_handshakes_total{job=\"pqtls\",port=\"$TLS_PORT\",group=\"none\",outcome=\"alert\"}"
P='pqtls_observe_path_handshakes_total{job="pqtls",client_prefix="127.0.0.0/24"}'

# Phase 1: every series appears.
hybrid
classical
refused
wait_value "sum($H)" 1
wait_value "sum($C)" 1
wait_value "sum($F)" 1
# A few scrapes of both series before phase 2, so that rate() extrapolates
# both the same way.
sleep 3
# Phase 2.
hybrid
hybrid
classical
refused
wait_value "sum($H)" 3
wait_value "sum($C)" 2
wait_value "sum($F)" 2
wait_value "sum($SH)" 3
wait_value "sum($SC)" 2
wait_value "sum($SF)" 2
wait_value "sum($P)" 7
wait_value "sum(pqtls_observe_handshakes_total{job=\"pqtls\",outcome!~\"completed|alert\"}) or vector(0)" 0

# Recording rules, evaluated every second: the service's hybrid share over
# the last 5 minutes is the phase-2 increase, 2 of 4 (2 hybrid, 1
# classical, 1 refused: a failure counts as not hybrid).
share="job_server_port_sni:pqtls_observe_service_handshakes_hybrid:ratio_rate5m{port=\"$TLS_PORT\"}"
ok=0
for _ in $(seq 1 50); do
    v="$(query "round($share, 0.001)")"
    if [ "$v" = 0.5 ]; then
        ok=1
        break
    fi
    sleep 0.2
done
[ "$ok" -eq 1 ] || fail "recording rule $share is '$v', expected 0.5 within 10 s"
note "ok: recording rule $share = 2/4"
# The refused hybrid attempts (no ServerHello, offered_pq a hybrid) count
# as hybrid failures: one of the three hybrid attempts of phase 2 (rate()
# extrapolates, so the exact value is not asserted); none is classical.
wait_value "count(job_instance:pqtls_observe_handshakes_hybrid_failed:ratio_rate5m{job=\"pqtls\"} > 0.1 < 0.6)" 1
wait_value "job_instance:pqtls_observe_handshakes_classical_failed:ratio_rate5m{job=\"pqtls\"}" 0
wait_value 'count(ALERTS{alertname=~"Pqtls.*"}) or vector(0)' 0

OK=1
note "prometheus.scrape: ok (3 hybrid, 2 classical, 2 refused hybrid handshakes through Prometheus)"
