#!/usr/bin/env bash
# services.postfix: Debian's Postfix 3.7 (OpenSSL 3.0) negotiates
# X25519MLKEM768 on SMTP with STARTTLS (the roles of ports 25 and 587) and
# on implicit TLS (465), with the settings of docs/deploy.md:
#
#   tls_config_file = /etc/ssl/openssl-pqtls-groups.cnf   (pqtls + Groups)
#   tls_eecdh_auto_curves = X25519MLKEM768
#
# Why both. Postfix 3.7 sets its own curve list on every SSL_CTX from
# tls_eecdh_auto_curves, looked up by NID, so a provider group name is
# skipped ("ignoring unknown ECDHE curve") and the rest of the list
# replaces any group list OpenSSL was configured with. When *no* name in it
# is known, Postfix sets nothing and OpenSSL's own default list applies: the
# `Groups` of the `system_default` section of the file tls_config_file
# names. The parameter may not be empty before Postfix 3.7.13 ("bad string
# length 0 < 1"); from 3.7.13 on, empty is the upstream way.
# Postfix also drops OPENSSL_CONF from its environment (import_environment),
# so tls_config_file is the way to load the provider.
#
# Two more listeners show the mistakes: the hybrid name beside classical
# ones in tls_eecdh_auto_curves (the classical ones win: X25519 after a
# HelloRetryRequest), and OPENSSL_CONF in the environment of `postfix start`
# without tls_config_file (not seen by smtpd: X25519).
#
# Postfix logs the key exchange per connection (smtpd_tls_loglevel = 1):
# "key-exchange X25519", but "key-exchange UNDEF" for a provider group
# (3.7.11 knows only built-in key types; 3.7.13 prints the provider's name).
#
# Usage: postfix.sh PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
svc_init postfix "$@"

# shellcheck source=postfix_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/postfix_lib.sh"
start_postfix
obs_capture "$P_SMTP=smtp" "$P_SUBMISSION=smtp" "$P_SMTPS=smtp:direct" "$P_CURVES=smtp" \
    "$P_ENV=smtp"

HYB=X25519MLKEM768:X25519
SMTP=(-connect "127.0.0.1:$P_SMTP" -starttls smtp)
tls_expect "smtp STARTTLS, client $HYB" 0x11ec+nohrr "${SMTP[@]}" -groups $HYB
pf_logged postfix/smtpd UNDEF
tls_expect "smtp STARTTLS, client X25519 (no pqtls)" 0x001d+nohrr "${SMTP[@]}" -groups X25519
pf_logged postfix/smtpd X25519
tls_expect "smtp STARTTLS, client P-256 only" 0x0017+nohrr "${SMTP[@]}" -groups P-256
tls_expect "submission STARTTLS, client $HYB" 0x11ec+nohrr \
    -connect "127.0.0.1:$P_SUBMISSION" -starttls smtp -groups $HYB
pf_logged postfix/submission/smtpd UNDEF
tls_expect "smtps (implicit TLS), client $HYB" 0x11ec+nohrr -connect "127.0.0.1:$P_SMTPS" -groups $HYB
pf_logged postfix/smtps/smtpd UNDEF

# The mistakes.
tls_expect "curves: tls_eecdh_auto_curves = X25519MLKEM768,X25519,prime256v1" 0x001d+hrr \
    -connect "127.0.0.1:$P_CURVES" -starttls smtp -groups $HYB
grep -q 'postfix/curves/smtpd.*warning: ignoring unknown ECDHE curve "X25519MLKEM768"' "$PF_LOG" ||
    fail "curves: Postfix did not warn about the unknown curve name"
note "    maillog: warning: ignoring unknown ECDHE curve \"X25519MLKEM768\""
tls_expect "env: OPENSSL_CONF in the environment, no tls_config_file" 0x001d+hrr \
    -connect "127.0.0.1:$P_ENV" -starttls smtp -groups $HYB

# pqtls scan: implicit TLS today; the STARTTLS ports when it speaks SMTP.
scan_expect "127.0.0.1:$P_SMTPS" supported X25519MLKEM768
scan_expect "smtps://127.0.0.1:$P_SMTPS" supported X25519MLKEM768
scan_expect "smtp://127.0.0.1:$P_SMTP" supported X25519MLKEM768
scan_expect "submission://127.0.0.1:$P_SUBMISSION" supported X25519MLKEM768

svc_done "$PF_VERSION"
