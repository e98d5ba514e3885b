# shellcheck shell=bash
# Postfix for tests/services (sourced after lib.sh and svc_init): one
# instance under $SVC_DIR/postfix with the documented settings
# (docs/deploy.md, and postfix.sh for why each is needed), started with
# `postfix -c DIR start` as root, stopped through its master's pid.
#
# start_postfix sets P_SMTP, P_SUBMISSION, P_SMTPS (the documented
# listeners, the roles of ports 25, 587 and 465), P_CURVES and P_ENV (the
# two mistakes postfix.sh shows), PF_VERSION and PF_LOG.

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

# start_postfix: write the configuration for five free ports and start the
# master; retried with other ports when one is taken.
start_postfix() {
    mkdir -p "$PF_CONF" "$PF/spool" "$PF/data"
    chown postfix "$PF/data"
    PF_MASTER_PID=
    local pid rc
    mkdir -p "$PF/spool/pid"
    svc_track_pidfile "$PF/spool/pid/master.pid"
    for _ in 1 2 3 4 5 6; do
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
}

# pf_logged SYSLOG_NAME WANT: the newest "TLS connection established" line
# of that service must name key-exchange WANT (postlogd writes a moment
# after the handshake).
pf_logged() {
    local line=""
    for _ in $(seq 1 50); do
        line="$(grep -F " $1[" "$PF_LOG" | grep -F 'TLS connection established' | tail -n 1)" || true
        [[ "$line" != *"key-exchange $2 "* ]] || break
        sleep 0.1
    done
    [[ "$line" == *"key-exchange $2 "* ]] || fail "$1: maillog does not say 'key-exchange $2': '$line'"
    note "    maillog: ${line#*: }"
}

