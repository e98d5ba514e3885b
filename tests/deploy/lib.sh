# Shared helpers for the deployment tests (sourced, not run). Each test
# script calls deploy_init with the paths CMake hands it, then starts real
# servers (nginx, haproxy, openssl s_server) on loopback with pqtls loaded
# through OPENSSL_CONF, drives real clients at them and asserts the group
# that was negotiated.
#
# Everything lives in one fresh directory under the build tree; every
# process started here is recorded and killed by the EXIT trap; on failure
# the logs are printed and the directory is kept for a look.
#
# Usage in a test: deploy_init PQTLS_SO TLS_POKE WORK_ROOT NAME

# The repository root, for scripts/openssl-cnf.sh.
DEPLOY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../proc.sh
. "$DEPLOY_ROOT/tests/proc.sh"

DEPLOY_PIDS=()
DEPLOY_LOGS=()
DEPLOY_OK=0

# Watchdog: no server outlives the test even if the script itself is killed
# with SIGKILL (ctest's timeout) and its trap never runs.
DEPLOY_SERVER_LIFETIME=${DEPLOY_SERVER_LIFETIME:-150}

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

note() {
    printf '%s\n' "$*"
}

need_cmd() {
    # A missing peer is a failure, never a skip: CI installs every one of
    # them through scripts/deps.sh, so absence means a broken setup.
    command -v "$1" >/dev/null 2>&1 ||
        fail "$1 is not installed (Debian package $2); run scripts/deps.sh (as root) to install it"
}

deploy_cleanup() {
    local rc=$?
    stop_pids 10 "${DEPLOY_PIDS[@]}"
    if [ "$rc" -ne 0 ] || [ "$DEPLOY_OK" -ne 1 ]; then
        local f
        for f in "${DEPLOY_LOGS[@]}"; do
            [ -f "$f" ] || continue
            printf '\n----- %s (last 60 lines) -----\n' "$f" >&2
            tail -n 60 "$f" >&2 || true
        done
        printf '\n%s: FAILED; files kept in %s\n' "$DEPLOY_NAME" "$DEPLOY_DIR" >&2
        [ "$rc" -ne 0 ] || rc=1
    else
        rm -rf "$DEPLOY_DIR"
    fi
    exit "$rc"
}

# deploy_init PQTLS_SO TLS_POKE WORK_ROOT NAME
deploy_init() {
    [ $# -eq 4 ] || fail "deploy_init needs PQTLS_SO TLS_POKE WORK_ROOT NAME"
    PQTLS_SO="$1"
    TLS_POKE="$2"
    DEPLOY_NAME="$4"
    [ -f "$PQTLS_SO" ] || fail "provider module $PQTLS_SO is missing; build first"
    [ -x "$TLS_POKE" ] || fail "tls_poke $TLS_POKE is missing; build first"
    need_cmd openssl openssl
    mkdir -p "$3"
    DEPLOY_DIR="$(mktemp -d "$3/$DEPLOY_NAME.XXXXXX")"
    trap deploy_cleanup EXIT
    trap 'exit 143' TERM INT HUP

    # The openssl.cnf a deployment uses (docs/deploy.md shows the same
    # sections): the default provider plus pqtls, both activated.
    OSSL_CNF="$DEPLOY_DIR/openssl-pqtls.cnf"
    "$DEPLOY_ROOT/scripts/openssl-cnf.sh" "$PQTLS_SO" >"$OSSL_CNF"

    # A throwaway self-signed P-256 certificate for localhost.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$DEPLOY_DIR/key.pem" -out "$DEPLOY_DIR/cert.pem" -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        >"$DEPLOY_DIR/req.log" 2>&1 || {
        DEPLOY_LOGS+=("$DEPLOY_DIR/req.log")
        fail "openssl req could not make a test certificate"
    }
    cat "$DEPLOY_DIR/cert.pem" "$DEPLOY_DIR/key.pem" >"$DEPLOY_DIR/cert+key.pem"

    # The provider must load and show its groups; otherwise every later
    # failure would be a confusing one.
    OPENSSL_CONF="$OSSL_CNF" openssl list -providers >"$DEPLOY_DIR/providers.txt" 2>&1 || true
    grep -q 'pqtls' "$DEPLOY_DIR/providers.txt" || {
        DEPLOY_LOGS+=("$DEPLOY_DIR/providers.txt")
        fail "openssl does not load $PQTLS_SO through $OSSL_CNF"
    }
}

