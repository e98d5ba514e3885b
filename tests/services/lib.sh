# shellcheck shell=bash
# Shared code of the tests/services scripts (sourced, not run): real mail,
# directory, database and web servers from Debian 12, each started by its
# test on 127.0.0.1 with its own configuration and a throwaway certificate
# in a fresh temporary directory, with pqtls loaded the way an administrator
# would load it (docs/deploy.md), and stopped again whatever happens.
#
# The negotiated group is read from the ServerHello's key_share that
# `openssl s_client -msg` (Debian's OpenSSL 3.0 + pqtls as the client)
# shows, with tests/provider/serverhello_group.mjs: s_client 3.0 prints no
# "Server Temp Key" for a KEM group, and most of these servers cannot log
# the group at all.
#
# Usage in a test:
#   svc_init NAME PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
#   ... start a server, svc_track PID ...
#   tls_expect "what" 0x11ec -connect 127.0.0.1:$PORT -starttls smtp -groups X25519MLKEM768:X25519
#   scan_expect "smtp://127.0.0.1:$PORT" supported X25519MLKEM768
#   svc_done VERSION
#
# and, to have `pqtls observe` assert the same on a capture of the test,
#   obs_capture PORT=smtp IMPLICIT_PORT=smtp:direct ...
# once the servers listen and before the clients connect (see obs_capture).

SVC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# fail, note, need_cmd, random_port, port_owned_by, wait_listening: the
# helpers of the deployment tests, so that both suites behave alike.
# shellcheck source=../deploy/lib.sh
. "$SVC_ROOT/tests/deploy/lib.sh"

SVC_PIDS=()
SVC_GUARDS=()
SVC_LOGS=()
SVC_OK=0
SVC_SAW_HYBRID=0
# 0 while the assertions are about something in front of the service (a
# TLS terminator): its hybrid group is not the service's.
SVC_HYBRID_COUNTS=1
SVC_N=0
# obs_capture: the tcpdump recording the test's connections, its pcaps, the
# ports it covers and what observe must find on them.
OBS_TCPDUMP=
OBS_PCAPS=()
OBS_PORTS=" "
# The group list every hybrid server here is given: hybrid first, then the
# classical groups that clients without pqtls need.
SVC_GROUPS=X25519MLKEM768:X25519:prime256v1

# No server outlives its test, even when ctest's timeout SIGKILLs the script
# and its EXIT trap never runs.
SVC_SERVER_LIFETIME=${SVC_SERVER_LIFETIME:-170}

svc_cleanup() {
    local rc=$? g
    stop_pids 30 "${SVC_PIDS[@]}"
    for g in "${SVC_GUARDS[@]}"; do
        kill -KILL -- "-$g" 2>/dev/null || true
    done
    if [ "$rc" -ne 0 ] || [ "$SVC_OK" -ne 1 ]; then
        local f
        for f in "${SVC_LOGS[@]}"; do
            [ -f "$f" ] || continue
            printf '\n----- %s (last 40 lines) -----\n' "$f" >&2
            tail -n 40 "$f" >&2 || true
        done
        printf '\n%s: FAILED; files kept in %s\n' "$SVC_NAME" "$SVC_DIR" >&2
        [ "$rc" -ne 0 ] || rc=1
    else
        rm -rf "$SVC_DIR"
    fi
    exit "$rc"
}

