#!/usr/bin/env bash
# package.rpm: the RPM packages of packaging/rpm/pqtls.spec, as built by
# `make rpm` (scripts/build-rpm.sh; on Debian a smoke build with Debian's
# rpmbuild), checked for the layout of the RHEL 9 family, then installed
# into and erased from an empty RPM root.
#
#   test_rpm.sh RPM_DIR SOURCE_ROOT BUILD_MAN_DIR
#
# RPM_DIR: build-rpm/rpmbuild/RPMS/ARCH (make check-package gives it through
# PQTLS_RPM_DIR). BUILD_MAN_DIR: the build's man/ (the pages make install
# installs), which the pqtls package must carry one for one.
#
# Checked: one package each of pqtls, pqtls-provider, pqtls-devel at the
# spec's Version (= the project's); pqtls.so in /usr/lib64/ossl-modules (the
# MODULESDIR of RHEL 9's OpenSSL); /etc/pki/tls/openssl-pqtls.cnf marked
# %config and naming its own path in its examples; headers equal
# include/pqtls/*.h; libpqtls_*.a and pqtls.pc in /usr/lib64, pqtls.pc's
# libdir too; automatic Requires (libcrypto.so.3 with OPENSSL_3.0.0 for the
# module) and Provides (pkgconfig(pqtls)); no scriptlets; `rpm --root`
# install of all three (no file conflicts), erase, nothing left but the RPM
# database. What cannot be checked here: dependency resolution and running
# on RHEL 9 (docs/packaging.md).
set -euo pipefail

[ $# -eq 3 ] || {
    echo "usage: $0 RPM_DIR SOURCE_ROOT BUILD_MAN_DIR" >&2
    exit 2
}
RPM_DIR="${PQTLS_RPM_DIR:-$1}"
SRC="$2"
MAN_DIR="$3"

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
note() { printf '%s\n' "$*"; }
command -v rpm >/dev/null 2>&1 || fail "rpm is not installed (Debian package rpm); run scripts/deps.sh"

T0=$SECONDS
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pqtls-rpm.XXXXXX")"
OK=0
cleanup() {
    local rc=$?
    if [ "$rc" -eq 0 ] && [ "$OK" -eq 1 ]; then
        rm -rf "$WORK"
    else
        echo "package.rpm: FAILED; files kept in $WORK" >&2
        [ "$rc" -ne 0 ] || rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT

VERSION="$(sed -n 's/^project(pqtls VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")"
declare -A RPM
for p in pqtls pqtls-provider pqtls-devel; do
    mapfile -t found < <(ls "$RPM_DIR/$p-$VERSION"-*.rpm 2>/dev/null || true)
    [ "${#found[@]}" -eq 1 ] ||
        fail "expected one $RPM_DIR/$p-$VERSION-*.rpm, found ${#found[@]}; run 'make rpm' first (make check-package does)"
    RPM[$p]="${found[0]}"
    name="$(rpm -qp --qf '%{NAME} %{VERSION}' "${found[0]}" 2>/dev/null)"
    [ "$name" = "$p $VERSION" ] || fail "${found[0]} says '$name', expected '$p $VERSION'"
    scripts="$(rpm -qp --scripts "${found[0]}" 2>/dev/null)"
    [ -z "$scripts" ] || fail "$p has scriptlets: $scripts"
    rpm -qpl "${found[0]}" 2>/dev/null | sort >"$WORK/$p.files"
done
note "rpms: ${RPM[pqtls]##*/} ${RPM[pqtls-provider]##*/} ${RPM[pqtls-devel]##*/}"

has() { grep -qx -- "$2" "$WORK/$1.files" || fail "$1 lacks $2"; }
lacks() {
    if grep -E -- "$2" "$WORK/$1.files" >"$WORK/unwanted"; then
        fail "$1 must not contain $(tr '\n' ' ' <"$WORK/unwanted")"
    fi
}

# pqtls: the command, every page the build generates, the completion.
has pqtls /usr/bin/pqtls
has pqtls /usr/share/bash-completion/completions/pqtls
pages=0
for page in "$MAN_DIR"/man1/*.1 "$MAN_DIR"/man5/*.5; do
    [ -f "$page" ] || fail "no man pages in $MAN_DIR (build first)"
    sec="${page##*.}"
    grep -qE "^/usr/share/man/man$sec/${page##*/}(\.gz|\.xz|\.bz2)?\$" "$WORK/pqtls.files" ||
        fail "pqtls lacks the page ${page##*/}"
    pages=$((pages + 1))
done
n="$(grep -cE '^/usr/share/man/man[15]/' "$WORK/pqtls.files")"
[ "$n" -eq "$pages" ] || fail "pqtls has $n man pages, the build makes $pages"
lacks pqtls 'ossl-modules|\.a$|^/usr/include/'

# pqtls-provider: the module where RHEL 9's libcrypto looks, the config.
has pqtls-provider /usr/lib64/ossl-modules/pqtls.so
has pqtls-provider /etc/pki/tls/openssl-pqtls.cnf
[ "$(rpm -qpc "${RPM[pqtls-provider]}" 2>/dev/null)" = /etc/pki/tls/openssl-pqtls.cnf ] ||
    fail "/etc/pki/tls/openssl-pqtls.cnf is not marked %config"
