#!/usr/bin/env python3
"""Print the Debian archive entries this machine's apt uses for one release.

    apt_sources.py CODENAME [ROOT]

Reads ROOT/etc/apt/sources.list and ROOT/etc/apt/sources.list.d/*.list
(one-line format) and *.sources (deb822) and prints one line per binary
("deb") entry whose suite is CODENAME, CODENAME-updates or
CODENAME-security:  URI SUITE COMPONENT...
The first line is the entry for CODENAME itself (the mirror debootstrap
uses). Exit status 1 with a message when there is none: the package test
takes its mirror from here and never names a host of its own.
"""
import glob
import os
import sys


def one_line(path):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if words[0] != "deb":
                continue
            words = words[1:]
            # Options: "[arch=amd64 signed-by=...]", possibly several words.
            if words and words[0].startswith("["):
                while words and not words[0].endswith("]"):
                    words = words[1:]
                words = words[1:]
            if len(words) >= 2:
                out.append((words[0], words[1], words[2:]))
    return out


def deb822(path):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for para in text.split("\n\n"):
        fields = {}
        key = None
        for line in para.splitlines():
            if line.startswith("#"):
                continue
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        comps = fields.get("components", "").split()
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                out.append((uri, suite, comps))
    return out


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    codename = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) == 3 else "/"
    apt = os.path.join(root, "etc/apt")
    entries = []
    if os.path.isfile(os.path.join(apt, "sources.list")):
        entries += one_line(os.path.join(apt, "sources.list"))
    for path in sorted(glob.glob(os.path.join(apt, "sources.list.d", "*.list"))):
        entries += one_line(path)
    for path in sorted(glob.glob(os.path.join(apt, "sources.list.d", "*.sources"))):
        entries += deb822(path)
    wanted = (codename, codename + "-updates", codename + "-security")
    seen = set()
    chosen = []
    for uri, suite, comps in entries:
        suite = suite.rstrip("/")
        if suite not in wanted or (uri, suite) in seen:
            continue
        seen.add((uri, suite))
        chosen.append((uri, suite, comps or ["main"]))
    main_entries = [e for e in chosen if e[1] == codename]
    if not main_entries:
        sys.exit("apt_sources: no 'deb' entry for %s in %s/sources.list{,.d/}" % (codename, apt))
    chosen.remove(main_entries[0])
    for uri, suite, comps in [main_entries[0]] + chosen:
        print(uri, suite, " ".join(comps))


if __name__ == "__main__":
    main()
