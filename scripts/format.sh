#!/usr/bin/env bash
# clang-format over every C file of the tree with the repository's
# .clang-format. `scripts/format.sh` rewrites the files; `--check` (what
# .ci/run does) changes nothing and fails, naming the files, when any
# differs. Files written by a generator (gen_*.py) are left as generated.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode=fix
if [ "${1:-}" = "--check" ]; then
    mode=check
elif [ $# -gt 0 ]; then
    echo "usage: scripts/format.sh [--check]" >&2
    exit 2
fi
command -v clang-format >/dev/null || { echo "format.sh: clang-format not found (apt-get install clang-format)" >&2; exit 2; }
generated='^(src/crypto/keccak/keccak_f1600_impl\.h|src/crypto/mlkem/x86_64/consts_avx2\.h)$'
mapfile -t files < <(git ls-files '*.c' '*.h' | grep -Ev "$generated" | grep -v '^node_modules/')
if [ "$mode" = fix ]; then
    clang-format -i "${files[@]}"
    exit 0
fi
bad=()
for f in "${files[@]}"; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done
if [ ${#bad[@]} -gt 0 ]; then
    printf 'format.sh: %d file(s) differ from .clang-format (run scripts/format.sh):\n' ${#bad[@]}
    printf '  %s\n' "${bad[@]}"
    exit 1
fi
echo "format.sh: ${#files[@]} files match .clang-format"
