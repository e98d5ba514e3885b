#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# doctor.services: `pqtls doctor` on real services, each built for one
# verdict and started on free loopback ports under a temporary directory,
# with the helpers of tests/services (lib.sh, the per-service *_lib.sh):
#
#   nginx + pqtls, X25519MLKEM768 in ssl_ecdh_curve      hybrid
#   nginx + pqtls, classical ssl_ecdh_curve              provider-loaded-group-not-configured
#   nginx + pqtls, hybrid list, ssl_protocols as nginx   provider-loaded-group-not-configured
#     1.22's default (TLSv1 TLSv1.1 TLSv1.2: no TLS 1.3)   (the fix names ssl_protocols)
#   nginx without OPENSSL_CONF                           provider-not-loaded
#   haproxy, ssl-provider lines, curves with the hybrid  hybrid (no OPENSSL_CONF at all)
#   haproxy, ssl-provider lines, no curves               provider-loaded-group-not-configured
#   Apache, OPENSSL_CONF in envvars, SSLOpenSSLConfCmd   hybrid (parent and www-data children)
#   Apache without it (and without the Groups line)      provider-not-loaded (envvars)
#   MariaDB, pqtls and Groups in OPENSSL_CONF            hybrid (MySQL's TLS request)
#   MariaDB, pqtls without Groups                        provider-loaded-group-not-configured
#   dovecot with import_environment OPENSSL_CONF=...     hybrid (IMAP STARTTLS, IMAPS, POP3)
#   dovecot without it (OPENSSL_CONF in the master only) provider-not-loaded (import_environment)
#   postfix as documented (tls_config_file)              hybrid (SMTP STARTTLS, submission, smtps)
#   postfix, classical tls_eecdh_auto_curves             provider-loaded-group-not-configured
#   postfix, OPENSSL_CONF but no tls_config_file         provider-not-loaded (tls_config_file)
#   PostgreSQL 15 with pqtls in OPENSSL_CONF             library-cannot (ssl_ecdh_curve)
#   slapd (GnuTLS), StartTLS and ldaps                   library-cannot (GnuTLS)
#
# Every socket's verdict is asserted, and with it the group the active
# check negotiated, the TLS library version read from the mapped file
# (that of the system's libcrypto, `openssl version`) and whether pqtls.so
# is mapped. doctor runs with --pid for the test's own servers only, so
# other listeners on the machine do not matter.
#
# And doctor's reading of openssl.cnf against OpenSSL's own: one openssl
# s_server per configuration (the documented file, Debian's file with an
# .include at the top and with the documented edit, an include cycle, a
# directory include, activate = 0, a missing include), and for each the
# verdict of OpenSSL (pqtls.so mapped or not) must be doctor's
# (config_loads_pqtls) and the one written here.
#
# Without root (part "user"): a user's own server is read whole (user
# nobody runs openssl s_server with pqtls and doctor: hybrid, pqtls.so
# mapped), and another user's are not (doctor as nobody says so and
# judges nothing it cannot read).
#
# Usage: doctor.sh PQTLS_SO NODE PQTLS_BIN RESULTS_DIR [PART...]
#   (PART: nginx haproxy apache mariadb dovecot postfix postgresql slapd cnf
#   user; default all)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVICES_DIR="$HERE/../services"
# shellcheck source-path=SCRIPTDIR source=../services/lib.sh
. "$SERVICES_DIR/lib.sh"
svc_init doctor "$1" "$2" "$3" "$4"
DOCTOR_RESULTS="$4"
shift 4
WANT=("$@")
[ "${#WANT[@]}" -gt 0 ] || WANT=(nginx haproxy apache mariadb dovecot postfix postgresql slapd cnf user)
wants() {
    local w
    for w in "${WANT[@]}"; do
        [ "$w" != "$1" ] || return 0
    done
    return 1
}

# The version doctor must read from the mapped libcrypto: the system's.
SYS_OPENSSL="$(openssl version | awk '{print $1 " " $2}')"
DOCTOR_PIDS=()
: >"$SVC_DIR/doctor.expect"

