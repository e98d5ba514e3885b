#!/usr/bin/env bash
# shellcheck disable=SC2016 # dpkg-query formats are single-quoted on purpose
# package.deb_chroot: the Debian packages of `make deb`, installed into a
# clean minimal Debian 12 the way an administrator would, used there, and
# removed and purged without leaving anything behind.
#
#   test_deb_chroot.sh DEB_DIR NODE SOURCE_ROOT
#
# 1. base     a `debootstrap --variant=minbase bookworm` from the mirror this
#             machine's apt uses (tests/package/apt_sources.py reads
#             /etc/apt/sources.list{,.d}; no host is named here), cached in
#             $PQTLS_PACKAGE_CACHE (default $XDG_CACHE_HOME/pqtls-test, or
#             /var/cache/pqtls-test) and reused while it is younger than
#             PQTLS_PACKAGE_CACHE_DAYS (7) days;
# 2. copy     a fresh copy of it for this run, /proc mounted inside only
#             while the test runs (unmounted by the EXIT trap);
# 3. install  `apt-get install --no-install-recommends ./pqtls_*.deb
#             ./openssl-provider-pqtls_*.deb ./libpqtls-dev_*.deb` inside:
#             the declared dependencies come from the mirror, and every
#             package apt added must be in their dependency closure;
# 4. files   (phases "files", "tools", "openssl") `pqtls --version`, ldd of
#             the command and the module, the bash completion, a program
#             built with `pkg-config pqtls` from the chroot (devprog.c);
#             then openssl and man-db as test tools: `man -l` of every page,
#             `openssl list -providers` with /etc/ssl/openssl-pqtls.cnf (and
#             without it: no pqtls, the system openssl.cnf is untouched), an
#             `openssl s_server` / `s_client` pair on 127.0.0.1 whose
#             ServerHello key_share group, read from s_client's -msg trace,
#             must be X25519MLKEM768 (OpenSSL 3.0's s_client prints no
#             "Server Temp Key" for a KEM group); a client offering only
#             X25519 must be refused by that server;
# 5. remove   `apt-get remove`: the files are gone, the conffile stays;
# 6. purge    `apt-get purge`: the conffile is gone too and no file of the
#             packages remains; then `apt-get purge` of every package apt
#             added for them and for the test tools, and the installed
#             packages and the file list of the whole chroot must equal
#             those taken before the install.
#
# Prints how long each phase took. Needs root (chroot, mount), debootstrap,
# and the mirror. Exit 77 (CTest: skipped) when not root.
set -euo pipefail

[ $# -eq 3 ] || {
    echo "usage: $0 DEB_DIR NODE SOURCE_ROOT" >&2
    exit 2
}
# make check-package says where make deb put them (DEB_OUT).
DEB_DIR="${PQTLS_DEB_DIR:-$1}"
NODE="$2"
SRC="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# fail, note, need_cmd, random_port, port_owned_by, wait_listening
# shellcheck source=tests/deploy/lib.sh
. "$SRC/tests/deploy/lib.sh"

CODENAME=bookworm
ARCH="$(dpkg --print-architecture)"
MULTIARCH="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
MODULESDIR=/usr/lib/$MULTIARCH/ossl-modules
PKGS=(pqtls openssl-provider-pqtls libpqtls-dev)

if [ "$(id -u)" -ne 0 ]; then
    echo "package.deb_chroot: SKIPPED: needs root (debootstrap, chroot, mount); CI runs it as root"
    exit 77
fi
need_cmd debootstrap debootstrap
need_cmd python3 python3
need_cmd dpkg-architecture dpkg-dev
need_cmd cc build-essential
need_cmd pkg-config pkg-config
[ -x "$NODE" ] || fail "Node.js $NODE is missing (it reads the ServerHello); run scripts/deps.sh"

# --- the packages under test --------------------------------------------------
DEBS=()
IN_ROOT_DEBS=()
for p in "${PKGS[@]}"; do
    mapfile -t found < <(ls "$DEB_DIR/${p}_"*"_$ARCH.deb" 2>/dev/null || true)
    [ "${#found[@]}" -eq 1 ] ||
        fail "expected one $DEB_DIR/${p}_*_$ARCH.deb, found ${#found[@]}; run 'make deb' first (make check-package does)"
    DEBS+=("${found[0]}")
    IN_ROOT_DEBS+=("/tmp/pqtls-debs/${found[0]##*/}")
