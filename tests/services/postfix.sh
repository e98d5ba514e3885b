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
svc_need_root "the Postfix master starts as root and hands its services to user postfix"
need_cmd postfix postfix
PF_VERSION="$(postconf -d -h mail_version)"

PF="$SVC_DIR/postfix"
PF_CONF="$PF/etc"
PF_LOG="$PF/maillog"
SVC_LOGS+=("$PF_LOG")

# main.cf: everything under $PF, loopback only, TLS as documented.
write_main_cf() {
    cat <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.pqtls.test
mydestination =
alias_maps =
alias_database =
maillog_file = $PF_LOG
maillog_file_prefixes = $PF
smtpd_tls_chain_files = $SVC_DIR/key.pem, $SVC_DIR/cert.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
tls_config_file = $OSSL_CNF_GROUPS
tls_eecdh_auto_curves = X25519MLKEM768
EOF
}

# master.cf: the services smtpd needs, chroot as Debian ships them, and
# five listeners on the given ports: smtp, submission, smtps (documented
# settings), curves and env (the two mistakes).
write_master_cf() {
    cat <<EOF
127.0.0.1:$1 inet n - y - - smtpd
127.0.0.1:$2 inet n - y - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
127.0.0.1:$3 inet n - y - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
127.0.0.1:$4 inet n - y - - smtpd
  -o syslog_name=postfix/curves
  -o tls_eecdh_auto_curves=X25519MLKEM768,X25519,prime256v1
127.0.0.1:$5 inet n - y - - smtpd
  -o syslog_name=postfix/env
  -o tls_config_file=default
cleanup   unix  n       -       y       -       0       cleanup
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

mkdir -p "$PF_CONF" "$PF/spool" "$PF/data"
chown postfix "$PF/data"
PF_MASTER_PID=
for try in 1 2 3 4 5 6; do
    svc_ports 5
    write_main_cf >"$PF_CONF/main.cf"
    write_master_cf "${SVC_PORTS[@]}" >"$PF_CONF/master.cf"
    postfix -c "$PF_CONF" check >>"$PF/start.log" 2>&1 ||
        fail "postfix check failed: $(tail -n 5 "$PF/start.log")"
    # An administrator's OPENSSL_CONF (systemd drop-in or shell) for the
    # "env" listener: postfix drops it before the master starts.
    rc=0
    OPENSSL_CONF="$OSSL_CNF_GROUPS" postfix -c "$PF_CONF" start >>"$PF/start.log" 2>&1 || rc=$?
    pid="$(tr -d ' \n' <"$PF/spool/pid/master.pid" 2>/dev/null)" || pid=
    if [ "$rc" -eq 0 ] && [ -n "$pid" ]; then
        svc_track "$pid"
        if svc_wait_ports "$pid" "$PF_LOG" "${SVC_PORTS[@]}"; then
            PF_MASTER_PID=$pid
            break
        fi
    fi
    grep -q 'Address already in use' "$PF_LOG" ||
        fail "postfix did not start (status $rc): $(tail -n 5 "$PF/start.log")"
    [ -z "$pid" ] || stop_pids 30 "$pid"
    rm -f "$PF/spool/pid/master.pid"
done
[ -n "$PF_MASTER_PID" ] || fail "postfix: no free ports after 6 tries"
P_SMTP=${SVC_PORTS[0]} P_SUBMISSION=${SVC_PORTS[1]} P_SMTPS=${SVC_PORTS[2]}
P_CURVES=${SVC_PORTS[3]} P_ENV=${SVC_PORTS[4]}
note "postfix $PF_VERSION master pid $PF_MASTER_PID: smtp $P_SMTP, submission $P_SUBMISSION, smtps $P_SMTPS, curves $P_CURVES, env $P_ENV"

# pf_logged SYSLOG_NAME WANT: the newest "TLS connection established" line
# of that service must name key-exchange WANT (postlogd writes a moment
# after the handshake).
pf_logged() {
    local line="" i
    for i in $(seq 1 50); do
        line="$(grep -F " $1[" "$PF_LOG" | grep -F 'TLS connection established' | tail -n 1)" || true
        [[ "$line" != *"key-exchange $2 "* ]] || break
        sleep 0.1
    done
    [[ "$line" == *"key-exchange $2 "* ]] || fail "$1: maillog does not say 'key-exchange $2': '$line'"
    note "    maillog: ${line#*: }"
}

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
