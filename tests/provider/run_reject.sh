#!/usr/bin/env bash
# `openssl s_server` + pqtls must answer every malformed key_share with the
# alert RFC 10024 / RFC 8446 name (illegal_parameter, 47) and keep serving.
# libssl 3.0 sends that alert exactly when EVP_PKEY_set1_encoded_public_key
# fails, so this checks that the provider validates there.
#
# Usage: run_reject.sh OPENSSL TLS_POKE PROVIDER_DIR WORKDIR
# For each group: short, long and ek-modulus shares, an off-curve point for
# the SecP groups, a small-order / zero classical part for every hybrid;
# then a valid share on the same server must get a ServerHello with the
# group. tls_poke (tests/interop) builds the ClientHellos.
set -euo pipefail

if [ $# -ne 4 ]; then
    echo "usage: $0 OPENSSL TLS_POKE PROVIDER_DIR WORKDIR" >&2
    exit 2
fi
OPENSSL=$1 POKE=$2 PROVDIR=$3 WORK=$4
T=20
GROUPS_ALL="X25519MLKEM768 SecP256r1MLKEM768 SecP384r1MLKEM1024 MLKEM512 MLKEM768 MLKEM1024"

die() {
    echo "FAIL: $*" >&2
    if [ -f "$WORK/s_server.log" ]; then
        echo "----- s_server.log -----" >&2
        cat "$WORK/s_server.log" >&2
    fi
    exit 1
}
[ -f "$PROVDIR/pqtls.so" ] || die "$PROVDIR/pqtls.so is missing; build the pqtls_provider target"
[ -x "$POKE" ] || die "$POKE is missing; build the tls_poke target"

rm -rf "$WORK"
mkdir -p "$WORK"
SERVER_PID=
cleanup() {
    [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
    exec 7>&- 2>/dev/null || true
}
trap cleanup EXIT

"$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    >"$WORK/req.log" 2>&1 || die "openssl req could not make a test certificate"
mkfifo "$WORK/stdin"
exec 7<>"$WORK/stdin"

# No -naccept: one server answers every poke, so "keeps serving" is tested.
timeout 120 "$OPENSSL" s_server -accept 127.0.0.1:0 -tls1_3 -ignore_unexpected_eof \
    -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
    -provider-path "$PROVDIR" -provider pqtls -provider default \
    -groups "$(echo $GROUPS_ALL | tr ' ' ':')" <&7 >"$WORK/s_server.log" 2>&1 &
SERVER_PID=$!
for ((i = 0; i < T * 10; i++)); do
    grep -q '^ACCEPT ' "$WORK/s_server.log" 2>/dev/null && break
    sleep 0.1
done
port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$WORK/s_server.log" | head -n 1)
[ -n "$port" ] || die "s_server did not start"

poke() { # poke GROUP MODE EXPECT...: run tls_poke, compare its one-line answer
    local group=$1 mode=$2
    shift 2
    local got
    got=$("$POKE" 127.0.0.1 "$port" --group "$group" --mode "$mode" --sni localhost \
        --timeout-ms 5000 2>&1) || true
    [ "$got" = "$*" ] || die "$group $mode: server answered '$got', expected '$*'"
    echo "ok   $group $mode: $got"
}

for g in $GROUPS_ALL; do
    poke "$g" short alert 2 47
    poke "$g" long alert 2 47
    poke "$g" ek-modulus alert 2 47
    case "$g" in
    SecP*) poke "$g" ec-offcurve alert 2 47 ;;
    esac
    case "$g" in
    MLKEM*) ;;
    *) poke "$g" ec-zero alert 2 47 ;;
    esac
    poke "$g" valid serverhello "$g"
done
kill -0 "$SERVER_PID" 2>/dev/null || die "s_server exited during the test"
