# shellcheck shell=bash
# Dovecot for tests/services and tests/doctor (sourced after lib.sh and
# svc_init): an instance under $SVC_DIR/NAME with IMAP STARTTLS, IMAPS and
# POP3 STARTTLS listeners on free ports and the TLS settings of
# docs/deploy.md, started in the foreground as our child (dovecot -F) with
# OPENSSL_CONF in its environment as a systemd drop-in would set it; the
# caller says what import_environment passes on to the login processes.
#
# start_dovecot NAME IMPORT_ENVIRONMENT sets DV_PORTS (imap, imaps, pop3),
# DV_PID and DV_LOG; DV_VERSION and DV_DEFAULT_ENV (Debian's default
# import_environment) are set when this file is sourced.

svc_need_root "dovecot switches its login processes to users dovenull and dovecot"
need_cmd dovecot dovecot-core
DV_VERSION="$(dovecot --version | cut -d' ' -f1)"
DV_DEFAULT_ENV="$(doveconf -d -h import_environment)"

# dv_write_conf DIR IMPORT_ENVIRONMENT PORT_IMAP PORT_IMAPS PORT_POP3
dv_write_conf() {
    cat <<EOF
base_dir = $1/run
state_dir = $1/state
log_path = $1/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$SVC_DIR/cert.pem
ssl_key = <$SVC_DIR/key.pem
ssl_curve_list = $SVC_GROUPS
import_environment = $2
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = static
  args = password=pqtls-test
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $3
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $4
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $5
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF
}

# start_dovecot NAME IMPORT_ENVIRONMENT: dovecot -F (foreground, our child)
# with OPENSSL_CONF in its environment as a systemd drop-in would set it.
# Sets DV_PORTS (imap, imaps, pop3), DV_PID and DV_LOG.
start_dovecot() {
    local dir="$SVC_DIR/$1" pid
    mkdir -p "$dir/run" "$dir/state"
    DV_LOG="$dir/dovecot.log"
    SVC_LOGS+=("$DV_LOG" "$dir/stderr.log")
    for _ in 1 2 3 4 5 6; do
        svc_ports 3
        DV_PORTS=("${SVC_PORTS[@]}")
        dv_write_conf "$dir" "$2" "${DV_PORTS[@]}" >"$dir/dovecot.conf"
        OPENSSL_CONF="$OSSL_CNF" dovecot -F -c "$dir/dovecot.conf" >>"$dir/stderr.log" 2>&1 </dev/null &
        pid=$!
        svc_track "$pid"
        if svc_wait_ports "$pid" "$DV_LOG" "${DV_PORTS[@]}"; then
            DV_PID=$pid
            note "dovecot $DV_VERSION ($1) pid $pid: imap ${DV_PORTS[0]}, imaps ${DV_PORTS[1]}, pop3 ${DV_PORTS[2]}"
            return 0
        fi
        stop_pids 30 "$pid"
        grep -q 'Address already in use' "$DV_LOG" "$dir/stderr.log" ||
            fail "dovecot ($1) exited at startup"
    done
    fail "dovecot ($1): no free ports after 6 tries"
}
