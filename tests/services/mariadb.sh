#!/usr/bin/env bash
# services.mariadb: Debian 12's MariaDB 10.11 uses the system OpenSSL 3.0
# (mariadbd links libssl.so.3; version_ssl_library says "OpenSSL 3.0.x")
# and has no setting of its own for TLS groups, so OpenSSL's defaults
# apply. Loading pqtls alone therefore changes nothing: a client offering
# X25519MLKEM768 then X25519 gets X25519 after a HelloRetryRequest. With a
# default group list in the OPENSSL_CONF file (the "system_default" section
# of docs/deploy.md, Groups = X25519MLKEM768:X25519:prime256v1) it
# negotiates X25519MLKEM768. Both asserted, the second being the documented
# configuration (OPENSSL_CONF through a systemd drop-in for mariadb.service).
#
# MariaDB reports protocol and cipher (SHOW STATUS LIKE 'Ssl_version',
# 'Ssl_cipher'), never the group.
#
# Usage: mariadb.sh PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
svc_init mariadb "$@"
need_cmd mariadbd mariadb-server
need_cmd mariadb-install-db mariadb-server
need_cmd mariadb mariadb-client
MY_VERSION="$(mariadbd --version | sed -n 's/.*Ver \([0-9][0-9.]*\)-MariaDB.*/\1/p')"
MARIADBD="$(command -v mariadbd)"

libs="$(ldd "$MARIADBD")"
grep -q 'libssl\.so\.3' <<<"$libs" || fail "mariadbd does not link OpenSSL 3: $libs"
note "ok: $MARIADBD links $(grep -o 'libssl\.so\.3' <<<"$libs" | head -n 1)"

MY="$SVC_DIR/mariadb"
mkdir -p "$MY"
MY_LOG="$MY/error.log"
SVC_LOGS+=("$MY_LOG" "$MY/install.log" "$MY/stdout.log")
MY_USER="$(id -un)"

# my.cnf: small InnoDB files, loopback TCP, a socket in our directory.
write_cnf() {
    cat <<EOF
[mysqld]
user = $MY_USER
datadir = $MY/data
socket = $MY/mysqld.sock
pid-file = $MY/mysqld.pid
bind-address = 127.0.0.1
port = $1
skip-name-resolve
innodb_log_file_size = 4M
innodb_buffer_pool_size = 16M
innodb_data_file_path = ibdata1:4M:autoextend
log-error = $MY_LOG
ssl-cert = $SVC_DIR/cert.pem
ssl-key = $SVC_DIR/key.pem
EOF
}

write_cnf 0 >"$MY/my.cnf"
mariadb-install-db --defaults-file="$MY/my.cnf" --auth-root-authentication-method=normal \
    --skip-test-db >"$MY/install.log" 2>&1 || fail "mariadb-install-db failed"

# start_mariadb CNF: mariadbd with OPENSSL_CONF=CNF. Sets MY_PID, MY_PORT.
start_mariadb() {
    local pid
    MY_PID=
    for _ in 1 2 3 4 5 6; do
        svc_ports 1
        write_cnf "${SVC_PORTS[0]}" >"$MY/my.cnf"
        : >"$MY_LOG"
        OPENSSL_CONF="$1" "$MARIADBD" --defaults-file="$MY/my.cnf" >>"$MY/stdout.log" 2>&1 </dev/null &
        pid=$!
        svc_track "$pid"
        if svc_wait_ports "$pid" "$MY_LOG" "${SVC_PORTS[0]}"; then
            MY_PID=$pid
            MY_PORT=${SVC_PORTS[0]}
            note "mariadbd $MY_VERSION pid $pid on 127.0.0.1:$MY_PORT, OPENSSL_CONF=$(basename "$1")"
            return 0
        fi
        stop_pids 100 "$pid"
        grep -q 'Address already in use' "$MY_LOG" || fail "mariadbd exited at startup"
    done
    fail "mariadbd: no free port after 6 tries"
}

my_sql() {
    mariadb --no-defaults -h 127.0.0.1 -P "$MY_PORT" -u root --ssl --connect-timeout=10 \
        -N -B -e "$1"
}

HYB=X25519MLKEM768:X25519

# pqtls loaded, no group list: OpenSSL's default groups, no hybrid.
start_mariadb "$OSSL_CNF"
obs_capture "$MY_PORT=mysql"
lib="$(my_sql "SHOW VARIABLES LIKE 'version_ssl_library'")" || fail "mariadb client: $lib"
[[ "$lib" == *"OpenSSL 3.0"* ]] || fail "version_ssl_library is '$lib', expected OpenSSL 3.0"
note "ok: $(tr '\t' ' ' <<<"$lib")"
tls_expect "provider only, client $HYB" 0x001d+hrr \
    -connect "127.0.0.1:$MY_PORT" -starttls mysql -groups $HYB
stop_pids 100 "$MY_PID"

# The documented configuration: provider and Groups in OPENSSL_CONF.
start_mariadb "$OSSL_CNF_GROUPS"
obs_capture "$MY_PORT=mysql"
tls_expect "provider + Groups, client $HYB" 0x11ec+nohrr \
    -connect "127.0.0.1:$MY_PORT" -starttls mysql -groups $HYB
tls_expect "provider + Groups, client X25519 (no pqtls)" 0x001d+nohrr \
    -connect "127.0.0.1:$MY_PORT" -starttls mysql -groups X25519
status="$(my_sql "SHOW STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")" ||
    fail "mariadb client: $status"
note "ok: the mariadb client over TLS; what MariaDB reports: $(tr '\t\n' '= ' <<<"$status")"
scan_expect "mysql://127.0.0.1:$MY_PORT" supported X25519MLKEM768

svc_done "$MY_VERSION"
