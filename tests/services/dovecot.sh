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
svc_need_root "dovecot switches its login processes to users dovenull and dovecot"
need_cmd dovecot dovecot-core
DV_VERSION="$(dovecot --version | cut -d' ' -f1)"
DV_DEFAULT_ENV="$(doveconf -d -h import_environment)"

# write_conf DIR IMPORT_ENVIRONMENT PORT_IMAP PORT_IMAPS PORT_POP3
write_conf() {
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
# Sets DV_PORTS (imap, imaps, pop3) and DV_LOG.
start_dovecot() {
    local dir="$SVC_DIR/$1" pid
    mkdir -p "$dir/run" "$dir/state"
    DV_LOG="$dir/dovecot.log"
    SVC_LOGS+=("$DV_LOG" "$dir/stderr.log")
    for _ in 1 2 3 4 5 6; do
        svc_ports 3
        DV_PORTS=("${SVC_PORTS[@]}")
        write_conf "$dir" "$2" "${DV_PORTS[@]}" >"$dir/dovecot.conf"
        OPENSSL_CONF="$OSSL_CNF" dovecot -F -c "$dir/dovecot.conf" >>"$dir/stderr.log" 2>&1 </dev/null &
        pid=$!
        svc_track "$pid"
        if svc_wait_ports "$pid" "$DV_LOG" "${DV_PORTS[@]}"; then
            note "dovecot $DV_VERSION ($1) pid $pid: imap ${DV_PORTS[0]}, imaps ${DV_PORTS[1]}, pop3 ${DV_PORTS[2]}"
            return 0
        fi
        stop_pids 30 "$pid"
        grep -q 'Address already in use' "$DV_LOG" "$dir/stderr.log" ||
            fail "dovecot ($1) exited at startup"
    done
    fail "dovecot ($1): no free ports after 6 tries"
}

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
