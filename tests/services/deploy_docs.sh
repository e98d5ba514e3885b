#!/usr/bin/env bash
# services.deploy_docs: the by-hand steps of docs/deploy.md that tripped a
# new user, each done the way the document says:
#
#   1. nginx: log_format is refused in server {} and accepted in http {};
#      `nginx -t` and `nginx -s reload` run by hand fail on the hybrid
#      group name unless they get the same OPENSSL_CONF as the service, and
#      work with it (the reload reaches the master, the group stays hybrid).
#   2. haproxy: the providers loaded in haproxy.cfg (ssl-provider default,
#      then pqtls; no OPENSSL_CONF at all) give X25519MLKEM768.
#   3. Debian 12's /etc/ssl/openssl.cnf, on a copy: appending the provider
#      sections does nothing and an .include at the top is ignored (pqtls
#      not loaded, no error); the edit in docs/deploy.md (the shell block
#      after the marker "tested by services.deploy_docs: system-openssl-cnf",
#      run here on the copy) loads it, and s_server and s_client using only
#      that file negotiate X25519MLKEM768.
#   4. Without root: user nobody runs s_server and s_client with an
#      OPENSSL_CONF and a pqtls.so outside the system directories.
#   5. `preferred` on OpenSSL 3.0: a server list without X25519
#      (X25519MLKEM768:prime256v1) makes a client that sent an X25519 share
#      retry, with the hybrid group if it has it; pqtls scan says preferred.
#
# Usage: deploy_docs.sh PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
svc_init deploy_docs "$@"
need_cmd nginx nginx
need_cmd haproxy haproxy
DEPLOY_MD="$SVC_ROOT/docs/deploy.md"
HYB=X25519MLKEM768:X25519

# --- 1. nginx by hand --------------------------------------------------------
NG="$SVC_DIR/nginx"
mkdir -p "$NG/logs" "$NG/tmp"
SVC_LOGS+=("$NG/logs/error.log" "$NG/nginx-t.log")

# nginx_conf PORT WHERE: the snippet of docs/deploy.md, with log_format in
# http {} (WHERE=http) or, as a new user put it, in server {} (WHERE=server).
nginx_conf() {
    local fmt="log_format pq '\$remote_addr \"\$request\" \$status group=\$ssl_curve offered=\$ssl_curves';"
    cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $NG/logs/nginx.pid;
error_log $NG/logs/error.log notice;
events { worker_connections 64; }
http {
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    $([ "$2" = http ] && printf '%s' "$fmt")
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate $SVC_DIR/cert.pem;
        ssl_certificate_key $SVC_DIR/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1;
        $([ "$2" = server ] && printf '%s' "$fmt")
        access_log $NG/logs/pq.log pq;
        return 200 "ok\n";
    }
}
EOF
}

ngx() {
    nginx -p "$NG/" -c "$NG/nginx.conf" -e "$NG/logs/error.log" "$@"
}

svc_ports 1
nginx_conf "${SVC_PORTS[0]}" server >"$NG/nginx.conf"
if OPENSSL_CONF="$OSSL_CNF" ngx -t >"$NG/nginx-t.log" 2>&1; then
    fail "nginx -t accepted log_format inside server {}"
fi
grep -q '"log_format" directive is not allowed here' "$NG/nginx-t.log" ||
    fail "nginx -t with log_format in server {}: not the expected error"
note "ok: log_format in server {}: $(grep -m1 -o '"log_format" directive is not allowed here' "$NG/nginx-t.log")"

NG_PID=
for _ in 1 2 3 4 5 6; do
    nginx_conf "${SVC_PORTS[0]}" http >"$NG/nginx.conf"
    if ngx -t >"$NG/nginx-t-plain.log" 2>&1; then
        fail "nginx -t without OPENSSL_CONF accepted the hybrid group"
    fi
    grep -q "group 'X25519MLKEM768' cannot be set" "$NG/nginx-t-plain.log" ||
        fail "nginx -t without OPENSSL_CONF: not the expected error"
    OPENSSL_CONF="$OSSL_CNF" ngx -t >"$NG/nginx-t.log" 2>&1 ||
        fail "nginx -t with OPENSSL_CONF failed: $(cat "$NG/nginx-t.log")"
    # Not through ngx(): a backgrounded function would be a subshell's pid.
    OPENSSL_CONF="$OSSL_CNF" nginx -p "$NG/" -c "$NG/nginx.conf" -e "$NG/logs/error.log" \
        >>"$NG/logs/stdout.log" 2>&1 </dev/null &
    pid=$!
    svc_track "$pid"
    if svc_wait_ports "$pid" "$NG/logs/error.log" "${SVC_PORTS[0]}"; then
        NG_PID=$pid
        break
    fi
    stop_pids 30 "$pid"
    grep -q 'Address already in use' "$NG/logs/error.log" || fail "nginx exited at startup"
    svc_ports 1
done
[ -n "$NG_PID" ] || fail "nginx: no free port after 6 tries"
PORT=${SVC_PORTS[0]}
note "ok: log_format in http {}: nginx -t passes with OPENSSL_CONF, fails without it:"
note "    $(grep -m1 -o "SSL_CTX_set1_curves_list.*cannot be set)" "$NG/nginx-t-plain.log")"
note "nginx (master) pid $NG_PID on 127.0.0.1:$PORT"

