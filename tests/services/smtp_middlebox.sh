#!/usr/bin/env bash
# services.smtp_middlebox: a broken middlebox in front of the hybrid
# Postfix of services.postfix: starttls_relay.py passes SMTP through and
# drops the connection when the ClientHello after STARTTLS does not come
# in one TCP segment (counted by the kernel, TCP_INFO). The classic case for pqtls
# scan's flag segmentation-intolerant over STARTTLS: a hybrid ClientHello
# is large, and a middlebox like this one is what breaks it in the field.
#
# Smoke checks of the relay, so that the scanner's future assertion stands
# on a relay known to behave:
#   - openssl s_client + pqtls through it: X25519MLKEM768 (a ClientHello in
#     one piece passes);
#   - a ClientHello split in two segments 200 ms apart (smtp_split_hello.py)
#     straight to Postfix: answered (Postfix tolerates it);
#   - the same through the relay: closed without an answer, and the relay
#     says it dropped it; the same ClientHello whole through the relay:
#     answered.
# Then `pqtls scan smtp://` through the relay must say supported, flag
# segmentation-intolerant (switched on when the scanner speaks SMTP).
#
# Usage: smtp_middlebox.sh PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
svc_init smtp_middlebox "$@"
# shellcheck source=postfix_lib.sh
. "$HERE/postfix_lib.sh"
start_postfix

RELAY_LOG="$SVC_DIR/relay.log"
SVC_LOGS+=("$RELAY_LOG")
python3 "$HERE/starttls_relay.py" "$P_SMTP" --lifetime "$SVC_SERVER_LIFETIME" \
    >"$SVC_DIR/relay.out" 2>"$RELAY_LOG" </dev/null &
RELAY_PID=$!
svc_track "$RELAY_PID"
RELAY=
for _ in $(seq 1 100); do
    RELAY="$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$SVC_DIR/relay.out")"
    [ -z "$RELAY" ] || break
    kill -0 "$RELAY_PID" 2>/dev/null || fail "starttls_relay.py exited at startup"
    sleep 0.1
done
[ -n "$RELAY" ] || fail "starttls_relay.py printed no port within 10 s"
wait_listening "$RELAY_PID" "$RELAY" "$RELAY_LOG" || fail "starttls_relay.py exited"
note "relay pid $RELAY_PID on 127.0.0.1:$RELAY -> postfix 127.0.0.1:$P_SMTP"
obs_capture "$P_SMTP=smtp" "$RELAY=smtp"

tls_expect "s_client + pqtls through the relay, STARTTLS, client X25519MLKEM768:X25519" 0x11ec+nohrr \
    -connect "127.0.0.1:$RELAY" -starttls smtp -groups X25519MLKEM768:X25519
grep -q 'passed: ClientHello in one segment' "$RELAY_LOG" || fail "the relay did not see the ClientHello"

# split_hello WHAT PORT WANT [--split N]: smtp_split_hello.py's verdict.
split_hello() {
    local what="$1" port="$2" want="$3" got
    shift 3
    got="$(python3 "$HERE/smtp_split_hello.py" "$port" "$@" 2>&1)" ||
        fail "$what: smtp_split_hello.py: $got"
    [ "$got" = "$want" ] || fail "$what: '$got', expected '$want'"
    note "ok: $what: $got"
}
split_hello "split ClientHello straight to postfix" "$P_SMTP" server_hello --split 60
split_hello "split ClientHello through the relay" "$RELAY" closed --split 60
obs_expect "$RELAY" middlebox any
grep -q 'dropped: the ClientHello record' "$RELAY_LOG" ||
    fail "the relay did not log the dropped ClientHello"
note "    relay: $(grep -m1 -o 'dropped: .*' "$RELAY_LOG")"
split_hello "whole ClientHello through the relay" "$RELAY" server_hello

scan_expect "smtp://127.0.0.1:$P_SMTP" supported X25519MLKEM768
scan_expect "smtp://127.0.0.1:$RELAY" supported X25519MLKEM768 segmentation-intolerant

svc_done "$PF_VERSION"
