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
need_cmd apache2 apache2
need_cmd apache2ctl apache2
AP_VERSION="$(apache2 -v | sed -n 's|^Server version: Apache/\([0-9.]*\).*|\1|p')"
MODS=/usr/lib/apache2/modules

AP="$SVC_DIR/apache2"
mkdir -p "$AP/htdocs" "$AP/logs" "$AP/run" "$AP/lock"
printf 'hello from pqtls apache\n' >"$AP/htdocs/index.html"
AP_ERR="$AP/logs/error.log"
AP_ACCESS="$AP/logs/access.log"
SVC_LOGS+=("$AP_ERR" "$AP/apache2ctl.log")

# envvars as Debian's, everything under $AP; OPENSSL_CONF when $1 is "pq".
write_envvars() {
    cat <<EOF
unset HOME
export APACHE_RUN_USER=www-data
export APACHE_RUN_GROUP=www-data
export APACHE_PID_FILE=$AP/run/apache2.pid
export APACHE_RUN_DIR=$AP/run
export APACHE_LOCK_DIR=$AP/lock
export APACHE_LOG_DIR=$AP/logs
export LANG=C
EOF
    [ "$1" != pq ] || printf 'export OPENSSL_CONF=%s\n' "$OSSL_CNF"
}

write_conf() {
    cat <<EOF
ServerRoot $AP
DefaultRuntimeDir \${APACHE_RUN_DIR}
PidFile \${APACHE_PID_FILE}
Mutex file:\${APACHE_LOCK_DIR} default
ServerName localhost
ErrorLog \${APACHE_LOG_DIR}/error.log
LogLevel info
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule ssl_module $MODS/mod_ssl.so
User \${APACHE_RUN_USER}
Group \${APACHE_RUN_GROUP}
StartServers 1
ServerLimit 1
ThreadsPerChild 4
MaxRequestWorkers 4
DocumentRoot $AP/htdocs
<Directory $AP/htdocs>
  Require all granted
</Directory>
LogFormat "%h \"%r\" %>s proto=%{SSL_PROTOCOL}x cipher=%{SSL_CIPHER}x" pq
CustomLog \${APACHE_LOG_DIR}/access.log pq
Listen 127.0.0.1:$1
<VirtualHost 127.0.0.1:$1>
  SSLEngine on
  SSLCertificateFile $SVC_DIR/cert.pem
  SSLCertificateKeyFile $SVC_DIR/key.pem
  SSLProtocol -all +TLSv1.2 +TLSv1.3
  SSLOpenSSLConfCmd Groups $SVC_GROUPS
</VirtualHost>
EOF
}

apachectl() {
    APACHE_CONFDIR="$AP" apache2ctl "$@" >>"$AP/apache2ctl.log" 2>&1
}

# Without OPENSSL_CONF: configtest passes, start fails and says why.
svc_ports 1
write_conf "${SVC_PORTS[0]}" >"$AP/apache2.conf"
write_envvars plain >"$AP/envvars"
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
write_envvars pq >"$AP/envvars"
svc_track_pidfile "$AP/run/apache2.pid"
AP_PID=
for _ in 1 2 3 4 5 6; do
    write_conf "${SVC_PORTS[0]}" >"$AP/apache2.conf"
    : >"$AP_ERR"
    rm -f "$AP/run/apache2.pid"
    rc=0
    apachectl start || rc=$?
    pid=
    for _ in $(seq 1 50); do
        pid="$(cat "$AP/run/apache2.pid" 2>/dev/null)" || pid=
        [ -z "$pid" ] || break
        [ "$rc" -eq 0 ] || break
        sleep 0.1
    done
    if [ -n "$pid" ]; then
        svc_track "$pid"
        if svc_wait_ports "$pid" "$AP_ERR" "${SVC_PORTS[0]}"; then
            AP_PID=$pid
            break
        fi
    fi
    grep -q 'Address already in use' "$AP_ERR" "$AP/apache2ctl.log" ||
        fail "apache did not start (apache2ctl status $rc)"
    svc_ports 1
done
[ -n "$AP_PID" ] || fail "apache: no free port after 6 tries"
PORT=${SVC_PORTS[0]}
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