# doctor_expect PORT VERDICT GROUP LIBRARY PQTLS FIX: what doctor must say
# about the socket on 127.0.0.1:PORT. GROUP is the IANA code point (0x11ec)
# or "-" for no handshake; LIBRARY what it reports as the TLS library
# ("OpenSSL 3.0.19", "GnuTLS"); PQTLS yes/no: pqtls.so mapped; FIX a text
# the fix must contain ("-": no fix).
doctor_expect() {
    printf '%s|%s|%s|%s|%s|%s\n' "$@" >>"$SVC_DIR/doctor.expect"
}

# ---- nginx ----
if wants nginx; then
    need_cmd nginx nginx
    # shellcheck disable=SC2034 # read by nginx_http_common
    DEPLOY_DIR="$SVC_DIR" # nginx_http_common (tests/deploy/lib.sh) takes the certificate there

    # nginx_conf PREFIX PORT CURVES PROTOCOLS...: one TLS server per port.
    nginx_server() {
        printf '    server {\n        listen 127.0.0.1:%s ssl;\n        ssl_ecdh_curve %s;\n' "$1" "$2"
        [ -z "$3" ] || printf '        ssl_protocols %s;\n' "$3"
        printf '    }\n'
    }
    # start_nginx_doctor NAME PROVIDER(yes/no) WRITER NPORTS: nginx in the
    # foreground, OPENSSL_CONF only when PROVIDER is yes. Sets NG_PORTS, NG_PID.
    start_nginx_doctor() {
        local name="$1" provider="$2" writer="$3" n="$4" prefix="$SVC_DIR/$1" pid
        mkdir -p "$prefix/logs" "$prefix/tmp"
        SVC_LOGS+=("$prefix/logs/error.log")
        for _ in 1 2 3 4 5 6; do
            svc_ports "$n"
            NG_PORTS=("${SVC_PORTS[@]}")
            {
                nginx_http_common "$prefix"
                "$writer" "${NG_PORTS[@]}"
                printf '}\n'
            } >"$prefix/nginx.conf"
            if [ "$provider" = yes ]; then
                OPENSSL_CONF="$OSSL_CNF" nginx -p "$prefix/" -c "$prefix/nginx.conf" \
                    -e "$prefix/logs/error.log" >>"$prefix/logs/stdout.log" 2>&1 </dev/null &
            else
                env -u OPENSSL_CONF nginx -p "$prefix/" -c "$prefix/nginx.conf" \
                    -e "$prefix/logs/error.log" >>"$prefix/logs/stdout.log" 2>&1 </dev/null &
            fi
            pid=$!
            svc_track "$pid"
            if svc_wait_ports "$pid" "$prefix/logs/error.log" "${NG_PORTS[@]}"; then
                NG_PID=$pid
                DOCTOR_PIDS+=("$pid")
                note "nginx ($name) pid $pid: ports ${NG_PORTS[*]}"
                return 0
            fi
            stop_pids 30 "$pid"
            grep -q 'Address already in use' "$prefix/logs/error.log" ||
                fail "nginx ($name) exited at startup"
        done
        fail "nginx ($name): no free ports after 6 tries"
    }

    with_provider() {
        nginx_server "$1" "$SVC_GROUPS" "TLSv1.2 TLSv1.3"
        nginx_server "$2" X25519:prime256v1 "TLSv1.2 TLSv1.3"
        # nginx 1.22's default when ssl_protocols is not set at all (the
        # common part sets it for the http {} block, so it is spelt out).
        nginx_server "$3" "$SVC_GROUPS" "TLSv1 TLSv1.1 TLSv1.2"
    }
    start_nginx_doctor nginx-pqtls yes with_provider 3
    doctor_expect "${NG_PORTS[0]}" hybrid 0x11ec "$SYS_OPENSSL" yes -
    doctor_expect "${NG_PORTS[1]}" provider-loaded-group-not-configured 0x001d "$SYS_OPENSSL" yes \
        "ssl_ecdh_curve X25519MLKEM768"
    # TLS 1.2: ECDHE with X25519.
    doctor_expect "${NG_PORTS[2]}" provider-loaded-group-not-configured 0x001d "$SYS_OPENSSL" yes \
        "ssl_protocols TLSv1.2 TLSv1.3"

    without_provider() {
        nginx_server "$1" X25519:prime256v1 "TLSv1.2 TLSv1.3"
    }
    start_nginx_doctor nginx-plain no without_provider 1
    doctor_expect "${NG_PORTS[0]}" provider-not-loaded 0x001d "$SYS_OPENSSL" no \
        "Environment=OPENSSL_CONF="
