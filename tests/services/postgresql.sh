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
# shellcheck source=postgresql_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/postgresql_lib.sh"

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
pg_start
PORT=$PG_PORT
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