# svc_init NAME PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
svc_init() {
    [ $# -eq 5 ] || fail "svc_init needs NAME PQTLS_SO NODE PQTLS_BIN RESULTS_DIR"
    SVC_NAME="$1"
    # Absolute paths: the servers run with other working directories.
    PQTLS_SO="$(realpath -m "$2")"
    NODE="$(realpath -m "$3")"
    PQTLS="$(realpath -m "$4")"
    SVC_RESULT="$5/$SVC_NAME.result"
    mkdir -p "$5"
    rm -f "$SVC_RESULT"
    [ -f "$PQTLS_SO" ] || fail "provider module $PQTLS_SO is missing; build first"
    [ -x "$PQTLS" ] || fail "pqtls command $PQTLS is missing; build first"
    [ -x "$NODE" ] || fail "Node.js 24 ($NODE) is missing; run scripts/deps.sh"
    need_cmd openssl openssl
    need_cmd python3 python3
    # The services read their files as their own users (postgres, www-data,
    # dovenull...), and their Unix sockets must stay short: a temporary
    # directory, readable by all, that holds nothing secret but a test key.
    SVC_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pqtls-svc-$SVC_NAME.XXXXXX")"
    chmod 755 "$SVC_DIR"
    trap svc_cleanup EXIT
    trap 'exit 143' TERM INT HUP

    # The openssl.cnf of docs/deploy.md: default + pqtls, nothing else.
    OSSL_CNF="$SVC_DIR/openssl-pqtls.cnf"
    "$SVC_ROOT/scripts/openssl-cnf.sh" "$PQTLS_SO" >"$OSSL_CNF"
    # The same plus a default group list for every SSL_CTX the program
    # creates (OpenSSL's "system_default" SSL configuration): for servers
    # with no group setting of their own (MariaDB, Postfix 3.7). Repeating
    # [openssl_init] adds to that section (docs/deploy.md shows this file).
    OSSL_CNF_GROUPS="$SVC_DIR/openssl-pqtls-groups.cnf"
    {
        cat "$OSSL_CNF"
        cat <<EOF

[openssl_init]
ssl_conf = ssl_sect

[ssl_sect]
system_default = pqtls_groups

[pqtls_groups]
Groups = $SVC_GROUPS
EOF
    } >"$OSSL_CNF_GROUPS"
    chmod 644 "$OSSL_CNF" "$OSSL_CNF_GROUPS"

    # A throwaway self-signed P-256 certificate for localhost.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$SVC_DIR/key.pem" -out "$SVC_DIR/cert.pem" -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        >"$SVC_DIR/req.log" 2>&1 || {
        SVC_LOGS+=("$SVC_DIR/req.log")
        fail "openssl req could not make a test certificate"
    }
    chmod 644 "$SVC_DIR/cert.pem" "$SVC_DIR/key.pem"

    local cnf
    for cnf in "$OSSL_CNF" "$OSSL_CNF_GROUPS"; do
        OPENSSL_CONF="$cnf" openssl list -providers >"$SVC_DIR/providers.txt" 2>&1 || true
        grep -q 'pqtls' "$SVC_DIR/providers.txt" || {
            SVC_LOGS+=("$SVC_DIR/providers.txt")
            fail "openssl does not load $PQTLS_SO through $cnf"
        }
    done
    note "$SVC_NAME: working in $SVC_DIR"
}

svc_need_root() {
    [ "$(id -u)" -eq 0 ] ||
        fail "$SVC_NAME needs root: $1 (CI runs the suite as root; run ctest as root or with -LE services)"
}

# svc_track PID: stop PID at the end, and kill it after the lifetime even if
# this script dies without running its trap. The guard is detached from
# this script (its parent exits at once): ctest's timeout kills the test's
# whole process tree, and a guard inside it would die with it, leaving the
# servers that daemonize (the Postfix master, Apache's parent) running.
# The normal cleanup stops the guard too: it runs in a process group of its
# own (setsid), whose id svc_guard prints, and the group is killed.
# svc_guard COMMAND: run the shell COMMAND after the lifetime, detached;
# prints the guard's process group id.
svc_guard() {
    # Inside bash -c, $0 is svc_guard, $1 the lifetime and $2 the command.
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c '(sleep "$1"; eval "$2") </dev/null >/dev/null 2>&1 & echo $$' \
        svc_guard "$SVC_SERVER_LIFETIME" "$1"
}
svc_track() {
    SVC_PIDS+=("$1")
    SVC_GUARDS+=("$(svc_guard "kill -KILL $1")")
}