done
VERSION="$(dpkg-deb -f "${DEBS[0]}" Version)"
for d in "${DEBS[@]}"; do
    [ "$(dpkg-deb -f "$d" Version)" = "$VERSION" ] || fail "$d is not version $VERSION: stale build-deb/?"
    # No maintainer scripts at all: nothing of ours runs at install time,
    # so nothing can edit a file that is not the package's own (such as
    # /etc/ssl/openssl.cnf).
    scripts="$(dpkg-deb --ctrl-tarfile "$d" | tar -t | grep -E '(pre|post)(inst|rm)$' || true)"
    [ -z "$scripts" ] || fail "$d has maintainer scripts ($scripts): check what they change"
done
note "packages: ${DEBS[*]##*/} (version $VERSION)"

# --- timing ---------------------------------------------------------------------
TIMES=()
PHASE=
PHASE_T0=
now() { date +%s.%N; }
phase() {
    phase_end
    PHASE="$1"
    PHASE_T0="$(now)"
    note "== phase: $PHASE"
}
phase_end() {
    [ -n "$PHASE" ] || return 0
    local t
    t="$(awk -v a="$PHASE_T0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
    TIMES+=("$PHASE $t")
    note "== phase $PHASE: ${t} s"
    PHASE=
}

# --- cleanup: processes, mounts, the copy -----------------------------------------
WORK=
ROOT=
PIDS=()
OK=0
# Every mount point under DIR, deepest first (from /proc/self/mounts).
mounts_under() {
    awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/self/mounts | sort -r
}
unmount_all() {
    local dir="$1" m
    for m in $(mounts_under "$dir"); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    [ -z "$(mounts_under "$dir")" ]
}
cleanup() {
    local rc=$?
    stop_pids 10 "${PIDS[@]}"
    phase_end
    if [ -n "$WORK" ]; then
        if ! unmount_all "$WORK"; then
            echo "package.deb_chroot: could not unmount under $WORK; NOT deleting it" >&2
            [ "$rc" -ne 0 ] || rc=1
        elif [ "$rc" -eq 0 ] && [ "$OK" -eq 1 ]; then
            rm -rf "$WORK"
        else
            echo "package.deb_chroot: FAILED; chroot kept in $WORK (no mounts left)" >&2
            [ "$rc" -ne 0 ] || rc=1
        fi
    fi
    if [ "${#TIMES[@]}" -gt 0 ]; then
        note "timings (s):"
        local t
        for t in "${TIMES[@]}"; do
            printf '  %-10s %6s\n' "${t% *}" "${t##* }"
        done
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

# in_root CMD...: run CMD inside the chroot with a clean environment. chroot
# and env exec, so "in_root_cmd ... &" leaves the pid of CMD itself in $!.
in_root_cmd() {
    IN_ROOT=(chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
}
in_root() {
    "${IN_ROOT[@]}" "$@"
}
APT=(apt-get -y -q -o Dpkg::Use-Pty=0 -o APT::Sandbox::User=root)

# installed_set: "package version" of every installed package in the chroot.
installed_set() {
    in_root dpkg-query -W -f='${db:Status-Status} ${Package}:${Architecture}\n' |
        awk '$1 == "installed" { print $2 }' | sort
}
# file_list: every path in the chroot, minus what changes by itself (apt's
# and dpkg's databases and caches, logs, temporary and virtual folders).
file_list() {
    (cd "$ROOT" && find . -xdev \
        \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./tmp \
        -o -path ./var/tmp -o -path ./var/lib/apt -o -path ./var/cache/apt \
        -o -path ./var/lib/dpkg -o -path ./var/log -o -path ./var/cache/debconf \
        -o -path ./var/cache/ldconfig \) -prune -o -print | sort)
}

# --- 1. base ------------------------------------------------------------------------
phase base
mapfile -t SOURCES < <(python3 "$HERE/apt_sources.py" "$CODENAME") ||
    fail "no Debian $CODENAME mirror in /etc/apt/sources.list{,.d} (see apt_sources.py)"
MIRROR="${SOURCES[0]%% *}"
note "mirror (from this machine's apt sources): $MIRROR"
if [ -n "${PQTLS_PACKAGE_CACHE:-}" ]; then
    CACHE="$PQTLS_PACKAGE_CACHE"
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
    CACHE="$XDG_CACHE_HOME/pqtls-test"
else
    CACHE=/var/cache/pqtls-test
fi
KEY="$CODENAME-minbase-$ARCH-$(printf '%s\n' "${SOURCES[@]}" | sha256sum | cut -c1-12)"
BASE="$CACHE/$KEY"
mkdir -p "$CACHE"
# One run at a time builds or reads the base (two helpers, two CI jobs).
exec 8>>"$CACHE/$KEY.lock"
flock -w 1800 8 || fail "timed out waiting for $CACHE/$KEY.lock"
max_days="${PQTLS_PACKAGE_CACHE_DAYS:-7}"
if [ -f "$BASE/ok" ] && [ -n "$(find "$BASE/ok" -mtime -"$max_days")" ]; then
    note "base: cached $BASE (made $(cat "$BASE/ok"))"
else
    note "base: debootstrap --variant=minbase $CODENAME into $BASE (cache empty or older than $max_days days)"
    unmount_all "$BASE" || fail "mounts left under $BASE from an earlier run; unmount them"
    rm -rf "$BASE"
    mkdir -p "$BASE"
    if ! debootstrap --variant=minbase --arch="$ARCH" "$CODENAME" "$BASE/rootfs" "$MIRROR" \
        >"$CACHE/$KEY.debootstrap.log" 2>&1; then
        unmount_all "$BASE" || true
        tail -n 30 "$CACHE/$KEY.debootstrap.log" >&2
        fail "debootstrap failed (log: $CACHE/$KEY.debootstrap.log)"
    fi
    unmount_all "$BASE" || fail "debootstrap left mounts under $BASE"
    # apt inside: the same archive entries as this machine's apt.
    printf 'deb %s\n' "${SOURCES[@]}" >"$BASE/rootfs/etc/apt/sources.list"
    rm -rf "$BASE/rootfs/var/cache/apt/archives/"*.deb
    date -u +%Y-%m-%dT%H:%M:%SZ >"$BASE/ok"
fi
mkdir -p "$CACHE/archives"
phase_end

# --- 2. copy ------------------------------------------------------------------------
phase copy
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/pqtls-package.XXXXXX")"
ROOT="$WORK/root"
in_root_cmd
cp -a "$BASE/rootfs" "$ROOT"
flock -u 8
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"
# debootstrap makes /dev/null and friends; where it could not (no mknod in a
# container) or they do not work here (TMPDIR mounted nodev), the host's
# /dev is bound instead.
if ! chroot "$ROOT" /bin/sh -c ': >/dev/null && head -c 1 /dev/urandom >/dev/null' 2>/dev/null; then
    mount --bind /dev "$ROOT/dev"
    note "copy: /dev of this machine bound into the chroot"
fi
# Downloaded packages of earlier runs (apt checks them against the index).
cp "$CACHE"/archives/*.deb "$ROOT/var/cache/apt/archives/" 2>/dev/null || true
mkdir -p "$ROOT/tmp/pqtls-debs"
cp "${DEBS[@]}" "$ROOT/tmp/pqtls-debs/"
chmod -R a+rX "$ROOT/tmp/pqtls-debs"
phase_end

phase update
in_root "${APT[@]}" update >"$WORK/update.log" 2>&1 || {
    tail -n 20 "$WORK/update.log" >&2
    fail "apt-get update in the chroot failed (mirror $MIRROR)"
}
phase_end

# --- 3. install -----------------------------------------------------------------------
phase install
file_list >"$WORK/files.before"
installed_set >"$WORK/pkgs.before"
in_root "${APT[@]}" install --no-install-recommends "${IN_ROOT_DEBS[@]}" \
    >"$WORK/install.log" 2>&1 || {
    tail -n 30 "$WORK/install.log" >&2
    fail "apt-get install of the packages failed in a clean $CODENAME"
}
installed_set >"$WORK/pkgs.after"
comm -13 "$WORK/pkgs.before" "$WORK/pkgs.after" >"$WORK/pkgs.new"
for p in "${PKGS[@]}"; do
    v="$(in_root dpkg-query -W -f='${db:Status-Status} ${Version}' "$p" 2>/dev/null || true)"
    [ "$v" = "installed $VERSION" ] || fail "$p: dpkg says '$v', expected 'installed $VERSION'"
done
# Only the declared dependencies: everything apt added is ours or in the
# closure of our packages' Depends (Recommends and Suggests not followed).
in_root apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${PKGS[@]}" 2>/dev/null |
    sed -n 's/^\([^ <][^ ]*\)$/\1/p; s/^ *[A-Za-z]*Depends: \([^<][^ ]*\)$/\1/p' |
    sed 's/:.*//' | sort -u >"$WORK/closure"
extra="$(sed 's/:.*//' "$WORK/pkgs.new" | sort -u | comm -23 - "$WORK/closure")"
[ -z "$extra" ] || fail "apt installed packages outside the dependency closure: $extra"
note "install: $(wc -l <"$WORK/pkgs.new") packages new (ours and their dependencies): $(sed 's/:.*//' "$WORK/pkgs.new" | tr '\n' ' ')"
# Remember the archives for the next run.
cp -n "$ROOT"/var/cache/apt/archives/*.deb "$CACHE/archives/" 2>/dev/null || true
# What the packages own, to check after the purge.
for p in "${PKGS[@]}"; do
    in_root dpkg-query -L "$p"
done | sort -u >"$WORK/owned"
phase_end

# --- 4. use ---------------------------------------------------------------------------
phase files
out="$(in_root pqtls --version)" || fail "pqtls --version failed in the chroot: $out"
note "pqtls --version: $(printf '%s' "$out" | tr '\n' ' ')"
grep -q "^pqtls ${VERSION%%[-+]*}\$" <<<"$out" || fail "pqtls --version says '$out', expected pqtls ${VERSION%%[-+]*}"
[ -f "$ROOT$MODULESDIR/pqtls.so" ] || fail "no $MODULESDIR/pqtls.so in the chroot"
for f in /usr/bin/pqtls "$MODULESDIR/pqtls.so"; do
    if in_root ldd "$f" | grep 'not found'; then
        fail "$f needs a library that no declared dependency brought"
    fi
done
# Bash completion: the shipped file defines it for pqtls.
comp="$(in_root bash -c '. /usr/share/bash-completion/completions/pqtls && complete -p pqtls')" ||
    fail "sourcing the bash completion failed"
note "completion: $comp"
grep -q ' pqtls$' <<<"$comp" || fail "the completion file defines no completion for pqtls: $comp"
# pkg-config file and headers where the compiler looks.
[ -f "$ROOT/usr/lib/$MULTIARCH/pkgconfig/pqtls.pc" ] || fail "pqtls.pc missing"
[ -f "$ROOT/usr/include/pqtls/mlkem.h" ] || fail "/usr/include/pqtls/mlkem.h missing"

# A program built against what libpqtls-dev installed (headers, static
# libraries, pqtls.pc): compiled here (a minimal system has no compiler),
# with the chroot as pkg-config's sysroot and only its .pc files, so the
# Requires of pqtls.pc (libcrypto, libpcap, zlib, sqlite3, libpq) must have
# come with libpqtls-dev's Depends; then run on this machine.
PC=(env PKG_CONFIG_SYSROOT_DIR="$ROOT"
    PKG_CONFIG_LIBDIR="$ROOT/usr/lib/$MULTIARCH/pkgconfig:$ROOT/usr/lib/pkgconfig:$ROOT/usr/share/pkgconfig"
    pkg-config)
pc_version="$("${PC[@]}" --modversion pqtls 2>&1)" || fail "pkg-config in the chroot: $pc_version"
[ "$pc_version" = "${VERSION%%[-+]*}" ] || fail "pqtls.pc says version $pc_version, expected ${VERSION%%[-+]*}"
pc_flags="$("${PC[@]}" --cflags --libs pqtls 2>&1)" || fail "pkg-config --cflags --libs pqtls: $pc_flags"
# shellcheck disable=SC2086 # a word list from pkg-config
cc -std=c11 -Wall -Wextra -Werror -o "$WORK/devprog" "$HERE/devprog.c" $pc_flags \
    >"$WORK/devprog.log" 2>&1 || fail "building against libpqtls-dev failed: $(cat "$WORK/devprog.log")"
"$WORK/devprog" "$WORK/devprog-store.db" || fail "the program built against libpqtls-dev failed"
[ -s "$WORK/devprog-store.db" ] || fail "devprog reported a store but $WORK/devprog-store.db is empty"
note "libpqtls-dev: pkg-config pqtls $pc_version: ${pc_flags//$ROOT/}"

# Test tools, installed after the check above so that they could not have
# brought a library our packages forgot to declare; purged again at the end
# with everything they brought.
phase tools
in_root "${APT[@]}" install --no-install-recommends openssl man-db >"$WORK/tools.log" 2>&1 || {
    tail -n 20 "$WORK/tools.log" >&2
    fail "apt-get install openssl man-db failed in the chroot"
}
installed_set >"$WORK/pkgs.tools"
cp -n "$ROOT"/var/cache/apt/archives/*.deb "$CACHE/archives/" 2>/dev/null || true
phase_end

phase openssl
# Every shipped manual page renders.
pages=0
while read -r page; do
    case "$page" in /usr/share/man/*.gz) ;; *) continue ;; esac
    txt="$(in_root env MANWIDTH=80 man -l "$page" 2>&1)" || fail "man -l $page failed: $txt"
    grep -q 'pqtls' <<<"$txt" || fail "man -l $page shows no 'pqtls'"
    pages=$((pages + 1))
done <"$WORK/owned"
[ "$pages" -ge 8 ] || fail "only $pages manual pages rendered, expected pqtls(1), one per command and pqtls-policy(5)"
note "man -l: $pages pages render"

# The provider, through the shipped configuration.
CNF=/etc/ssl/openssl-pqtls.cnf
in_root env OPENSSL_CONF=$CNF openssl list -providers >"$WORK/providers.txt" 2>&1 ||
    fail "openssl list -providers with $CNF failed: $(cat "$WORK/providers.txt")"
cat "$WORK/providers.txt"
awk '/^  [a-z]/ { p = $1 } /status: active/ { print p }' "$WORK/providers.txt" | sort >"$WORK/active"
[ "$(tr '\n' ' ' <"$WORK/active")" = "default pqtls " ] ||
    fail "active providers with $CNF: $(tr '\n' ' ' <"$WORK/active"), expected default and pqtls"
grep -q "version: ${VERSION%%[-+]*}\$" "$WORK/providers.txt" || fail "the loaded pqtls is not version $VERSION"
# Without it, nothing changed: the system's openssl.cnf does not load pqtls
# and is the file the openssl package shipped.
in_root openssl list -providers >"$WORK/providers-system.txt" 2>&1
if grep -q pqtls "$WORK/providers-system.txt"; then
    fail "openssl loads pqtls without OPENSSL_CONF: the system configuration was changed"
fi
if in_root dpkg --verify openssl | grep -q openssl.cnf; then
    fail "/etc/ssl/openssl.cnf differs from the openssl package's"
fi

# A TLS 1.3 handshake between two programs of the chroot.
in_root openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout /tmp/key.pem -out /tmp/cert.pem -days 2 -subj /CN=localhost \
    >"$WORK/req.log" 2>&1 || fail "openssl req failed in the chroot: $(cat "$WORK/req.log")"
# Without the provider, the group is unknown to OpenSSL 3.0: the server
# cannot even start with it (proves the handshake below is pqtls' doing).
if in_root timeout 10 openssl s_server -accept 127.0.0.1:0 -naccept 1 -cert /tmp/cert.pem -key /tmp/key.pem \
    -groups X25519MLKEM768 </dev/null >"$WORK/noprov.log" 2>&1; then
    fail "s_server accepted -groups X25519MLKEM768 without the provider"
fi
# -www: the server answers every connection and does not quit when its
# stdin ends; port 0: the kernel picks a free one, s_server prints it. The
# log exists before the loop reads it (the redirection of a background job
# may come later).
: >"$WORK/s_server.log"
"${IN_ROOT[@]}" OPENSSL_CONF=$CNF openssl s_server -accept 127.0.0.1:0 -www \
    -cert /tmp/cert.pem -key /tmp/key.pem -tls1_3 -groups X25519MLKEM768 \
    </dev/null >"$WORK/s_server.log" 2>&1 &
pid=$!
PIDS+=("$pid")
kill_after 120 "$pid"
PIDS+=("$KILL_AFTER_PID")
PORT=
for _ in $(seq 1 100); do
    PORT="$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$WORK/s_server.log")"
    [ -z "$PORT" ] || break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$PORT" ] || fail "s_server in the chroot printed no ACCEPT line: $(tail -5 "$WORK/s_server.log")"
echo Q | in_root env OPENSSL_CONF=$CNF timeout 30 openssl s_client -connect "127.0.0.1:$PORT" \
    -servername localhost -tls1_3 -groups X25519MLKEM768:X25519 -msg >"$WORK/s_client.log" 2>&1 ||
    fail "s_client with pqtls could not complete a handshake: $(tail -20 "$WORK/s_client.log")"
grep -q '^Protocol *: TLSv1.3\|^New, TLSv1.3' "$WORK/s_client.log" || fail "s_client did not report TLS 1.3"
group="$("$NODE" "$SRC/tests/provider/serverhello_group.mjs" "$WORK/s_client.log")" ||
    fail "no ServerHello key_share in s_client's trace ($WORK/s_client.log)"
[ "$group" = 0x11ec ] || fail "negotiated group $group, expected 0x11ec (X25519MLKEM768)"
note "s_server/s_client in the chroot: TLS 1.3, ServerHello key_share group $group (X25519MLKEM768)"
# A client without the hybrid group: the server (X25519MLKEM768 only) must
# refuse it, so the server's group list really was in force.
if echo Q | in_root env OPENSSL_CONF=$CNF timeout 30 openssl s_client -connect "127.0.0.1:$PORT" \
    -tls1_3 -groups X25519 >"$WORK/s_client-x25519.log" 2>&1; then
    fail "a client offering only X25519 completed a handshake with the X25519MLKEM768-only server"
fi
grep -q 'handshake failure\|alert' "$WORK/s_client-x25519.log" ||
    fail "the X25519-only client failed for another reason: $(tail -5 "$WORK/s_client-x25519.log")"
note "s_client offering only X25519: refused (handshake failure), as it must be"
stop_pids 20 "$pid"

# --- 5. remove ------------------------------------------------------------------------
phase remove
in_root "${APT[@]}" remove "${PKGS[@]}" >"$WORK/remove.log" 2>&1 || {
    tail -n 20 "$WORK/remove.log" >&2
    fail "apt-get remove failed"
}
for f in /usr/bin/pqtls "$MODULESDIR/pqtls.so" /usr/include/pqtls/mlkem.h; do
    [ ! -e "$ROOT$f" ] || fail "$f is still there after apt-get remove"
done
[ -f "$ROOT$CNF" ] || fail "$CNF was deleted by remove; a conffile stays until purge"
st="$(in_root dpkg-query -W -f='${db:Status-Abbrev}' openssl-provider-pqtls)"
[ "${st%% *}" = rc ] || fail "openssl-provider-pqtls status '$st' after remove, expected rc (config files)"
note "remove: files gone, $CNF kept (status rc)"

# --- 6. purge -------------------------------------------------------------------------
phase purge
# After remove, dpkg still knows the packages that have conffiles (status
# rc); the others are gone already, and apt has no index entry for them.
mapfile -t known < <(for p in "${PKGS[@]}"; do
    st="$(in_root dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
    [ "${st%% *}" != rc ] || echo "$p"
done)
[ "${known[*]}" = openssl-provider-pqtls ] ||
    fail "after remove, dpkg keeps config files of '${known[*]}', expected openssl-provider-pqtls only"
in_root "${APT[@]}" purge "${known[@]}" >"$WORK/purge.log" 2>&1 || {
    tail -n 20 "$WORK/purge.log" >&2
    fail "apt-get purge failed"
}
[ ! -e "$ROOT$CNF" ] || fail "$CNF is still there after purge"
for p in "${PKGS[@]}"; do
    st="$(in_root dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
    case "$st" in "" | "un "* | "pn "*) ;; *) fail "$p still known to dpkg after purge: '$st'" ;; esac
done
left=()
while read -r f; do
    # Folders the packages share with others (/usr/share/man/man1) stay.
    [ -e "$ROOT$f" ] && [ ! -d "$ROOT$f" ] && left+=("$f")
done <"$WORK/owned"
[ "${#left[@]}" -eq 0 ] || fail "files of the packages left after purge: ${left[*]}"
# Then everything apt added for them and for the test tools, by name (an
# autoremove alone keeps what an installed package merely recommends).
mapfile -t added < <(comm -13 "$WORK/pkgs.before" "$WORK/pkgs.tools" | grep -v -E "^($(
    IFS='|'
    echo "${PKGS[*]}"
)):")
in_root "${APT[@]}" purge "${added[@]}" >"$WORK/autoremove.log" 2>&1 || {
    tail -n 20 "$WORK/autoremove.log" >&2
    fail "apt-get purge of the dependencies and test tools failed"
}
installed_set >"$WORK/pkgs.final"
if ! diff -u "$WORK/pkgs.before" "$WORK/pkgs.final" >"$WORK/pkgs.diff"; then
    cat "$WORK/pkgs.diff" >&2
    fail "the installed packages differ from those before the install"
fi
file_list >"$WORK/files.after"
if ! diff -u "$WORK/files.before" "$WORK/files.after" >"$WORK/files.diff"; then
    head -n 40 "$WORK/files.diff" >&2
    fail "the chroot's files differ from before the install (diff above)"
fi
note "purge: $CNF gone, no file of the packages left, the chroot's $(wc -l <"$WORK/files.after") paths equal those before the install"
phase_end

OK=1
note "package.deb_chroot: OK"
