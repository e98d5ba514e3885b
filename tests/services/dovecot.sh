#!/usr/bin/env bash
# services.dovecot: Debian's Dovecot 2.3 (OpenSSL 3.0) negotiates
# X25519MLKEM768 on IMAP with STARTTLS (143's role), implicit TLS (993's)
# and POP3 with STARTTLS, with the settings of docs/deploy.md:
#
#   ssl_curve_list = X25519MLKEM768:X25519:prime256v1
#   import_environment = <the default list> OPENSSL_CONF=/etc/ssl/openssl-pqtls.cnf
#
# Dovecot's master starts its children (imap-login, pop3-login: the
# processes that do TLS) with only the variables import_environment names,
# so an OPENSSL_CONF given to the master (a systemd drop-in) never reaches
# them. The second instance proves it: the same configuration without the
# import_environment entry, OPENSSL_CONF in the master's environment, and
# every TLS connection fails ("Can't set curve list" in the log: the
# login process has no pqtls, so the hybrid name is unknown to it).
#
# Dovecot cannot log the negotiated group: its login lines say "TLS" and
# the %k variable gives protocol and cipher only.
#
# Usage: dovecot.sh PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
svc_init dovecot "$@"
# shellcheck source=dovecot_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/dovecot_lib.sh"

HYB=X25519MLKEM768:X25519

# The documented configuration.
start_dovecot imported "$DV_DEFAULT_ENV OPENSSL_CONF=$OSSL_CNF"
obs_capture "${DV_PORTS[0]}=imap:closes" "${DV_PORTS[1]}=imap:direct:closes" \
    "${DV_PORTS[2]}=pop3:closes"
tls_expect "imap STARTTLS, client $HYB" 0x11ec+nohrr \
    -connect "127.0.0.1:${DV_PORTS[0]}" -starttls imap -groups $HYB
tls_expect "imaps (implicit TLS), client $HYB" 0x11ec+nohrr \
    -connect "127.0.0.1:${DV_PORTS[1]}" -groups $HYB
tls_expect "pop3 STARTTLS, client $HYB" 0x11ec+nohrr \
    -connect "127.0.0.1:${DV_PORTS[2]}" -starttls pop3 -groups $HYB
tls_expect "imaps, client X25519 (no pqtls)" 0x001d+nohrr \
    -connect "127.0.0.1:${DV_PORTS[1]}" -groups X25519
scan_expect "127.0.0.1:${DV_PORTS[1]}" supported X25519MLKEM768
scan_expect "imaps://127.0.0.1:${DV_PORTS[1]}" supported X25519MLKEM768
scan_expect "imap://127.0.0.1:${DV_PORTS[0]}" supported X25519MLKEM768
scan_expect "pop3://127.0.0.1:${DV_PORTS[2]}" supported X25519MLKEM768

# Without OPENSSL_CONF in import_environment: no TLS at all, for any client.
start_dovecot dropped "$DV_DEFAULT_ENV"
tls_expect_fail "imaps without import_environment, client $HYB" \
    -connect "127.0.0.1:${DV_PORTS[1]}" -groups $HYB
tls_expect_fail "imap STARTTLS without import_environment, client X25519" \
    -connect "127.0.0.1:${DV_PORTS[0]}" -starttls imap -groups X25519
for _ in $(seq 1 30); do
    grep -q "Can't set curve list to '$SVC_GROUPS'" "$DV_LOG" && break
    sleep 0.1
done
grep -q "Can't set curve list to '$SVC_GROUPS'" "$DV_LOG" ||
    fail "dovecot (dropped) did not log why TLS failed"
note "    dovecot.log: $(grep -m1 -o "Failed to initialize SSL server context: Can't set curve list to '[^']*'" "$DV_LOG")"

svc_done "$DV_VERSION"
