#!/usr/bin/env bash
# services.apache: Debian's Apache httpd 2.4 with mod_ssl (OpenSSL 3.0)
# negotiates X25519MLKEM768 with the settings of docs/deploy.md:
#
#   /etc/apache2/envvars:   export OPENSSL_CONF=/etc/ssl/openssl-pqtls.cnf
#   <VirtualHost *:443>:    SSLOpenSSLConfCmd Groups X25519MLKEM768:X25519:prime256v1
#
# started the Debian way, through apache2ctl, which sources envvars (as the
# apache2 systemd unit does). APACHE_CONFDIR points apache2ctl at this
# test's own directory, with its own apache2.conf and envvars.
#
# Without OPENSSL_CONF in envvars Apache refuses to start (AH02407: group
# 'X25519MLKEM768' cannot be set), and `apache2ctl configtest` says
# "Syntax OK" all the same: SSLOpenSSLConfCmd is applied after the syntax
# check. Both asserted.
#
# mod_ssl 2.4 has no variable for the negotiated group (SSL_PROTOCOL and
# SSL_CIPHER only), so Apache cannot log it.
#
# Usage: apache.sh PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
svc_init apache "$@"
# shellcheck source=apache_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/apache_lib.sh"
ap_setup apache2

# Without OPENSSL_CONF: configtest passes, start fails and says why.
svc_ports 1
ap_write_conf "${SVC_PORTS[0]}" "$SVC_GROUPS" >"$AP/apache2.conf"
ap_write_envvars plain >"$AP/envvars"
apachectl configtest || fail "apache2ctl configtest failed: $(tail -n 3 "$AP/apache2ctl.log")"
grep -q 'Syntax OK' "$AP/apache2ctl.log" || fail "apache2ctl configtest did not say Syntax OK"
note "ok: without OPENSSL_CONF in envvars: apache2ctl configtest says Syntax OK"
if apachectl start; then
    pid="$(cat "$AP/run/apache2.pid" 2>/dev/null)" || pid=
    [ -z "$pid" ] || svc_track "$pid"
    fail "apache started without OPENSSL_CONF although its Groups name X25519MLKEM768"
fi
grep -q "AH02407: \"SSLOpenSSLConfCmd Groups $SVC_GROUPS\" failed" "$AP_ERR" ||
    fail "apache without OPENSSL_CONF: no AH02407 in the error log"
note "ok: without OPENSSL_CONF in envvars: apache2ctl start fails:"
note "    error.log: $(grep -m1 -o "group 'X25519MLKEM768' cannot be set" "$AP_ERR")"

# With it.
ap_write_envvars pq >"$AP/envvars"
ap_start
PORT=$AP_PORT
note "apache $AP_VERSION pid $AP_PID on 127.0.0.1:$PORT"
obs_capture "$PORT=https:direct"

HYB=X25519MLKEM768:X25519
tls_expect "https, client $HYB" 0x11ec+nohrr -connect "127.0.0.1:$PORT" -groups $HYB
tls_expect "https, client X25519 (no pqtls)" 0x001d+nohrr -connect "127.0.0.1:$PORT" -groups X25519
tls_expect "https, client P-256 first, then $HYB" 0x0017+nohrr \
    -connect "127.0.0.1:$PORT" -groups P-256:$HYB

# A whole request over the hybrid connection, and what the access log can
# say about it (no group).
code="$(OPENSSL_CONF="$OSSL_CNF" curl --silent --insecure --max-time 10 --noproxy '*' \
    --curves X25519MLKEM768 --output /dev/null --write-out '%{http_code}' \
    "https://127.0.0.1:$PORT/index.html")" || fail "curl + pqtls --curves X25519MLKEM768 failed"
[ "$code" = 200 ] || fail "curl + pqtls --curves X25519MLKEM768: HTTP $code"
for _ in $(seq 1 30); do
    grep -q '"GET /index.html HTTP/1.1" 200' "$AP_ACCESS" 2>/dev/null && break
    sleep 0.1
done
note "ok: curl + pqtls --curves X25519MLKEM768 (hybrid only): HTTP 200"
note "    access.log: $(grep '"GET /index.html HTTP/1.1" 200' "$AP_ACCESS" | tail -n 1)"

scan_expect "127.0.0.1:$PORT" supported X25519MLKEM768
scan_expect "https://127.0.0.1:$PORT/" supported X25519MLKEM768

svc_done "$AP_VERSION"
