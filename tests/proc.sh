# shellcheck shell=bash
# Process helpers for the test scripts that start servers (sourced, not run):
# tests/deploy/lib.sh, tests/scan/estate.sh, tests/observe/live.sh.

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
