#!/usr/bin/env bash
# services.postgresql: Debian 12's PostgreSQL 15 cannot negotiate a hybrid
# group, even with pqtls loaded and a default group list in OPENSSL_CONF.
#
# Why: PostgreSQL up to 17 hands OpenSSL exactly one curve, from
# ssl_ecdh_curve (default prime256v1): it looks the name up as an EC curve
# (OBJ_sn2nid, EC_KEY_new_by_curve_name) and installs it with
# SSL_CTX_set_tmp_ecdh, which on OpenSSL 3.0 replaces the whole group list
# with that one curve. So:
#   - the server negotiates secp256r1 and nothing else, whatever the
#     OpenSSL configuration says (asserted with the Groups of
#     openssl-pqtls-groups.cnf in its environment);
#   - a client that offers X25519MLKEM768 and X25519 but not P-256 is
#     refused (handshake_failure; the log says "no suitable key share");
#   - ssl_ecdh_curve = 'X25519MLKEM768' stops the server at startup
#     ("ECDH: unrecognized curve name"), and even 'X25519' does ("ECDH:
#     could not create key").
# PostgreSQL 18's ssl_groups takes an OpenSSL group list and can name
# X25519MLKEM768; on 15, put a TLS terminator that can in front, or upgrade
# (docs/deploy.md). PostgreSQL logs protocol and cipher per connection
# (log_connections), never the group.
#
# Usage: postgresql.sh PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
svc_init postgresql "$@"
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

# The hybrid name in ssl_ecdh_curve, and X25519: the server does not start.
for curve in X25519MLKEM768 X25519; do
    svc_ports 1
    mapfile -t args < <(pg_args "${SVC_PORTS[0]}")
    out="$PG/curve-$curve.log"
    rc=0
    OPENSSL_CONF="$OSSL_CNF_GROUPS" timeout -k 2 30 "${AS_PG[@]}" "$PG_BIN/postgres" "${args[@]}" \
        -c "ssl_ecdh_curve=$curve" >"$out" 2>&1 </dev/null || rc=$?
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
        SVC_LOGS+=("$out")
        fail "postgres with ssl_ecdh_curve = '$curve': status $rc, expected a refusal at startup"
    fi
    grep -q 'FATAL:  ECDH: ' "$out" || {
        SVC_LOGS+=("$out")
        fail "postgres with ssl_ecdh_curve = '$curve': no ECDH error"
    }
    note "ok: ssl_ecdh_curve = '$curve': the server does not start: $(grep -m1 -o 'ECDH: .*' "$out")"
done

# The server as a pqtls administrator would try it: provider and Groups in
# OPENSSL_CONF, ssl_ecdh_curve left at its default.
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
        break
    fi
    stop_pids 30 "$pid"
    grep -q 'Address already in use' "$PG_LOG" || fail "postgres exited at startup"
done
[ -n "$PG_PID" ] || fail "postgres: no free port after 6 tries"
PORT=${SVC_PORTS[0]}
note "postgres $PG_VERSION pid $PG_PID on 127.0.0.1:$PORT"
obs_capture "$PORT=postgres"

curve="$(PGSSLMODE=require PGCONNECT_TIMEOUT=10 psql -h 127.0.0.1 -p "$PORT" -U postgres -At \
    -c 'SHOW ssl_ecdh_curve' 2>&1)" || fail "psql: $curve"
[ "$curve" = prime256v1 ] || fail "ssl_ecdh_curve is '$curve', expected prime256v1"
note "ok: SHOW ssl_ecdh_curve: $curve (one classical curve; no group list setting in $PG_VERSION)"

PGS=(-connect "127.0.0.1:$PORT" -starttls postgres)
tls_expect "client X25519MLKEM768:X25519:P-256" 0x0017+hrr "${PGS[@]}" -groups X25519MLKEM768:X25519:P-256
tls_expect_fail "client X25519MLKEM768:X25519 (no P-256)" "${PGS[@]}" -groups X25519MLKEM768:X25519
grep -q 'could not accept SSL connection: no suitable key share' "$PG_LOG" ||
    fail "postgres did not log why it refused the client without P-256"
note "    postgres.log: could not accept SSL connection: no suitable key share"
tls_expect "client P-256" 0x0017+nohrr "${PGS[@]}" -groups P-256

scan_expect "postgres://127.0.0.1:$PORT" none -

svc_done "$PG_VERSION"
