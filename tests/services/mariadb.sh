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
# shellcheck source=mariadb_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mariadb_lib.sh"

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
