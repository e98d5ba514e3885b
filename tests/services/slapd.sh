#!/usr/bin/env bash
# services.slapd: Debian 12's OpenLDAP slapd 2.5 cannot negotiate a hybrid
# group, because Debian builds it with GnuTLS (3.7.9 on Debian 12), not
# OpenSSL: an OpenSSL provider never enters the process, whatever
# OPENSSL_CONF says, and GnuTLS 3.7 has no ML-KEM group (its priority
# strings, olcTLSCipherSuite, cannot name one either).
#
# Asserted on StartTLS (ldap://, port 389's role) and ldaps (636's), with
# OPENSSL_CONF pointing at pqtls all the same: the slapd binary links
# libgnutls and not libssl; a client offering X25519MLKEM768 and X25519
# gets X25519 after a HelloRetryRequest; a client offering only
# X25519MLKEM768 gets no TLS ("No common key share with peer" in slapd's
# log). slapd logs protocol and cipher per connection ("TLS established
# tls_ssf=256 ssf=256 tls_proto=TLS1.3 tls_cipher=AES-256-GCM"), never the
# group. What to do instead is in docs/deploy.md (a TLS terminator in
# front, or an OpenSSL build of OpenLDAP).
#
# Usage: slapd.sh PQTLS_SO NODE PQTLS_BIN RESULTS_DIR
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
svc_init slapd "$@"
# shellcheck source=slapd_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/slapd_lib.sh"
slapd_start
note "slapd $LD_VERSION pid $LD_PID: ldap ${SVC_PORTS[0]}, ldaps ${SVC_PORTS[1]}"
obs_capture "${LD_PORTS[0]}=ldap:closes" "${LD_PORTS[1]}=ldap:direct:closes"

# The directory answers over StartTLS (a real LDAP client, not only s_client).
out="$(LDAPTLS_REQCERT=never ldapsearch -x -ZZ -H "ldap://127.0.0.1:${SVC_PORTS[0]}" \
    -s base -b '' namingContexts 2>&1)" || fail "ldapsearch -ZZ failed: $out"
grep -q 'namingContexts: dc=pqtls,dc=test' <<<"$out" || fail "ldapsearch: no namingContexts: $out"
note "ok: ldapsearch -ZZ (StartTLS): namingContexts: dc=pqtls,dc=test"

HYB=X25519MLKEM768:X25519
tls_expect "ldap StartTLS, client $HYB" 0x001d+hrr \
    -connect "127.0.0.1:${SVC_PORTS[0]}" -starttls ldap -groups $HYB
tls_expect "ldaps, client $HYB" 0x001d+hrr -connect "127.0.0.1:${SVC_PORTS[1]}" -groups $HYB
tls_expect_fail "ldaps, client X25519MLKEM768 only" \
    -connect "127.0.0.1:${SVC_PORTS[1]}" -groups X25519MLKEM768
for _ in $(seq 1 30); do
    grep -q 'No common key share with peer' "$LD_LOG" && break
    sleep 0.1
done
grep -q 'No common key share with peer' "$LD_LOG" || fail "slapd did not log why it refused"
note "    slapd.log: $(grep -m1 -o 'TLS: can.t accept: No common key share with peer' "$LD_LOG")"
note "    slapd.log: $(grep -m1 -o 'TLS established .*' "$LD_LOG")"

scan_expect "127.0.0.1:${SVC_PORTS[1]}" none -
scan_expect "ldaps://127.0.0.1:${SVC_PORTS[1]}" none -
scan_expect "ldap://127.0.0.1:${SVC_PORTS[0]}" none -

# ldaps terminated by haproxy + pqtls (the providers from haproxy.cfg), LDAP
# in clear to slapd on loopback. The hybrid group here is haproxy's.
SVC_HYBRID_COUNTS=0
need_cmd haproxy haproxy
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
    timeout client 30s
    timeout server 30s
frontend ldaps
    bind 127.0.0.1:${SVC_PORTS[0]} ssl crt $HP/site.pem curves $SVC_GROUPS
    default_backend slapd
backend slapd
    server slapd 127.0.0.1:${LD_PORTS[0]}
EOF
}
svc_start_haproxy haproxy_cfg
note "haproxy pid $HP_PID: ldaps 127.0.0.1:${SVC_PORTS[0]} -> slapd ldap 127.0.0.1:${LD_PORTS[0]}"
obs_capture "${LD_PORTS[0]}=ldap:closes" "${LD_PORTS[1]}=ldap:direct:closes" "${SVC_PORTS[0]}=ldap:direct"
tls_expect "ldaps through haproxy + pqtls, client $HYB" 0x11ec+nohrr \
    -connect "127.0.0.1:${SVC_PORTS[0]}" -groups $HYB
out="$(LDAPTLS_REQCERT=never ldapsearch -x -H "ldaps://127.0.0.1:${SVC_PORTS[0]}" \
    -s base -b '' namingContexts 2>&1)" || fail "ldapsearch through haproxy failed: $out"
grep -q 'namingContexts: dc=pqtls,dc=test' <<<"$out" || fail "ldapsearch through haproxy: $out"
note "ok: ldapsearch ldaps:// through haproxy: namingContexts: dc=pqtls,dc=test"
scan_expect "127.0.0.1:${SVC_PORTS[0]}" supported X25519MLKEM768

svc_done "$LD_VERSION"