if ngx -s reload >"$NG/reload.log" 2>&1; then
    fail "nginx -s reload without OPENSSL_CONF succeeded"
fi
grep -q "group 'X25519MLKEM768' cannot be set" "$NG/reload.log" ||
    fail "nginx -s reload without OPENSSL_CONF: not the expected error: $(cat "$NG/reload.log")"
note "ok: nginx -s reload without OPENSSL_CONF fails: group 'X25519MLKEM768' cannot be set"
OPENSSL_CONF="$OSSL_CNF" ngx -s reload >"$NG/reload.log" 2>&1 ||
    fail "nginx -s reload with OPENSSL_CONF failed: $(cat "$NG/reload.log")"
for _ in $(seq 1 50); do
    grep -q 'reconfiguring' "$NG/logs/error.log" && break
    sleep 0.1
done
grep -q 'reconfiguring' "$NG/logs/error.log" || fail "the nginx master did not reload"
note "ok: nginx -s reload with OPENSSL_CONF: the master reloads"
tls_expect "nginx after the reload, client $HYB" 0x11ec+nohrr -connect "127.0.0.1:$PORT" -groups $HYB
OPENSSL_CONF="$OSSL_CNF" curl --silent --insecure --max-time 10 --noproxy '*' --output /dev/null \
    --curves X25519MLKEM768 "https://127.0.0.1:$PORT/" || fail "curl + pqtls to nginx failed"
for _ in $(seq 1 30); do
    grep -q 'group=0x11ec' "$NG/logs/pq.log" 2>/dev/null && break
    sleep 0.1
done
grep -q 'group=0x11ec' "$NG/logs/pq.log" || fail "nginx did not log group=0x11ec"
note "    pq.log: $(tail -n 1 "$NG/logs/pq.log")"
stop_pids 30 "$NG_PID"

# --- 2. haproxy with ssl-provider lines -------------------------------------
# haproxy_cfg: haproxy.cfg for svc_start_haproxy.
haproxy_cfg() {
    cat <<EOF
global
    ssl-provider-path $(dirname "$PQTLS_SO")
    ssl-provider default
    ssl-provider pqtls
defaults
    mode tcp
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend https
    bind 127.0.0.1:${SVC_PORTS[0]} ssl crt $HP/site.pem curves X25519MLKEM768:X25519:P-256
    default_backend nowhere
backend nowhere
    server none 127.0.0.1:9
EOF
}
svc_start_haproxy haproxy_cfg
tls_expect "haproxy, ssl-provider default then pqtls, no OPENSSL_CONF, client $HYB" 0x11ec+nohrr \
    -connect "127.0.0.1:${SVC_PORTS[0]}" -groups $HYB
stop_pids 30 "$HP_PID"

# --- 3. Debian's /etc/ssl/openssl.cnf, on a copy -----------------------------
SYS=/etc/ssl/openssl.cnf
[ -f "$SYS" ] || fail "$SYS is missing (Debian package openssl)"
want_md5="$(dpkg-query -W -f='${Conffiles}\n' openssl 2>/dev/null |
    awk -v f="$SYS" '$1 == f { print $2 }')" || want_md5=
if [ -n "$want_md5" ] && [ "$(md5sum <"$SYS" | cut -d' ' -f1)" != "$want_md5" ]; then
    note "note: $SYS differs from Debian's; the copy is of this machine's file"
fi
CNF="$SVC_DIR/openssl-system"
mkdir -p "$CNF"

# providers_of FILE: the providers `openssl list -providers` loads from it.
providers_of() {
    OPENSSL_CONF="$1" openssl list -providers 2>&1 | sed -n 's/^  \([a-z][a-z0-9_]*\)$/\1/p' | tr '\n' ' '
}
pqtls_sections() {
    printf '\n[provider_sect]\ndefault = default_sect\npqtls = pqtls_sect\n\n[default_sect]\nactivate = 1\n\n[pqtls_sect]\nmodule = %s\nactivate = 1\n' "$PQTLS_SO"
}

{
    cat "$SYS"
    pqtls_sections
} >"$CNF/appended.cnf"
got="$(providers_of "$CNF/appended.cnf")"
[ "$got" = "default " ] || fail "provider sections appended to $SYS: providers '$got', expected only default"
note "ok: $SYS + [provider_sect] etc. appended: providers: $got(pqtls silently not loaded)"

{
    printf '.include %s\n' "$OSSL_CNF"
    cat "$SYS"
} >"$CNF/include-top.cnf"
got="$(providers_of "$CNF/include-top.cnf")"
[ "$got" = "default " ] || fail ".include at the top of $SYS: providers '$got', expected only default"
note "ok: .include of the pqtls file at the top of $SYS: providers: $got(ignored)"