# svc_track_pidfile FILE: the same guard for a server that daemonizes, set
# before it starts: it kills whatever pid FILE names when the lifetime is
# over, so that the moment between the start and svc_track is covered too.
svc_track_pidfile() {
    SVC_GUARDS+=("$(svc_guard "p=\$(tr -dc 0-9 <'$1') && [ -n \"\$p\" ] && kill -KILL \$p")")
}

# svc_ports N: N candidate ports in SVC_PORTS (see random_port).
svc_ports() {
    local i
    SVC_PORTS=()
    for ((i = 0; i < $1; i++)); do
        SVC_PORTS+=("$(random_port)")
    done
}

# svc_wait_ports PID LOG PORT...: 0 when PID listens on every PORT, 1 when it
# exited first (a port taken: the caller retries with other ports).
svc_wait_ports() {
    local pid="$1" log="$2" port
    shift 2
    for port in "$@"; do
        wait_listening "$pid" "$port" "$log" || return 1
    done
}

# svc_start_haproxy WRITER: haproxy -db in SVC_DIR/haproxy (HP) with no
# OPENSSL_CONF (its providers come from haproxy.cfg), site.pem the test's
# certificate and key. WRITER prints haproxy.cfg for the port that
# svc_ports 1 has just put in SVC_PORTS[0]; a port already taken is retried
# with another, up to 6 tries. Sets HP and HP_PID.
svc_start_haproxy() {
    local writer="$1" pid
    HP="$SVC_DIR/haproxy"
    mkdir -p "$HP"
    cat "$SVC_DIR/cert.pem" "$SVC_DIR/key.pem" >"$HP/site.pem"
    SVC_LOGS+=("$HP/haproxy.log")
    HP_PID=
    for _ in 1 2 3 4 5 6; do
        svc_ports 1
        "$writer" >"$HP/haproxy.cfg"
        env -u OPENSSL_CONF haproxy -db -f "$HP/haproxy.cfg" >>"$HP/haproxy.log" 2>&1 </dev/null &
        pid=$!
        svc_track "$pid"
        if svc_wait_ports "$pid" "$HP/haproxy.log" "${SVC_PORTS[0]}"; then
            HP_PID=$pid
            break
        fi
        stop_pids 30 "$pid"
        grep -qiE 'cannot bind|address already in use' "$HP/haproxy.log" ||
            fail "haproxy exited at startup"
    done
    [ -n "$HP_PID" ] || fail "haproxy: no free port after 6 tries"
}

# Names for the code points the tests meet (IANA TLS Supported Groups).
group_name() {
    case "$1" in
    0x11ec) echo X25519MLKEM768 ;;
    0x11eb) echo SecP256r1MLKEM768 ;;
    0x001d) echo X25519 ;;
    0x0017) echo secp256r1 ;;
    0x0018) echo secp384r1 ;;
    *) echo "$1" ;;
    esac
}

# tls_handshake S_CLIENT_ARGS...: one `openssl s_client -msg` with pqtls
# loaded (the caller gives -connect, -starttls and -groups). Sets TLS_LOG,
# TLS_RC (s_client's status), TLS_GROUP (the ServerHello's key_share group
# as 0xNNNN, empty when there was no ServerHello) and TLS_HELLOS (how many
# ClientHellos were sent: 2 means the server asked for another group with a
# HelloRetryRequest).
tls_handshake() {
    local a prev=""
    TLS_PORT=
    for a in "$@"; do
        [ "$prev" != -connect ] || TLS_PORT="${a##*:}"
        prev="$a"
    done
    SVC_N=$((SVC_N + 1))
    TLS_LOG="$SVC_DIR/s_client.$SVC_N.log"
    TLS_RC=0
    OPENSSL_CONF="$OSSL_CNF" timeout -k 2 20 openssl s_client -msg "$@" </dev/null \
        >"$TLS_LOG" 2>&1 || TLS_RC=$?
    [ "$TLS_RC" -ne 124 ] || fail "openssl s_client $* did not finish within 20 s (log: $TLS_LOG)"
    TLS_HELLOS="$(grep -c '^>>> TLS 1.3, Handshake \[length [0-9a-f]*\], ClientHello' "$TLS_LOG" || true)"
    TLS_GROUP="$("$NODE" "$SVC_ROOT/tests/provider/serverhello_group.mjs" "$TLS_LOG" 2>/dev/null)" ||
        TLS_GROUP=
}

tls_fail() {
    SVC_LOGS+=("$TLS_LOG")
    fail "$@"
}

