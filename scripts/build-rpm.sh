#!/usr/bin/env bash
# Build the RPM packages of packaging/rpm/pqtls.spec (pqtls, pqtls-provider,
# pqtls-devel for the RHEL 9 family) into OUTDIR (default build-rpm/).
#
#   scripts/build-rpm.sh [OUTDIR]        (what `make rpm` runs)
#
# Makes OUTDIR/rpmbuild/SOURCES/pqtls-VERSION.tar.gz from the files git
# knows (as scripts/build-deb.sh copies them) and runs rpmbuild -bb with
# _topdir OUTDIR/rpmbuild; the packages land in OUTDIR/rpmbuild/RPMS/ARCH/.
# The spec's Version must equal the project VERSION in CMakeLists.txt.
#
# On RHEL 9 it is a normal build (install the BuildRequires first:
# dnf builddep packaging/rpm/pqtls.spec). On Debian, with Debian's rpm
# package, it is a smoke build: --nodeps (the BuildRequires name RHEL
# packages, the Debian -dev packages are what is really used),
# packaging/rpm/macros.cmake-rhel9 stands in for RHEL's CMake macros, and no
# debuginfo packages (Debian's rpm lacks RHEL's find-debuginfo setup).
# Exit status: 0 built, 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/build-rpm}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
SPEC="$ROOT/packaging/rpm/pqtls.spec"

die() {
    printf 'build-rpm: ERROR: %s\n' "$*" >&2
    exit 1
}
command -v rpmbuild >/dev/null 2>&1 ||
    die "rpmbuild is missing: run scripts/deps.sh (Debian package rpm) or dnf install rpm-build"

version="$(sed -n 's/^Version: *//p' "$SPEC")"
project="$(sed -n 's/^project(pqtls VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")"
[ "$version" = "$project" ] ||
    die "packaging/rpm/pqtls.spec says Version $version but CMakeLists.txt says $project; update the spec (Version, %changelog)"

top="$OUT/rpmbuild"
rm -rf "$top"
mkdir -p "$top"/{BUILD,BUILDROOT,RPMS,SOURCES,SPECS,SRPMS}
stage="$OUT/stage"
rm -rf "$stage"
mkdir -p "$stage/pqtls-$version"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z -c -o --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && [ ! -d "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -C "$stage/pqtls-$version" -xf -
else
    (cd "$ROOT" && tar --exclude='./build*' --exclude=./node_modules --exclude=./.git -cf - .) |
        tar -C "$stage/pqtls-$version" -xf -
fi
rm -rf "$stage/pqtls-$version"/build* "$stage/pqtls-$version"/node_modules
tar -C "$stage" -czf "$top/SOURCES/pqtls-$version.tar.gz" "pqtls-$version"
rm -rf "$stage"
cp "$SPEC" "$top/SPECS/"

args=(-bb --define "_topdir $top")
if [ -z "$(rpm --eval '%{?cmake:yes}')" ]; then
    # Not a RHEL-family host: the smoke build described above.
    args+=(--nodeps --load "$ROOT/packaging/rpm/macros.cmake-rhel9" --define "debug_package %{nil}")
    echo "build-rpm: no %cmake macros here (not RHEL): smoke build with --nodeps and packaging/rpm/macros.cmake-rhel9"
fi
start=$SECONDS
rpmbuild "${args[@]}" "$top/SPECS/pqtls.spec" || die "rpmbuild failed (log above)"
printf 'build-rpm: built in %d s:\n' $((SECONDS - start))
find "$top/RPMS" -name '*.rpm' -exec ls -l {} +