fi

# ---- haproxy: the providers from haproxy.cfg, no OPENSSL_CONF ----
if wants haproxy; then
    need_cmd haproxy haproxy
    # haproxy_doctor_cfg: haproxy.cfg for svc_start_haproxy, a TLS frontend
    # answering HTTP itself; HP_CURVES "" leaves the group list to OpenSSL's
    # default.
    haproxy_doctor_cfg() {
        cat <<EOF
global
    ssl-provider-path $(dirname "$PQTLS_SO")
    ssl-provider default
    ssl-provider pqtls
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend https
    bind 127.0.0.1:${SVC_PORTS[0]} ssl crt $HP/site.pem ${HP_CURVES:+curves $HP_CURVES}
    http-request return status 200
EOF
    }
    HP_CURVES=$SVC_GROUPS
    svc_start_haproxy haproxy_doctor_cfg
    DOCTOR_PIDS+=("$HP_PID")
    doctor_expect "${SVC_PORTS[0]}" hybrid 0x11ec "$SYS_OPENSSL" yes -
    HP_CURVES=
    svc_start_haproxy haproxy_doctor_cfg
    DOCTOR_PIDS+=("$HP_PID")
    doctor_expect "${SVC_PORTS[0]}" provider-loaded-group-not-configured 0x001d "$SYS_OPENSSL" yes \
        "curves X25519MLKEM768"
fi

# ---- Apache: OPENSSL_CONF from envvars, through apache2ctl ----
if wants apache; then
    # shellcheck source=../services/apache_lib.sh
    . "$SERVICES_DIR/apache_lib.sh"
    ap_setup apache-pqtls
    ap_write_envvars pq >"$AP/envvars"
    ap_start "$SVC_GROUPS"
    DOCTOR_PIDS+=("$AP_PID")
    note "apache $AP_VERSION (pqtls) pid $AP_PID on 127.0.0.1:$AP_PORT"
    doctor_expect "$AP_PORT" hybrid 0x11ec "$SYS_OPENSSL" yes -
    # Without the export (and without the Groups line, which would stop it).
    ap_setup apache-plain
    ap_write_envvars plain >"$AP/envvars"
    ap_start ""
    DOCTOR_PIDS+=("$AP_PID")
    note "apache $AP_VERSION (plain) pid $AP_PID on 127.0.0.1:$AP_PORT"
    doctor_expect "$AP_PORT" provider-not-loaded 0x001d "$SYS_OPENSSL" no "/etc/apache2/envvars"
fi

# ---- MariaDB: no group setting of its own ----
if wants mariadb; then
    # shellcheck source=../services/mariadb_lib.sh
    . "$SERVICES_DIR/mariadb_lib.sh"
    # pqtls without a Groups default: OpenSSL's default list. One data
    # directory, so this one is judged now and stopped.
    start_mariadb "$OSSL_CNF"
    printf '%s|provider-loaded-group-not-configured|0x001d|%s|yes|[system_default]\n' \
        "$MY_PORT" "$SYS_OPENSSL" >"$SVC_DIR/mariadb.expect"
    "$PQTLS" doctor --format jsonl --pid "$MY_PID" >"$SVC_DIR/mariadb.jsonl" 2>&1 || true
    SVC_LOGS+=("$SVC_DIR/mariadb.jsonl")
    python3 "$HERE/doctor_check.py" "$SVC_DIR/mariadb.jsonl" "$SVC_DIR/mariadb.expect" ||
        fail "pqtls doctor on MariaDB without Groups: not the verdict it was built for"
    stop_pids 100 "$MY_PID"
    # As documented: pqtls and Groups in OPENSSL_CONF.
    start_mariadb "$OSSL_CNF_GROUPS"
    DOCTOR_PIDS+=("$MY_PID")
    doctor_expect "$MY_PORT" hybrid 0x11ec "$SYS_OPENSSL" yes -
fi