# The documented edit, extracted from docs/deploy.md and run on a copy.
block="$(awk '/<!-- tested by services.deploy_docs: system-openssl-cnf -->/ { on = 1; next }
    on && /^```/ { if (in_block) exit; in_block = 1; next }
    on && in_block { print }' "$DEPLOY_MD")"
[ -n "$block" ] || fail "docs/deploy.md has no system-openssl-cnf block after its marker"
cp "$SYS" "$CNF/openssl.cnf"
block="${block//sudo /}"
block="${block//\/etc\/ssl\/openssl.cnf/$CNF/openssl.cnf}"
block="${block//\/usr\/lib\/x86_64-linux-gnu\/ossl-modules\/pqtls.so/$PQTLS_SO}"
printf '%s\n' "$block" >"$CNF/edit.sh"
bash -euo pipefail "$CNF/edit.sh" >"$CNF/edit.log" 2>&1 || {
    SVC_LOGS+=("$CNF/edit.sh" "$CNF/edit.log")
    fail "the documented edit failed on the copy"
}
got="$(providers_of "$CNF/openssl.cnf")"
[ "$got" = "default pqtls " ] || {
    SVC_LOGS+=("$CNF/edit.sh")
    fail "after the documented edit: providers '$got', expected default and pqtls"
}
note "ok: the documented edit of $SYS (on a copy): providers: $got"
note "    $(diff "$SYS" "$CNF/openssl.cnf" | grep -c '^>') lines added or changed"

# s_server and s_client with nothing but the edited copy.
start_s_server_with() {
    local log="$1" pid
    shift
    "$@" >"$log" 2>&1 </dev/null &
    pid=$!
    svc_track "$pid"
    S_PORT=
    for _ in $(seq 1 100); do
        S_PORT="$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")"
        [ -z "$S_PORT" ] || break
        kill -0 "$pid" 2>/dev/null || fail "s_server exited at startup: $(tail -n 3 "$log")"
        sleep 0.1
    done
    [ -n "$S_PORT" ] || fail "s_server printed no ACCEPT line"
    S_PID=$pid
}
start_s_server_with "$CNF/s_server.log" env OPENSSL_CONF="$CNF/openssl.cnf" openssl s_server \
    -accept 127.0.0.1:0 -www -cert "$SVC_DIR/cert.pem" -key "$SVC_DIR/key.pem" \
    -groups X25519MLKEM768 -tls1_3
OSSL_CNF_SAVED="$OSSL_CNF"
OSSL_CNF="$CNF/openssl.cnf"
tls_expect "s_server and s_client with only the edited copy, X25519MLKEM768" 0x11ec+nohrr \
    -connect "127.0.0.1:$S_PORT" -groups X25519MLKEM768
OSSL_CNF="$OSSL_CNF_SAVED"
stop_pids 10 "$S_PID"

# --- 4. without root -----------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
    AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    start_s_server_with "$SVC_DIR/s_server-nobody.log" "${AS[@]}" env OPENSSL_CONF="$OSSL_CNF" \
        openssl s_server -accept 127.0.0.1:0 -www -cert "$SVC_DIR/cert.pem" \
        -key "$SVC_DIR/key.pem" -groups X25519MLKEM768 -tls1_3
    SVC_N=$((SVC_N + 1))
    log="$SVC_DIR/s_client-nobody.log"
    "${AS[@]}" env OPENSSL_CONF="$OSSL_CNF" timeout -k 2 20 openssl s_client -msg \
        -connect "127.0.0.1:$S_PORT" -groups X25519MLKEM768 </dev/null >"$log" 2>&1 ||
        fail "s_client as nobody failed: $(tail -n 3 "$log")"
    got="$("$NODE" "$SVC_ROOT/tests/provider/serverhello_group.mjs" "$log")" ||
        fail "s_client as nobody: no ServerHello"
    [ "$got" = 0x11ec ] || fail "s_client as nobody: group $got"
    note "ok: as user nobody, pqtls.so from $(dirname "$PQTLS_SO"): s_server and s_client negotiate X25519MLKEM768"
    stop_pids 10 "$S_PID"
else
    note "ok: running as $(id -un), not root: every step above ran without root"
fi

# --- 5. `preferred` on OpenSSL 3.0: leave X25519 out of the server's list --
# (docs/deploy.md, "Rollout stages"): a client that sent an X25519 share
# must retry, and one that has the hybrid group is asked for it.
start_s_server_with "$SVC_DIR/s_server-preferred.log" env OPENSSL_CONF="$OSSL_CNF" openssl s_server \
    -accept 127.0.0.1:0 -cert "$SVC_DIR/cert.pem" -key "$SVC_DIR/key.pem" \
    -groups X25519MLKEM768:prime256v1 -tls1_3 -www
tls_expect "server X25519MLKEM768:prime256v1, client X25519:X25519MLKEM768" 0x11ec+hrr \
    -connect "127.0.0.1:$S_PORT" -groups X25519:X25519MLKEM768
tls_expect "server X25519MLKEM768:prime256v1, classical client X25519:P-256" 0x0017+hrr \
    -connect "127.0.0.1:$S_PORT" -groups X25519:P-256
scan_expect "127.0.0.1:$S_PORT" preferred X25519MLKEM768
stop_pids 10 "$S_PID"

svc_done -
