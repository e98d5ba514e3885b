#!/bin/bash
# test_man.sh PYTHON PQTLS SOURCE_DIR BUILD_MAN_DIR SCRATCH
# The man pages and completion of scripts/gen-man.py; see CMakeLists.txt.
set -u
PY=$1 PQTLS=$2 SRC=$3 BUILT=$4 SCRATCH=$5
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
"$PY" "$SRC/scripts/gen-man.py" "$PQTLS" "$SRC" "$SCRATCH/gen" || { echo "FAIL: generator"; exit 1; }

# 1. What the build holds (and make install installs) is what the binary says now.
if diff -r "$BUILT" "$SCRATCH/gen" >"$SCRATCH/drift.txt"; then
  ok "build's pages and completion match a regeneration from $PQTLS"
else
  fail "build's man pages differ from the binary's --help:"; head -40 "$SCRATCH/drift.txt"
fi

# 2. One page per command pqtls --help lists, and pqtls-policy(5).
cmds=$("$PQTLS" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && $1 != "" && $1 != "help" {print $1}')
[ -n "$cmds" ] || fail "no commands parsed from pqtls --help"
pages="$SCRATCH/gen/man1/pqtls.1 $SCRATCH/gen/man5/pqtls-policy.5"
for c in $cmds; do
  p="$SCRATCH/gen/man1/pqtls-$c.1"
  [ -f "$p" ] && ok "page for $c" || fail "no page for command $c"
  pages="$pages $p"
done
for want in scan observe mask history kem bench; do
  echo "$cmds" | grep -qx "$want" || fail "pqtls --help does not list $want"
done

# 3. Rendering: no groff warnings, no man warnings; the sections are there.
for p in $pages; do
  [ -f "$p" ] || continue
  w=$(groff -man -ww -z "$p" 2>&1)
  [ -z "$w" ] && ok "groff -ww $(basename "$p")" || fail "groff warnings in $p: $w"
  if command -v man >/dev/null; then
    w=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
    [ -z "$w" ] && ok "man --warnings -l $(basename "$p")" || fail "man warnings in $p: $w"
    txt=$(MANWIDTH=80 man -l "$p" 2>/dev/null | col -b)
  else
    txt=$(groff -man -Tutf8 -P-c "$p" 2>/dev/null)
  fi
  for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS"; do
    echo "$txt" | grep -q "^$s" || fail "$(basename "$p") has no $s section"
  done
  case $p in *man1/pqtls-*.1)
    echo "$txt" | grep -q "^OPTIONS" || fail "$(basename "$p") has no OPTIONS section"
    c=$(basename "$p" .1); c=${c#pqtls-}
    # every long option of the help text is in the rendered page
    for o in $("$PQTLS" "$c" --help | grep -oE -- '(^|[ ,|\[])--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
      echo "$txt" | grep -q -- "$o" || fail "pqtls-$c.1 lacks $o"
    done
    ;;
  esac
done
grep -q 'no-legacy-kyber' "$SCRATCH/gen/man5/pqtls-policy.5" || fail "pqtls-policy.5 lacks the flags"

# 4. Bash completion.
COMP="$SCRATCH/gen/completion/pqtls"
bash -n "$COMP" || fail "completion has a syntax error"
complete_line() { # words... (the last is the word being completed)
  bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _pqtls
    printf "%s\n" "${COMPREPLY[@]}"' _ "$COMP" "$@"
}
expect() { # expected-word  words...
  local want=$1; shift
  local got; got=$(complete_line "$@")
  if echo "$got" | grep -qxF -- "$want"; then ok "complete '$*' -> $want"
  else fail "complete '$*': no '$want' in: $(echo $got)"; fi
}
only() { # the one expected answer
  local want=$1; shift
  local got; got=$(complete_line "$@")
  [ "$got" = "$want" ] && ok "complete '$*' = $want" || fail "complete '$*' gave '$(echo $got)', want '$want'"
}
only scan pqtls sc
only --format pqtls scan --fo
expect cbom pqtls scan --format ""
expect html pqtls scan -f ""
expect x25519mlkem768 pqtls scan --probes ""
only x25519mlkem768,classical pqtls scan --probes x25519mlkem768,cla
expect smtp pqtls scan --starttls ""
expect --store pqtls history --
expect cbom pqtls history --format ""
expect prom pqtls observe --format ""
expect --pseudonymise pqtls observe --ps
expect nginx pqtls mask --log ""
expect drop pqtls mask --payload ""
expect keygen pqtls kem ""
expect ML-KEM-768 pqtls kem keygen --alg ML
expect MLKEM768 pqtls kem keygen --alg MLKEM
expect avx2 pqtls kem encaps --backend ""
expect jsonl pqtls bench kem --format ""
expect mask pqtls help ""
expect --version pqtls --v
grep -q "X25519MLKEM768" "$COMP" || fail "completion lacks the group table's names"

if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all passed"