lacks pqtls-provider '^/etc/ssl|^/usr/share/pqtls|^/usr/bin'
rpm -qp --requires "${RPM[pqtls-provider]}" 2>/dev/null >"$WORK/provider.requires"
grep -qx 'libcrypto.so.3(OPENSSL_3.0.0)(64bit)' "$WORK/provider.requires" ||
    fail "pqtls-provider does not require libcrypto.so.3(OPENSSL_3.0.0): $(tr '\n' ' ' <"$WORK/provider.requires")"
if grep -q '^pqtls\b' "$WORK/provider.requires"; then
    fail "pqtls-provider requires the command package"
fi

# pqtls-devel: headers as in the tree, static libraries and pqtls.pc in lib64.
for h in "$SRC"/include/pqtls/*.h; do
    has pqtls-devel "/usr/include/pqtls/${h##*/}"
done
n="$(grep -c '^/usr/include/pqtls/.*\.h$' "$WORK/pqtls-devel.files")"
[ "$n" -eq "$(find "$SRC/include/pqtls" -name '*.h' | wc -l)" ] || fail "pqtls-devel has $n headers, the tree has a different number"
# The libraries CMakeLists.txt installs (PQT_INSTALL_LAYERS), and only those.
libs_txt="$(dirname "$MAN_DIR")/packaging-libs.txt"
[ -f "$libs_txt" ] || fail "$libs_txt is missing (configure the build first)"
read -r -a libs < <(sed -n 's/^install //p' "$libs_txt")
[ "${#libs[@]}" -gt 0 ] || fail "no install line in $libs_txt"
for l in "${libs[@]}"; do
    has pqtls-devel "/usr/lib64/lib$l.a"
done
n="$(grep -c '^/usr/lib64/libpqtls_.*\.a$' "$WORK/pqtls-devel.files")"
[ "$n" -eq "${#libs[@]}" ] || fail "pqtls-devel has $n static libraries, CMakeLists.txt installs ${#libs[@]}"
has pqtls-devel /usr/lib64/pkgconfig/pqtls.pc
lacks pqtls-devel '^/usr/lib/x86_64-linux-gnu|\.so$'
rpm -qp --provides "${RPM[pqtls-devel]}" 2>/dev/null | grep -qx "pkgconfig(pqtls) = $VERSION" ||
    fail "pqtls-devel does not provide pkgconfig(pqtls) = $VERSION"

# The files themselves: install all three into an empty RPM root (no
# dependencies there, hence --nodeps), look, erase.
R="$WORK/root"
mkdir -p "$R"
rpm --root "$R" --initdb
rpm --root "$R" -i --nodeps "${RPM[pqtls]}" "${RPM[pqtls-provider]}" "${RPM[pqtls-devel]}" ||
    fail "rpm -i of the three packages into an empty root failed (file conflicts?)"
# shellcheck disable=SC2016 # a literal ${exec_prefix}
grep -q '^libdir=\${exec_prefix}/lib64$\|^libdir=/usr/lib64$' "$R/usr/lib64/pkgconfig/pqtls.pc" ||
    fail "pqtls.pc: $(grep '^libdir' "$R/usr/lib64/pkgconfig/pqtls.pc"), expected /usr/lib64"
grep -q '^Version: '"$VERSION"'$' "$R/usr/lib64/pkgconfig/pqtls.pc" || fail "pqtls.pc is not version $VERSION"
cnf="$R/etc/pki/tls/openssl-pqtls.cnf"
grep -q '^#   OPENSSL_CONF=/etc/pki/tls/openssl-pqtls.cnf openssl list -providers$' "$cnf" ||
    fail "the RPM's openssl-pqtls.cnf does not name /etc/pki/tls/openssl-pqtls.cnf in its example"
grep -q '^module = pqtls.so$' "$cnf" || fail "openssl-pqtls.cnf does not load pqtls.so from the module directory"
# The installed module is the provider: openssl here loads it by path.
openssl list -providers -provider-path "$R/usr/lib64/ossl-modules" -provider pqtls >"$WORK/providers" 2>&1 ||
    fail "openssl cannot load the RPM's pqtls.so: $(cat "$WORK/providers")"
grep -q "version: $VERSION" "$WORK/providers" || fail "the RPM's pqtls.so is not version $VERSION"
rpm --root "$R" -e pqtls pqtls-provider pqtls-devel || fail "rpm -e failed"
# The RPM database: /var/lib/rpm on RHEL 9, ~/.rpmdb with Debian's rpm.
dbpath="$(rpm --eval '%{_dbpath}')"
left="$(cd "$R" && find . -mindepth 1 -path ".$dbpath" -prune -o ! -type d -print)"
[ -z "$left" ] || fail "files left after rpm -e: $left"
note "package.rpm: file lists as RHEL 9 expects them (/usr/lib64/ossl-modules/pqtls.so, %config /etc/pki/tls/openssl-pqtls.cnf, lib64), $pages man pages, install and erase clean ($((SECONDS - T0)) s)"
OK=1
