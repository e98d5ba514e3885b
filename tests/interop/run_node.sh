#!/usr/bin/env bash
# Run a Node.js interop script with the project's Node.js 24 binary (from
# node_modules, installed by scripts/deps.sh), failing loudly when it is
# missing: the system node (v20) has no ML-KEM, and skipping would hide that
# the comparison with OpenSSL never ran.
#   run_node.sh NODE SCRIPT ARGS...
set -euo pipefail
node="$1"
shift
if [ ! -x "$node" ]; then
    echo "interop: FAIL: Node.js 24 not found at $node." >&2
    echo "interop: run scripts/deps.sh (or make deps) to install it with npm ci." >&2
    exit 1
fi
exec "$node" "$@"
