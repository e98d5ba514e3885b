#!/usr/bin/env bash
# Build the Debian packages (pqtls, openssl-provider-pqtls, libpqtls-dev)
# from this tree with dpkg-buildpackage, into OUTDIR (default build-deb/),
# never into the parent directory, and run lintian on the result.
#
#   scripts/build-deb.sh [OUTDIR]        (what `make deb` runs)
#
# dpkg-buildpackage writes its results beside the source folder, so the tree
# is copied to OUTDIR/pqtls-VERSION/ first (the files git knows, tracked or
# not ignored, or everything but build*/ and node_modules outside git) and
# built there: OUTDIR then holds the .deb files, the .buildinfo, the
# .changes and lintian.txt. The version is debian/changelog's; it must equal
# the project VERSION in CMakeLists.txt.
#
# Environment: JOBS (parallel build, default nproc), LINTIAN=0 to skip
# lintian. Exit status: 0 built and lintian reported no error or warning
# (or only overridden ones), 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/build-deb}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

die() {
    printf 'build-deb: ERROR: %s\n' "$*" >&2
    exit 1
}

for tool in dpkg-buildpackage dpkg-parsechangelog dh; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool is missing: run scripts/deps.sh (Debian packages dpkg-dev, debhelper)"
done

version="$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)"
project="$(sed -n 's/^project(pqtls VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")"
[ -n "$project" ] || die "no 'project(pqtls VERSION ...)' line in CMakeLists.txt"
# A native package: the Debian version is the project version, or the
# project version with a +suffix for packaging-only changes.
case "$version" in
"$project" | "$project"+*) ;;
*) die "debian/changelog says $version but CMakeLists.txt says $project; add a changelog entry (dch -v $project)" ;;
esac

src="$OUT/pqtls-$version"
rm -rf "$src"
mkdir -p "$src"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked and untracked-but-not-ignored files that exist (a file deleted
    # in the work tree is not copied).
    (cd "$ROOT" && git ls-files -z -c -o --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && [ ! -d "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -C "$src" -xf -
else
    (cd "$ROOT" && tar --exclude='./build*' --exclude=./node_modules --exclude=./.git -cf - .) |
        tar -C "$src" -xf -
fi
# The project's own results of an earlier build in the copy would be reused.
rm -rf "$src"/build* "$src"/node_modules

rm -f "$OUT"/*.deb "$OUT"/*.ddeb "$OUT"/*.changes "$OUT"/*.buildinfo "$OUT"/lintian.txt
start=$SECONDS
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$JOBS ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -b -us -uc) || die "dpkg-buildpackage failed (log above)"
printf 'build-deb: built in %d s:\n' $((SECONDS - start))
ls -l "$OUT"/*.deb

changes="$(ls "$OUT"/pqtls_"${version}"_*.changes)"
if [ "${LINTIAN:-1}" != 0 ]; then
    command -v lintian >/dev/null 2>&1 || die "lintian is missing: run scripts/deps.sh"
    # The source package too (debian/control, copyright, rules are checked
    # there), made from a fresh copy in OUTDIR/source/; it is not kept.
    rm -rf "$OUT/source"
    mkdir -p "$OUT/source"
    cp -a "$src" "$OUT/source/pqtls-$version"
    (cd "$OUT/source/pqtls-$version" && rm -rf obj-* debian/.debhelper debian/tmp debian/files \
        debian/*.substvars debian/debhelper-build-stamp debian/pqtls debian/openssl-provider-pqtls \
        debian/libpqtls-dev debian/*-dbgsym)
    (cd "$OUT/source" && dpkg-source -b "pqtls-$version" >/dev/null) ||
        die "dpkg-source -b failed in $OUT/source"
    # Every tag at every level (pedantic, experimental too); errors and
    # warnings fail, overridden tags are listed with their reason.
    set +e
    lintian --display-info --pedantic --display-experimental --show-overrides "$changes" \
        "$OUT/source/pqtls_${version}.dsc" 2>&1 | grep -v '^running with root privileges' >"$OUT/lintian.txt"
    set -e
    rm -rf "$OUT/source"
    # The tags (the N: lines are the overrides' reasons, kept in the file).
    grep -v '^N:' "$OUT/lintian.txt" || true
    if grep -E '^[EW]: ' "$OUT/lintian.txt" >/dev/null; then
        die "lintian reported errors or warnings ($OUT/lintian.txt)"
    fi
    echo "build-deb: lintian: no errors or warnings; $(grep -c '^O:' "$OUT/lintian.txt") overridden tags, $(grep -c '^[IPX]:' "$OUT/lintian.txt") info/pedantic/experimental tags (above)"
fi
