#!/bin/sh
# Print an openssl.cnf that loads the pqtls provider beside OpenSSL's
# default provider (both must be activated: naming any provider turns the
# implicit default off). Used by the tests and handy for deployments:
#
#   scripts/openssl-cnf.sh /usr/lib/x86_64-linux-gnu/ossl-modules/pqtls.so \
#       > /etc/ssl/openssl-pqtls.cnf
#   OPENSSL_CONF=/etc/ssl/openssl-pqtls.cnf openssl list -providers
#
# See docs/deploy.md.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 /path/to/pqtls.so" >&2
    exit 2
fi
cat <<EOF_CNF
openssl_conf = openssl_init

[openssl_init]
providers = provider_sect

[provider_sect]
default = default_sect
pqtls = pqtls_sect

[default_sect]
activate = 1

[pqtls_sect]
module = $1
activate = 1
EOF_CNF