# tcpdump_wait PID LOG: wait (10 s at most) until the tcpdump started as PID
# writing LOG listens; fail saying why when it cannot capture or exited.
tcpdump_wait() {
    local pid="$1" log="$2"
    for _ in $(seq 1 100); do
        grep -q 'listening on' "$log" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            if grep -qiE 'permission|not permitted' "$log"; then
                fail "tcpdump cannot capture on lo: $(head -n 2 "$log"); this test needs root or CAP_NET_RAW (CI runs it as root)"
            fi
            fail "tcpdump exited: $(head -n 3 "$log")"
        fi
        sleep 0.1
    done
    grep -q 'listening on' "$log" || fail "tcpdump did not start within 10 s"
}

# Start a watchdog for a server pid.
watchdog() {
    kill_after "$DEPLOY_SERVER_LIFETIME" "$1"
    DEPLOY_PIDS+=("$KILL_AFTER_PID")
}

# A candidate port: 20000-32767 stays below Linux's ephemeral range, so
# outgoing connections of other tests do not take it. Collisions with other
# listeners are handled by the caller's retry (port_owned_by).
random_port() {
    printf '%d\n' $((20000 + (RANDOM * 32768 + RANDOM) % 12768))
}

# True when process PID listens on 127.0.0.1:PORT (from /proc, so that a
# port that someone else holds is never taken for ours).
port_owned_by() {
    local pid="$1" port="$2" hex inode
    hex="$(printf '%04X' "$port")"
    for inode in $(awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
        if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "socket:\[$inode\]"; then
            return 0
        fi
    done
    return 1
}

# wait_listening PID PORT LOG: 0 when PID listens on PORT within 10 s,
# 1 when PID exited (e.g. the port was taken), fails on a hang.
wait_listening() {
    local pid="$1" port="$2" i
    for i in $(seq 1 100); do
        port_owned_by "$pid" "$port" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    fail "server pid $pid did not listen on 127.0.0.1:$port within 10 s (log: $3)"
}

# Wait for a server pid that failed to bind to go away, and drop it.
reap() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# start_nginx NAME CONF_TEMPLATE_FUNCTION: the function writes nginx.conf
# for the ports given as its arguments (how many: NGINX_NPORTS, default 1).
# Sets NGINX_PORTS (array), NGINX_LOG_DIR. nginx runs in the foreground in
# one process (daemon off, master_process off), so no `user` switch ever
# happens and it works as root and as any other user alike.
start_nginx() {
    local name="$1" writer="$2" n="${NGINX_NPORTS:-1}" try i
    need_cmd nginx nginx
    local prefix="$DEPLOY_DIR/$name"
    mkdir -p "$prefix/logs" "$prefix/tmp" "$prefix/html"
    printf 'hello from pqtls nginx\n' >"$prefix/html/index.html"
    NGINX_LOG_DIR="$prefix/logs"
    DEPLOY_LOGS+=("$prefix/logs/error.log" "$prefix/logs/access.log")
    for try in 1 2 3 4 5 6 7 8; do
        NGINX_PORTS=()
        for i in $(seq 1 "$n"); do
            NGINX_PORTS+=("$(random_port)")
        done
        "$writer" "$prefix" "${NGINX_PORTS[@]}" >"$prefix/nginx.conf"
        OPENSSL_CONF="$OSSL_CNF" nginx -p "$prefix/" -c "$prefix/nginx.conf" \
            -e "$prefix/logs/error.log" >>"$prefix/logs/stdout.log" 2>&1 &
        local pid=$!
        DEPLOY_PIDS+=("$pid")
        watchdog "$pid"
        local all=1 port
        for port in "${NGINX_PORTS[@]}"; do
            if ! wait_listening "$pid" "$port" "$prefix/logs/error.log"; then
                all=0
                break
            fi
        done
        if [ "$all" -eq 1 ]; then
            NGINX_PID=$pid
            note "nginx ($name) pid $pid on 127.0.0.1 ports ${NGINX_PORTS[*]}"
            return 0
        fi
        reap "$pid"
        grep -q 'Address already in use' "$prefix/logs/error.log" ||
            fail "nginx ($name) exited at startup"
    done
    fail "nginx ($name): no free port after 8 tries"
}

# The http{} boilerplate every test nginx needs: temp paths under the
# prefix, and a log format that records the negotiated group ($ssl_curve)
# beside the groups the client offered ($ssl_curves) and the request line.
nginx_http_common() {
    local prefix="$1"
    cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $prefix/logs/nginx.pid;
error_log $prefix/logs/error.log info;
events { worker_connections 128; }
http {
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    log_format pq 'pq proto=\$ssl_protocol group=\$ssl_curve offered=\$ssl_curves uri=\$request_uri status=\$status';
    access_log $prefix/logs/access.log pq;
    ssl_certificate $DEPLOY_DIR/cert.pem;
    ssl_certificate_key $DEPLOY_DIR/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_timeout 0;
EOF
}

# nginx_log_for URI: nginx's access-log line for the request to URI.
nginx_log_for() {
    local line
    line="$(grep -F " uri=$1 " "$NGINX_LOG_DIR/access.log" | tail -n 1)" || true
    [ -n "$line" ] || fail "nginx logged no request for $1"
    printf '%s\n' "$line"
}

# expect_nginx_group URI WANT [WHAT]: the group field ($ssl_curve) of that
# request's log line must be exactly WANT.
expect_nginx_group() {
    local line got
    line="$(nginx_log_for "$1")"
    got="${line#* group=}"
    got="${got%% *}"
    [ "$got" = "$2" ] || fail "${3:-$1}: nginx negotiated group '$got', expected '$2' (log: $line)"
    note "ok: ${3:-$1}: nginx logged group=$got"
    note "    $line"
}

# curl_get URL [curl options...]: fetch with bounded time, loopback only.
curl_get() {
    local url="$1"
    shift
    curl --silent --show-error --insecure --max-time 10 --connect-timeout 5 \
        --noproxy '*' --output /dev/null --write-out '%{http_code}' "$@" "$url"
}

# curl_plain URL [options]: curl as Debian ships it, no pqtls.
curl_plain() {
    (
        unset OPENSSL_CONF
        curl_get "$@"
    )
}

# curl_pq URL [options]: curl with pqtls loaded through OPENSSL_CONF.
curl_pq() {
    OPENSSL_CONF="$OSSL_CNF" curl_get "$@"
}

expect_http_200() {
    local what="$1" code
    shift
    code="$("$@" 2>"$DEPLOY_DIR/curl.err")" ||
        fail "$what: curl failed: $(cat "$DEPLOY_DIR/curl.err")"
    [ "$code" = "200" ] || fail "$what: HTTP status $code, expected 200"
}

# start_s_server NAME GROUPS: openssl s_server with pqtls on a port the
# kernel picks (-accept 127.0.0.1:0). Sets S_SERVER_PORT.
start_s_server() {
    local name="$1" groups="$2" log="$DEPLOY_DIR/$1.log" i
    DEPLOY_LOGS+=("$log")
    # Made before the server starts: the loop below reads it at once, and
    # the background redirection may not have created it yet (sed would
    # fail on a missing file and set -e end the test).
    : >"$log"
    OPENSSL_CONF="$OSSL_CNF" openssl s_server -accept 127.0.0.1:0 -www \
        -cert "$DEPLOY_DIR/cert.pem" -key "$DEPLOY_DIR/key.pem" \
        -groups "$groups" -tls1_3 >"$log" 2>&1 </dev/null &
    local pid=$!
    DEPLOY_PIDS+=("$pid")
    watchdog "$pid"
    S_SERVER_PORT=
    for i in $(seq 1 100); do
        S_SERVER_PORT="$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")"
        [ -z "$S_SERVER_PORT" ] || break
        kill -0 "$pid" 2>/dev/null || fail "s_server ($name) exited at startup"
        sleep 0.1
    done
    [ -n "$S_SERVER_PORT" ] || fail "s_server ($name) printed no ACCEPT line within 10 s"
    wait_listening "$pid" "$S_SERVER_PORT" "$log" || fail "s_server ($name) exited"
    S_SERVER_PID=$pid
    note "s_server ($name) pid $pid on 127.0.0.1:$S_SERVER_PORT, groups $groups"
}

# start_haproxy NAME WRITER: like start_nginx; WRITER PREFIX PORT writes the
# configuration. Sets HAPROXY_PORT, HAPROXY_LOG.
start_haproxy() {
    local name="$1" writer="$2" try
    need_cmd haproxy haproxy
    local prefix="$DEPLOY_DIR/$name"
    mkdir -p "$prefix"
    HAPROXY_LOG="$prefix/haproxy.log"
    DEPLOY_LOGS+=("$HAPROXY_LOG")
    for try in 1 2 3 4 5 6 7 8; do
        HAPROXY_PORT="$(random_port)"
        "$writer" "$prefix" "$HAPROXY_PORT" >"$prefix/haproxy.cfg"
        # -db: foreground, no daemon; logs go to stderr (log stderr).
        OPENSSL_CONF="$OSSL_CNF" haproxy -db -f "$prefix/haproxy.cfg" >>"$HAPROXY_LOG" 2>&1 </dev/null &
        local pid=$!
        DEPLOY_PIDS+=("$pid")
        watchdog "$pid"
        if wait_listening "$pid" "$HAPROXY_PORT" "$HAPROXY_LOG"; then
            HAPROXY_PID=$pid
            note "haproxy ($name) pid $pid on 127.0.0.1:$HAPROXY_PORT"
            return 0
        fi
        reap "$pid"
        grep -qiE 'cannot bind|address already in use' "$HAPROXY_LOG" ||
            fail "haproxy ($name) exited at startup"
    done
    fail "haproxy ($name): no free port after 8 tries"
}

# poke PORT GROUP MODE EXPECT...: one tls_poke, asserting its expectation.
# chromium_dump_dom URL OUT: headless Debian Chromium with its default TLS
# settings loads URL and writes the rendered DOM to OUT; fails the test if it
# does not finish within 60 s or exits non-zero.
chromium_dump_dom() {
    # A fresh profile and HOME, so nothing from an earlier run (or the
    # user's own browser) changes what is offered.
    local profile="$DEPLOY_DIR/chromium-profile" rc=0 pid
    mkdir -p "$profile" "$DEPLOY_DIR/home"
    local flags=(--headless --disable-gpu --no-first-run --disable-background-networking
        --disable-component-update --disable-sync --disable-extensions
        --user-data-dir="$profile" --ignore-certificate-errors)
    # The sandbox needs user namespaces that root (and many containers) do
    # not get; the TLS stack is the same with or without it.
    [ "$(id -u)" -ne 0 ] || flags+=(--no-sandbox)
    DEPLOY_LOGS+=("$DEPLOY_DIR/chromium.err")
    HOME="$DEPLOY_DIR/home" timeout -k 5 60 chromium "${flags[@]}" --dump-dom "$1" \
        >"$2" 2>"$DEPLOY_DIR/chromium.err" </dev/null &
    pid=$!
    DEPLOY_PIDS+=("$pid")
    wait "$pid" || rc=$?
    [ "$rc" -ne 124 ] || fail "chromium did not finish within 60 s"
    [ "$rc" -eq 0 ] || fail "chromium exited with status $rc"
}

poke() {
    local port="$1" group="$2" mode="$3" out
    shift 3
    out="$("$TLS_POKE" 127.0.0.1 "$port" --group "$group" --mode "$mode" --timeout-ms 5000 "$@" 2>&1)" || {
        fail "tls_poke $group --mode $mode $* on port $port: got '$out'"
    }
    note "ok: $group $mode -> $out"
}

deploy_done() {
    DEPLOY_OK=1
    note "$DEPLOY_NAME: all assertions held"
}
