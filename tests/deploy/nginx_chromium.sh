#!/usr/bin/env bash
# deploy.nginx_chromium: Debian's headless Chromium, with its DEFAULT TLS
# settings, loads a page from Debian's nginx + pqtls
# (ssl_ecdh_curve X25519MLKEM768:X25519). Chromium sends an X25519MLKEM768
# key share by default, so nginx must log group 0x11ec for that request and
# must have seen 0x11ec among the groups Chromium offered.
#
# Usage: nginx_chromium.sh PQTLS_SO TLS_POKE WORK_ROOT
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
deploy_init "$1" "$2" "$3" nginx_chromium
need_cmd chromium chromium
need_cmd timeout coreutils

write_conf() {
    nginx_http_common "$1"
    cat <<EOF
    server {
        listen 127.0.0.1:$2 ssl;
        server_name localhost;
        ssl_ecdh_curve X25519MLKEM768:X25519;
        root $1/html;
        location / { try_files \$uri /index.html; }
    }
}
EOF
}

start_nginx nginx write_conf
PORT=${NGINX_PORTS[0]}

version="$(chromium --version 2>/dev/null | head -n 1)" || true
note "browser: ${version:-unknown}"

chromium_dump_dom "https://localhost:$PORT/chromium-default" "$DEPLOY_DIR/dom.html"
grep -q 'hello from pqtls nginx' "$DEPLOY_DIR/dom.html" ||
    fail "chromium did not render the page (dom: $(head -c 300 "$DEPLOY_DIR/dom.html"))"
note "ok: chromium rendered the page"

line="$(nginx_log_for /chromium-default)"
offered="${line#* offered=}"
offered="${offered%% *}"
case ":$offered:" in
*:0x11ec:*) note "ok: chromium offered X25519MLKEM768 by default (offered=$offered)" ;;
*) fail "this Chromium ($version) did not offer X25519MLKEM768 (0x11ec); it offered $offered" ;;
esac
expect_nginx_group /chromium-default 0x11ec "chromium, default settings"

deploy_done
