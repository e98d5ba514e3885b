# shellcheck shell=bash disable=SC2034 # AP_* are read by the scripts that source this
# Apache httpd for tests/services and tests/doctor (sourced after lib.sh and
# svc_init): an instance under $SVC_DIR/NAME, started the Debian way with
# apache2ctl, which sources the instance's own envvars (APACHE_CONFDIR
# points apache2ctl at it, as the apache2 unit reads /etc/apache2/envvars).
#
#   ap_setup NAME          the instance's directories; sets AP, AP_ERR, AP_ACCESS
#   ap_write_envvars pq|plain   envvars as Debian's, with OPENSSL_CONF when "pq"
#   ap_write_conf PORT [GROUPS] apache2.conf: one TLS virtual host on PORT,
#                          SSLOpenSSLConfCmd Groups GROUPS unless GROUPS is empty
#   apachectl ARGS...      apache2ctl for the instance (output in its log)
#   ap_start [GROUPS]      start on a free port (retried when one is taken),
#                          default GROUPS $SVC_GROUPS; sets AP_PID, AP_PORT
#
# AP_VERSION is set when this file is sourced.

need_cmd apache2 apache2
need_cmd apache2ctl apache2
AP_VERSION="$(apache2 -v | sed -n 's|^Server version: Apache/\([0-9.]*\).*|\1|p')"
AP_MODS=/usr/lib/apache2/modules

ap_setup() {
    AP="$SVC_DIR/$1"
    mkdir -p "$AP/htdocs" "$AP/logs" "$AP/run" "$AP/lock"
    printf 'hello from pqtls apache\n' >"$AP/htdocs/index.html"
    AP_ERR="$AP/logs/error.log"
    AP_ACCESS="$AP/logs/access.log"
    SVC_LOGS+=("$AP_ERR" "$AP/apache2ctl.log")
}

ap_write_envvars() {
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

ap_write_conf() {
    cat <<EOF
ServerRoot $AP
DefaultRuntimeDir \${APACHE_RUN_DIR}
PidFile \${APACHE_PID_FILE}
Mutex file:\${APACHE_LOCK_DIR} default
ServerName localhost
ErrorLog \${APACHE_LOG_DIR}/error.log
LogLevel info
LoadModule mpm_event_module $AP_MODS/mod_mpm_event.so
LoadModule authz_core_module $AP_MODS/mod_authz_core.so
LoadModule ssl_module $AP_MODS/mod_ssl.so
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
EOF
    [ -z "${2:-}" ] || printf '  SSLOpenSSLConfCmd Groups %s\n' "$2"
    printf '</VirtualHost>\n'
}

apachectl() {
    APACHE_CONFDIR="$AP" apache2ctl "$@" >>"$AP/apache2ctl.log" 2>&1
}

ap_start() {
    local groups="${1-$SVC_GROUPS}" rc pid
    svc_track_pidfile "$AP/run/apache2.pid"
    AP_PID=
    svc_ports 1
    for _ in 1 2 3 4 5 6; do
        ap_write_conf "${SVC_PORTS[0]}" "$groups" >"$AP/apache2.conf"
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
    AP_PORT=${SVC_PORTS[0]}
}
