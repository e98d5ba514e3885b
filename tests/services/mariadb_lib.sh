# shellcheck shell=bash disable=SC2034 # MY_* are read by the scripts that source this
# MariaDB for tests/services and tests/doctor (sourced after lib.sh and
# svc_init): Debian's mariadbd (system OpenSSL 3) with a data directory
# under $SVC_DIR/mariadb, made by mariadb-install-db when this file is
# sourced, TLS with the test certificate, loopback only.
#
# start_mariadb CNF: mariadbd with OPENSSL_CONF=CNF on a free port; sets
# MY_PID, MY_PORT. One at a time (one data directory): stop_pids 100
# "$MY_PID" before the next. MY_VERSION and MARIADBD are set when sourced.

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