# ---- dovecot (root: it switches its login processes to other users) ----
if wants dovecot; then
    # shellcheck source=../services/dovecot_lib.sh
    . "$SERVICES_DIR/dovecot_lib.sh"
    # As documented: the login processes get OPENSSL_CONF.
    start_dovecot imported "$DV_DEFAULT_ENV OPENSSL_CONF=$OSSL_CNF"
    DOCTOR_PIDS+=("$DV_PID")
    for port in "${DV_PORTS[@]}"; do
        doctor_expect "$port" hybrid 0x11ec "$SYS_OPENSSL" yes -
    done
    # OPENSSL_CONF given to the master only (a systemd drop-in): the login
    # processes have no pqtls and cannot set the curve list, so no TLS at all.
    start_dovecot dropped "$DV_DEFAULT_ENV"
    DOCTOR_PIDS+=("$DV_PID")
    for port in "${DV_PORTS[@]}"; do
        doctor_expect "$port" provider-not-loaded - "$SYS_OPENSSL" no "import_environment"
    done
fi

# ---- postfix (root: the master hands its services to user postfix) ----
if wants postfix; then
    # shellcheck source=../services/postfix_lib.sh
    . "$SERVICES_DIR/postfix_lib.sh"
    start_postfix
    DOCTOR_PIDS+=("$PF_MASTER_PID")
    # smtp and submission: STARTTLS; smtps: TLS from the first byte.
    for port in "$P_SMTP" "$P_SUBMISSION" "$P_SMTPS"; do
        doctor_expect "$port" hybrid 0x11ec "$SYS_OPENSSL" yes -
    done
    # Classical names beside the hybrid one in tls_eecdh_auto_curves.
    doctor_expect "$P_CURVES" provider-loaded-group-not-configured 0x001d "$SYS_OPENSSL" yes \
        "tls_eecdh_auto_curves = X25519MLKEM768"
    # tls_config_file = default, OPENSSL_CONF dropped by Postfix.
    doctor_expect "$P_ENV" provider-not-loaded 0x001d "$SYS_OPENSSL" no "tls_config_file"
fi

# ---- PostgreSQL 15: pqtls loaded, one classical curve ----
if wants postgresql; then
    # shellcheck source=../services/postgresql_lib.sh
    . "$SERVICES_DIR/postgresql_lib.sh"
    pg_start
    DOCTOR_PIDS+=("$PG_PID")
    note "postgres $PG_VERSION pid $PG_PID on 127.0.0.1:$PG_PORT"
    # A HelloRetryRequest for P-256, the one curve ssl_ecdh_curve gives.
    doctor_expect "$PG_PORT" library-cannot 0x0017 "$SYS_OPENSSL" yes "PostgreSQL 18"
fi

# ---- slapd: GnuTLS ----
if wants slapd; then
    # shellcheck source=../services/slapd_lib.sh
    . "$SERVICES_DIR/slapd_lib.sh"
    slapd_start
    DOCTOR_PIDS+=("$LD_PID")
    note "slapd $LD_VERSION pid $LD_PID: ldap ${LD_PORTS[0]}, ldaps ${LD_PORTS[1]}"
    for port in "${LD_PORTS[@]}"; do
        doctor_expect "$port" library-cannot 0x001d GnuTLS no "haproxy + pqtls"
    done
fi

