#!/usr/bin/env python3
"""package.install_libs: the static libraries libpqtls-dev and pqtls-devel
ship are every static pqtls_* library of src/, in link order.

    check_install_libs.py BUILD/packaging-libs.txt

The file is written by CMakeLists.txt at configure time: a line
"install pqtls_a pqtls_b ..." (PQT_INSTALL_LAYERS, the order of pqtls.pc's
Libs) and per static library of src/ "lib pqtls_x DEPS..." (the pqtls_*
names among its LINK_LIBRARIES). A library missing from the list would be
missing from the packages; one listed after a library it uses would make
`cc ... $(pkg-config --libs pqtls)` fail with undefined symbols.
"""
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    order = None
    libs = {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == "install":
                order = words[1:]
            elif words[0] == "lib":
                libs[words[1]] = sorted(set(words[2:]) - {words[1]})
    if order is None or not libs:
        sys.exit("check_install_libs: %s has no install line or no libraries" % sys.argv[1])
    errors = []
    for lib in sorted(libs):
        if lib not in order:
            errors.append("%s is a static library of src/ but not in PQT_INSTALL_LAYERS "
                          "(CMakeLists.txt): the -dev packages would lack it" % lib)
    for lib in order:
        if lib not in libs:
            errors.append("%s is in PQT_INSTALL_LAYERS but is no static library of src/" % lib)
            continue
        for dep in libs[lib]:
            if dep in order and order.index(dep) < order.index(lib):
                errors.append("%s uses %s but comes after it in PQT_INSTALL_LAYERS "
                              "(pqtls.pc's Libs must list a library before those it uses)"
                              % (lib, dep))
    if errors:
        for e in errors:
            print("FAIL: " + e)
        sys.exit(1)
    print("ok: %d static libraries installed, in link order: %s" % (len(order), " ".join(order)))


if __name__ == "__main__":
    main()
