# shellcheck shell=bash
# Process helpers for the test scripts that start servers (sourced, not run):
# tests/deploy/lib.sh, tests/scan/estate.sh, tests/observe/live.sh,
# tests/scan/test_cbom.sh, tests/scan/test_starttls.sh,
# tests/store/test_store_cbom.sh.

# stop_pids TENTHS PID...: SIGTERM to every PID, then give each up to
# TENTHS tenths of a second to go before SIGKILL; reap them.
stop_pids() {
    local tenths="$1" pid i
    shift
    for pid in "$@"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$@"; do
        for ((i = 0; i < tenths; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# kill_after SECONDS PID: a background guard that kills PID after SECONDS
# even if the script itself is killed and its traps never run. The guard's
# own pid is left in KILL_AFTER_PID, for the caller's list of processes.
kill_after() {
    local seconds="$1" pid="$2"
    (
        sleep "$seconds"
        kill -KILL "$pid" 2>/dev/null
    ) >/dev/null 2>&1 &
    # shellcheck disable=SC2034 # read by the caller
    KILL_AFTER_PID=$!
}

# start_s_server NAME CONF CERT KEY GROUPS: `openssl s_server -www` on a
# port the kernel picks (CONF: an openssl.cnf, e.g. one loading pqtls, or
# /dev/null for none); sets PORT. For scripts that keep WORK (its log goes
# to WORK/s_server.NAME.log), LIFETIME (it is killed after that many
# seconds), the array PIDS (its pid and its guard's are added) and fail().
start_s_server() {
    local log="$WORK/s_server.$1.log"
    OPENSSL_CONF="$2" openssl s_server -accept 127.0.0.1:0 -www -cert "$3" -key "$4" \
        -groups "$5" >"$log" 2>&1 </dev/null &
    PIDS+=($!)
    kill_after "$LIFETIME" "$!"
    PIDS+=("$KILL_AFTER_PID")
    PORT=
    for _ in $(seq 1 100); do
        PORT="$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")"
        [ -z "$PORT" ] || return 0
        sleep 0.1
    done
    fail "s_server $1 printed no ACCEPT line (see $log)"
}