# ---- openssl.cnf: doctor's reading against OpenSSL's ----
if wants cnf; then
    CN="$SVC_DIR/cnf"
    mkdir -p "$CN/conf.d"
    CNF_PIDS=()
    : >"$CN/expect"
    # cnf_server NAME LOADS: openssl s_server with OPENSSL_CONF=$CN/NAME.cnf
    # (classical groups only, so that it starts with or without pqtls).
    cnf_server() {
        local name="$1" log="$CN/$1.log" pid port=""
        SVC_LOGS+=("$log")
        : >"$log" # exists before the loop below reads it
        OPENSSL_CONF="$CN/$name.cnf" openssl s_server -accept 127.0.0.1:0 -www -tls1_3 \
            -cert "$SVC_DIR/cert.pem" -key "$SVC_DIR/key.pem" -groups X25519:prime256v1 \
            >"$log" 2>&1 </dev/null &
        pid=$!
        svc_track "$pid"
        for _ in $(seq 1 100); do
            port="$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")"
            [ -z "$port" ] || break
            kill -0 "$pid" 2>/dev/null || fail "s_server with $name.cnf exited at startup"
            sleep 0.1
        done
        [ -n "$port" ] || fail "s_server with $name.cnf printed no ACCEPT line"
        CNF_PIDS+=(--pid "$pid")
        printf '%s|%s|%s\n' "$port" "$2" "$name" >>"$CN/expect"
    }
    "$SVC_ROOT/scripts/openssl-cnf.sh" "$PQTLS_SO" >"$CN/plain.cnf"
    cnf_server plain yes
    # Debian's file with an .include at the top: its lines land in the
    # included [pqtls_sect] (docs/deploy.md), OpenSSL refuses the provider.
    { printf '.include %s\n' "$CN/plain.cnf"; cat /etc/ssl/openssl.cnf; } >"$CN/debian-top.cnf"
    cnf_server debian-top no
    # The documented edit of Debian's file.
    {
        sed 's/^# providers = provider_sect$/providers = provider_sect/' /etc/ssl/openssl.cnf
        sed -n '/^\[provider_sect\]/,$p' "$CN/plain.cnf"
    } >"$CN/debian-edited.cnf"
    cnf_server debian-edited yes
    # An include cycle at the end: OpenSSL ignores the whole file.
    { cat "$CN/plain.cnf"; printf '.include %s\n' "$CN/cycle-b.cnf"; } >"$CN/cycle.cnf"
    printf '.include %s\n[junk]\nx = y\n' "$CN/cycle.cnf" >"$CN/cycle-b.cnf"
    cnf_server cycle no
    # A directory: its .cnf files, not the .txt.
    sed -n '1,/^providers/p' "$CN/plain.cnf" >"$CN/dir.cnf"
    printf '.include %s\n' "$CN/conf.d" >>"$CN/dir.cnf"
    sed -n '/^\[provider_sect\]/,$p' "$CN/plain.cnf" >"$CN/conf.d/10-providers.cnf"
    printf '[provider_sect]\npqtls = nowhere\n' >"$CN/conf.d/20-not-read.txt"
    cnf_server dir yes
    # activate = 0: OpenSSL 3.0 and 3.1 load the provider all the same.
    sed 's/^activate = 1$/activate = 0/' "$CN/plain.cnf" >"$CN/activate0.cnf"
    case "$SYS_OPENSSL" in
    "OpenSSL 3.0."* | "OpenSSL 3.1."*) cnf_server activate0 yes ;;
    *) cnf_server activate0 no ;;
    esac
    # A missing include is skipped.
    { printf '.include %s\n' "$CN/nowhere.cnf"; cat "$CN/plain.cnf"; } >"$CN/missing.cnf"
    cnf_server missing yes

    out="$CN/doctor.jsonl"
    SVC_LOGS+=("$out")
    timeout -k 2 60 "$PQTLS" doctor --no-probe --format jsonl "${CNF_PIDS[@]}" >"$out" 2>"$out.err" || true
    python3 "$HERE/doctor_check.py" --cnf "$out" "$CN/expect" ||
        fail "doctor reads openssl.cnf otherwise than OpenSSL"
fi

# ---- without root: a user's own processes ----
if wants user; then
    [ "$(id -u)" -eq 0 ] || fail "the user part switches to user nobody: run as root"
    AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    ulog="$SVC_DIR/nobody-s_server.log"
    SVC_LOGS+=("$ulog")
    : >"$ulog" # exists before the loop below reads it
    OPENSSL_CONF="$OSSL_CNF" "${AS_NOBODY[@]}" openssl s_server -accept 127.0.0.1:0 -www \
        -tls1_3 -cert "$SVC_DIR/cert.pem" -key "$SVC_DIR/key.pem" -groups "$SVC_GROUPS" \
        >"$ulog" 2>&1 </dev/null &
    upid=$!
    svc_track "$upid"
    uport=""
    for _ in $(seq 1 100); do
        uport="$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$ulog")"
        [ -z "$uport" ] || break
        kill -0 "$upid" 2>/dev/null || fail "s_server as nobody exited at startup"
        sleep 0.1
    done
    [ -n "$uport" ] || fail "s_server as nobody printed no ACCEPT line"
    uout="$SVC_DIR/nobody.jsonl"
    SVC_LOGS+=("$uout" "$uout.err")
    urc=0
    "${AS_NOBODY[@]}" "$PQTLS" doctor --format jsonl --pid "$upid" >"$uout" 2>"$uout.err" || urc=$?
    printf '%s|hybrid|0x11ec|%s|yes|-\n' "$uport" "$SYS_OPENSSL" >"$SVC_DIR/nobody.expect"
    python3 "$HERE/doctor_check.py" "$uout" "$SVC_DIR/nobody.expect" ||
        fail "doctor as nobody on nobody's s_server: not hybrid with pqtls.so mapped"
    [ "$urc" -eq 0 ] || fail "doctor as nobody: exit status $urc, expected 0 (every service hybrid)"
    note "ok: doctor as nobody reads nobody's server whole (exit status 0: all hybrid)"
    # Root's servers are not nobody's: nothing judged, and doctor says why.
    if [ "${#DOCTOR_PIDS[@]}" -gt 0 ]; then
        urc=0
        "${AS_NOBODY[@]}" "$PQTLS" doctor --no-probe --format jsonl --pid "${DOCTOR_PIDS[0]}" \
            >"$uout" 2>"$uout.err" || urc=$?
        if [ "$urc" -ne 0 ] || [ -s "$uout" ]; then
            fail "doctor as nobody on root's pid ${DOCTOR_PIDS[0]}: status $urc, output $(head -c 300 "$uout")"
        fi
        grep -q 'run as root' "$uout.err" || fail "doctor as nobody: no hint to run as root"
        note "ok: doctor as nobody on root's server: nothing judged; $(head -n 2 "$uout.err" | tr '\n' ' ')"
    fi