# tls_expect WHAT WANT S_CLIENT_ARGS...: the handshake must complete with
# group WANT (0xNNNN). WANT may carry "+hrr" or "+nohrr" to assert whether a
# HelloRetryRequest happened, e.g. 0x0017+hrr.
tls_expect() {
    local what="$1" want="$2" hellos=""
    shift 2
    case "$want" in
    *+hrr) hellos=2 want="${want%+hrr}" ;;
    *+nohrr) hellos=1 want="${want%+nohrr}" ;;
    esac
    tls_handshake "$@"
    [ "$TLS_RC" -eq 0 ] ||
        tls_fail "$what: s_client failed (status $TLS_RC), expected $(group_name "$want")"
    [ -n "$TLS_GROUP" ] || tls_fail "$what: no ServerHello key_share in the s_client trace"
    [ "$TLS_GROUP" = "$want" ] ||
        tls_fail "$what: negotiated $(group_name "$TLS_GROUP") ($TLS_GROUP), expected $(group_name "$want") ($want)"
    if [ -n "$hellos" ] && [ "$TLS_HELLOS" -ne "$hellos" ]; then
        tls_fail "$what: $TLS_HELLOS ClientHello(s), expected $hellos (HelloRetryRequest or not)"
    fi
    [ "$want" != 0x11ec ] || [ "$SVC_HYBRID_COUNTS" -eq 0 ] || SVC_SAW_HYBRID=1
    obs_expect "$TLS_PORT" "$want" "${hellos:-any}"
    note "ok: $what: $(group_name "$TLS_GROUP") ($TLS_GROUP), $TLS_HELLOS ClientHello(s)"
}

# tls_expect_fail WHAT S_CLIENT_ARGS...: the handshake must not complete.
# Prints the alert s_client received, if any.
tls_expect_fail() {
    local what="$1" alert
    shift
    tls_handshake "$@"
    if [ "$TLS_RC" -eq 0 ] && [ -n "$TLS_GROUP" ]; then
        tls_fail "$what: the handshake completed with $(group_name "$TLS_GROUP"), expected a failure"
    fi
    alert="$(grep -m1 -o '<<< TLS 1.[23], Alert \[length 0002\], fatal [a-z_]*' "$TLS_LOG" |
        sed 's/.*fatal /alert /')" || true
    # A ClientHello went out: observe must report that handshake as failed.
    [ "$TLS_HELLOS" -eq 0 ] || obs_expect "$TLS_PORT" fail any
    note "ok: $what: no TLS (${alert:-no alert received}; s_client status $TLS_RC)"
}

# scan_expect TARGET STAGE GROUP [FLAG...]: pqtls scan of TARGET (host:port
# or a URL, smtp://, imap://, postgres://, ... as docs/scan.md lists) must
# report STAGE and the flags given, and, unless GROUP is "-", its
# x25519mlkem768 probe must have completed with GROUP.
scan_expect() {
    local target="$1" stage="$2" group="$3"
    shift 3
    SVC_N=$((SVC_N + 1))
    local out="$SVC_DIR/scan.$SVC_N.jsonl" rc=0
    timeout -k 2 60 "$PQTLS" scan --no-progress --timeout 5000 --split-gap 200 "$target" \
        >"$out" 2>"$out.err" || rc=$?
    [ "$rc" -eq 0 ] || {
        SVC_LOGS+=("$out" "$out.err")
        fail "pqtls scan $target: exit status $rc"
    }
    python3 "$SVC_ROOT/tests/services/scan_check.py" "$out" "$stage" "$group" "$@" || {
        SVC_LOGS+=("$out")
        fail "pqtls scan $target: not as expected"
    }
    if [ "$group" = X25519MLKEM768 ] && [ "$SVC_HYBRID_COUNTS" -eq 1 ]; then
        SVC_SAW_HYBRID=1
    fi
}

