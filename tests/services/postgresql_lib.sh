# shellcheck shell=bash
# PostgreSQL for tests/services and tests/doctor (sourced after lib.sh and
# svc_init): initdb into $SVC_DIR/postgresql when sourced (as user postgres
# when run as root: PostgreSQL refuses root), then
#
#   pg_args PORT        the server's arguments for PORT (TLS on, the test
#                       certificate, no Unix socket), one per line
#   pg_start            the server as a pqtls administrator would try it:
#                       pqtls and a Groups default in OPENSSL_CONF,
#                       ssl_ecdh_curve at its default; sets PG_PID, PG_PORT
#
# PG_BIN, PG_VERSION, PG_LOG and AS_PG (the setpriv prefix, or empty) too.

PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/postgres" ]; then
    fail "PostgreSQL is not installed (Debian package postgresql); run scripts/deps.sh"
fi
need_cmd psql postgresql-client
PG_VERSION="$("$PG_BIN/postgres" --version | sed -n 's/.*(PostgreSQL) \([0-9.]*\).*/\1/p')"

PG="$SVC_DIR/postgresql"
mkdir -p "$PG"
cp "$SVC_DIR/cert.pem" "$SVC_DIR/key.pem" "$PG/"
chmod 600 "$PG/key.pem"
PG_LOG="$PG/postgres.log"
SVC_LOGS+=("$PG_LOG" "$PG/initdb.log")

# PostgreSQL refuses to run as root: as root, run it as user postgres
# (setpriv execs, so the pid is the server's own).
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$PG"
    AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi

"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG/data" -A trust -U postgres --no-sync \
    >"$PG/initdb.log" 2>&1 || fail "initdb failed"

pg_args() {
    printf '%s\n' -D "$PG/data" -c listen_addresses=127.0.0.1 -c "port=$1" \
        -c unix_socket_directories= -c ssl=on -c "ssl_cert_file=$PG/cert.pem" \
        -c "ssl_key_file=$PG/key.pem" -c log_connections=on -c fsync=off
}

# pg_start: see above; retried on other ports when one is taken.
pg_start() {
    local pid args
    PG_PID=
    for _ in 1 2 3 4 5 6; do
        svc_ports 1
        mapfile -t args < <(pg_args "${SVC_PORTS[0]}")
        OPENSSL_CONF="$OSSL_CNF_GROUPS" "${AS_PG[@]}" "$PG_BIN/postgres" "${args[@]}" \
            >>"$PG_LOG" 2>&1 </dev/null &
        pid=$!
        svc_track "$pid"
        if svc_wait_ports "$pid" "$PG_LOG" "${SVC_PORTS[0]}"; then
            PG_PID=$pid
            PG_PORT=${SVC_PORTS[0]}
            return 0
        fi
        stop_pids 30 "$pid"
        grep -q 'Address already in use' "$PG_LOG" || fail "postgres exited at startup"
    done
    fail "postgres: no free port after 6 tries"
}
