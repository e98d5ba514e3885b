# shellcheck shell=bash
# OpenLDAP slapd for tests/services and tests/doctor (sourced after lib.sh
# and svc_init): Debian's slapd (GnuTLS) with an mdb database under
# $SVC_DIR/slapd, the test certificate, and pqtls with a Groups default in
# OPENSSL_CONF all the same (it never enters the process).
#
# slapd_start: ldap:// and ldaps:// on two free ports, in the foreground as
# our child (-d stats logs connections); sets LD_PID, LD_PORTS (ldap,
# ldaps) and LD_LOG. LD_VERSION and SLAPD are set when this is sourced.

SLAPD=/usr/sbin/slapd
[ -x "$SLAPD" ] || fail "slapd is not installed (Debian package slapd); run scripts/deps.sh"
need_cmd ldapsearch ldap-utils
LD_VERSION="$("$SLAPD" -VV 2>&1 | sed -n 's/.*slapd \([0-9][0-9.]*\).*/\1/p' | head -n 1)"

SLAPD_LIBS="$(ldd "$SLAPD")"
grep -q 'libgnutls' <<<"$SLAPD_LIBS" || fail "slapd does not link GnuTLS any more: $SLAPD_LIBS"
! grep -q 'libssl' <<<"$SLAPD_LIBS" || fail "slapd links libssl: this test's premise changed"
note "ok: $SLAPD links $(grep -o "libgnutls[^ ]*" <<<"$SLAPD_LIBS" | head -n 1), not libssl"

slapd_start() {
    local pid
    LD="$SVC_DIR/slapd"
    mkdir -p "$LD/db"
    LD_LOG="$LD/slapd.log"
    SVC_LOGS+=("$LD_LOG")
    cat >"$LD/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
pidfile $LD/slapd.pid
argsfile $LD/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile $SVC_DIR/cert.pem
TLSCertificateKeyFile $SVC_DIR/key.pem
database mdb
maxsize 10485760
suffix "dc=pqtls,dc=test"
directory $LD/db
EOF

    LD_PID=
    for _ in 1 2 3 4 5 6; do
        svc_ports 2
        # -d stats: stay in the foreground (our child) and log connections.
        OPENSSL_CONF="$OSSL_CNF_GROUPS" "$SLAPD" -f "$LD/slapd.conf" -d stats \
            -h "ldap://127.0.0.1:${SVC_PORTS[0]}/ ldaps://127.0.0.1:${SVC_PORTS[1]}/" \
            >>"$LD_LOG" 2>&1 </dev/null &
        pid=$!
        svc_track "$pid"
        if svc_wait_ports "$pid" "$LD_LOG" "${SVC_PORTS[@]}"; then
            LD_PID=$pid
            break
        fi
        stop_pids 30 "$pid"
        grep -q 'Address already in use' "$LD_LOG" || fail "slapd exited at startup"
    done
    [ -n "$LD_PID" ] || fail "slapd: no free ports after 6 tries"
    LD_PORTS=("${SVC_PORTS[@]}")
}