# ---- pqtls observe on a capture of the test (issue 10) ----
#
# obs_capture SPEC...: record the test's connections to these ports with
# tcpdump on lo from now on (a new recording replaces the previous one; the
# recordings are read as one capture at the end). SPEC is PORT=APP for a
# port where every client speaks the protocol's dialogue before TLS
# (STARTTLS, SSLRequest, ...): observe must name APP from that preamble on
# every connection, the scanner's probes included. PORT=APP:direct is a
# port of direct TLS (465's or 993's role on a test port): observe is told
# --app-port PORT=APP, the way an administrator names such a port, and the
# handshakes openssl s_client made must say APP by port. A further
# ":closes" says the server refuses a ClientHello it cannot serve by closing
# the connection without an alert (Dovecot 2.3, slapd with GnuTLS): on the
# wire that is closed_after_client_hello, as a middlebox's drop would be.
#
# Every tls_expect then also adds an expectation for observe: a completed
# handshake on that port with the same group (and HRR or not, when it
# asserted that), and every tls_expect_fail that sent a ClientHello a
# handshake that did not complete. svc_done reads the recordings with
# `pqtls observe` and checks them (obs_check.py), after the test's own
# assertions: so the group the test asserted from s_client's trace is
# asserted once more from the wire, by the observer.
obs_capture() {
    local spec port filter=""
    need_cmd tcpdump tcpdump
    obs_stop
    for spec in "$@"; do
        port="${spec%%=*}"
        OBS_PORTS+="$port "
        printf '%s\n' "$spec" >>"$SVC_DIR/obs.ports"
        filter+="${filter:+ or }port $port"
    done
    SVC_N=$((SVC_N + 1))
    local pcap="$SVC_DIR/obs.$SVC_N.pcap" log="$SVC_DIR/tcpdump.$SVC_N.log"
    OBS_PCAPS+=("$pcap")
    SVC_LOGS+=("$log")
    # --immediate-mode -U: every packet is in the file when tcpdump stops;
    # -B: room for the scanner's bursts on a busy machine.
    tcpdump -i lo -B 16384 --immediate-mode -U -s 0 -w "$pcap" "tcp and ($filter)" \
        >"$log" 2>&1 </dev/null &
    OBS_TCPDUMP=$!
    svc_track "$OBS_TCPDUMP"
    tcpdump_wait "$OBS_TCPDUMP" "$log"
    note "observe: recording $* on lo"
}

# obs_expect PORT WANT HRR: what observe must find for one handshake (the
# helpers above call it); nothing when the port is not being recorded.
obs_expect() {
    [[ "$OBS_PORTS" == *" $1 "* ]] || return 0
    printf '%s %s %s\n' "$1" "$2" "$3" >>"$SVC_DIR/obs.expect"
}

# obs_stop: stop the recording (SIGINT: tcpdump writes what it has).
obs_stop() {
    [ -n "$OBS_TCPDUMP" ] || return 0
    sleep 0.2 # the last packets of the last connection
    kill -INT "$OBS_TCPDUMP" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$OBS_TCPDUMP" 2>/dev/null || break
        sleep 0.05
    done
    wait "$OBS_TCPDUMP" 2>/dev/null || true
    OBS_TCPDUMP=
}

# obs_check: pqtls observe over the recordings, then obs_check.py.
obs_check() {
    [ "${#OBS_PCAPS[@]}" -gt 0 ] || return 0
    obs_stop
    local args=() spec out="$SVC_DIR/observe.jsonl" rc=0
    while read -r spec; do
        [[ "$spec" != *:direct* ]] || args+=(--app-port "${spec%%:*}")
    done <"$SVC_DIR/obs.ports"
    SVC_LOGS+=("$out.err")
    timeout -k 2 60 "$PQTLS" observe "${args[@]}" "${OBS_PCAPS[@]}" >"$out" 2>"$out.err" ||
        fail "pqtls observe ${args[*]} ${OBS_PCAPS[*]}: status $?"
    touch "$SVC_DIR/obs.expect"
    python3 "$SVC_ROOT/tests/services/obs_check.py" "$out" "$SVC_DIR/obs.ports" \
        "$SVC_DIR/obs.expect" || rc=$?
    if [ "$rc" -ne 0 ]; then
        SVC_LOGS+=("$out")
        fail "pqtls observe on the capture of the test: not as expected ($(cat "$SVC_DIR"/tcpdump.*.log | grep -h 'dropped by kernel' | tr '\n' ' '))"
    fi
}

# svc_done VERSION: every assertion held. Records what the test found for
# the table in docs/deploy.md (tests/services/deploy_table.py checks it):
# the version of the server that ran, and whether it negotiated the hybrid
# group (some assertion expected X25519MLKEM768 and got it). VERSION "-":
# a test that is no row of the table; nothing recorded.
svc_done() {
    local hybrid=no
    obs_check
    [ "$SVC_SAW_HYBRID" -eq 0 ] || hybrid=yes
    if [ "$1" != - ]; then
        printf 'test=services.%s\nversion=%s\nhybrid=%s\n' "$SVC_NAME" "$1" "$hybrid" >"$SVC_RESULT.tmp"
        mv "$SVC_RESULT.tmp" "$SVC_RESULT"
        note "$SVC_NAME: all assertions held (version $1, hybrid $hybrid)"
    else
        note "$SVC_NAME: all assertions held"
    fi
    SVC_OK=1
}