fi

# ---- doctor on the services ----
# (none started: only the cnf part was asked for; doctor without --pid
# would judge the whole machine)
if [ "${#DOCTOR_PIDS[@]}" -gt 0 ]; then
    pid_args=()
    for p in "${DOCTOR_PIDS[@]}"; do
        pid_args+=(--pid "$p")
    done
    OUT="$SVC_DIR/doctor.jsonl"
    SVC_LOGS+=("$OUT" "$OUT.err")
    rc=0
    timeout -k 2 60 "$PQTLS" doctor --format jsonl --timeout 3000 "${pid_args[@]}" >"$OUT" 2>"$OUT.err" || rc=$?
    # Kept for a look after the test (the temporary directory goes on success).
    cp "$OUT" "$DOCTOR_RESULTS/doctor.jsonl"
    python3 "$HERE/doctor_check.py" "$OUT" "$SVC_DIR/doctor.expect" ||
        fail "pqtls doctor: not the verdicts the services were built for"
    # Exit status 1 when some TLS service is not hybrid, else 0 (docs/cli.md).
    want_rc=0
    ! grep -Eq '\|(provider-loaded-group-not-configured|provider-not-loaded|library-cannot)\|' \
        "$SVC_DIR/doctor.expect" || want_rc=1
    [ "$rc" -eq "$want_rc" ] || fail "pqtls doctor: exit status $rc, expected $want_rc"
    note "ok: exit status $rc"

    # The table says the same verdicts, one line per socket.
    "$PQTLS" doctor --timeout 3000 "${pid_args[@]}" >"$SVC_DIR/doctor.table" 2>&1 || true
    SVC_LOGS+=("$SVC_DIR/doctor.table")
    head -n 1 "$SVC_DIR/doctor.table" | grep -q 'VERDICT' || fail "doctor --format table: no header"
    while IFS='|' read -r port verdict _; do
        grep -Eq "^127\.0\.0\.1:$port .* $verdict\$" "$SVC_DIR/doctor.table" ||
            fail "doctor --format table: no line '127.0.0.1:$port ... $verdict'"
    done <"$SVC_DIR/doctor.expect"
    note "ok: the table has the same verdicts"
    note "$(cat "$SVC_DIR/doctor.table")"

    # Without probes, what needs no connection: a server without pqtls is
    # provider-not-loaded all the same.
    if wants nginx; then
        "$PQTLS" doctor --no-probe --format jsonl --pid "$NG_PID" >"$SVC_DIR/noprobe.jsonl" 2>&1 || true
        SVC_LOGS+=("$SVC_DIR/noprobe.jsonl")
        if ! grep -q '"verdict":"provider-not-loaded"' "$SVC_DIR/noprobe.jsonl" ||
            ! grep -q '"probe":null' "$SVC_DIR/noprobe.jsonl"; then
            fail "doctor --no-probe: nginx without pqtls is not provider-not-loaded"
        fi
        note "ok: --no-probe: nginx without OPENSSL_CONF is provider-not-loaded"
    fi
fi

svc_done -
