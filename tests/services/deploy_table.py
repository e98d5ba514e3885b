#!/usr/bin/env python3
"""Check docs/deploy.md's table of services against the tests (services.deploy_table).

usage: deploy_table.py DEPLOY_MD RESULTS_DIR CTEST BUILD_DIR

DEPLOY_MD holds one table between the lines
    <!-- services-table: ... -->   and   <!-- end services-table -->
with the columns: service | Debian 12 version | hybrid with pqtls? | how | tested by.
The tests of the build and their command lines come from CTEST
--show-only=json-v1 run in BUILD_DIR. RESULTS_DIR holds NAME.result files that the tests of
tests/services write when all their assertions held: test=, version= (of
the server that ran) and hybrid= (yes when an assertion expected
X25519MLKEM768 and got it).

Checked, each failure named:
- every name in a "tested by" cell (in backquotes) is a test of this build;
- for a test that records a result (tests/services, but not those that end
  with `svc_done -`): its result exists, its hybrid equals the row's yes/no,
  and the row's version is a prefix of the version that ran;
- for any other test (tests/deploy, services.deploy_docs): its script
  asserts X25519MLKEM768 (or 0x11ec) when the row says yes (a static check:
  those tests record no result);
- every services.* test that records a result appears in some row.
"""
import json
import re
import subprocess
import sys


def fail(errors, msg):
    errors.append(msg)
    print(f"FAIL: {msg}")


def read_table(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"<!-- services-table:[^\n]*-->\n(.*?)<!-- end services-table -->", text, re.S)
    if not m:
        return None
    rows = []
    for line in m.group(1).splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(cells)
    return rows


def read_results(path):
    out = {}
    try:
        for line in open(path, encoding="utf-8"):
            k, _, v = line.strip().partition("=")
            out[k] = v
    except OSError:
        return None
    return out


def version_prefix(short, full):
    """'3.7' is a prefix of '3.7.11', '15' of '15.18'; '3.7' is not of '3.70'."""
    a, b = short.split("."), full.split(".")
    return len(a) <= len(b) and a == b[: len(a)]


def main():
    md, results_dir, ctest, build_dir = sys.argv[1:]
    errors = []
    tests = {}
    listing = subprocess.run([ctest, "--show-only=json-v1"], cwd=build_dir, check=True,
                             capture_output=True, text=True).stdout
    for t in json.loads(listing).get("tests", []):
        tests[t["name"]] = t.get("command", [])
    rows = read_table(md)
    if rows is None:
        print(f"FAIL: {md}: no <!-- services-table --> ... <!-- end services-table --> block")
        return 1
    header = [c.lower() for c in rows[0]]
    want = ["service", "debian 12 version", "hybrid with pqtls?", "how", "tested by"]
    if header != want:
        print(f"FAIL: table header is {rows[0]}, expected {want}")
        return 1
    referenced = set()
    for cells in rows[2:]:
        if len(cells) != len(want):
            fail(errors, f"row {cells}: {len(cells)} cells, expected {len(want)}")
            continue
        service, version, hybrid, _how, tested_by = cells
        m = re.match(r"(yes|no)\b", hybrid.lower())
        yes = m.group(1) if m else ""
        if not yes:
            fail(errors, f"{service}: hybrid cell '{hybrid}' does not start with yes or no")
            continue
        names = re.findall(r"`([^`]+)`", tested_by)
        if not names:
            fail(errors, f"{service}: no test named in '{tested_by}'")
        for name in names:
            referenced.add(name)
            if name not in tests:
                fail(errors, f"{service}: '{name}' is not a test of this build")
                continue
            scripts = [a for a in tests[name] if a.endswith((".sh", ".py", ".mjs"))]
            text = "".join(open(s, encoding="utf-8").read() for s in scripts)
            records = name.startswith("services.") and "svc_done -" not in text
            if records:
                r = read_results(f"{results_dir}/{name[len('services.'):]}.result")
                if r is None:
                    fail(errors, f"{service}: {name} recorded no result (did it pass?)")
                    continue
                if r.get("hybrid") != yes:
                    fail(errors, f"{service}: the table says {yes}, {name} found hybrid={r.get('hybrid')}")
                if not version_prefix(version, r.get("version", "")):
                    fail(errors, f"{service}: the table says version {version}, {name} ran {r.get('version')}")
                print(f"ok: {service} {version}: {yes} (= {name}: {r.get('version')}, hybrid={r.get('hybrid')})")
            else:
                asserts = "0x11ec" in text or "X25519MLKEM768" in text
                if yes == "yes" and not asserts:
                    fail(errors, f"{service}: the table says yes, {name} ({scripts}) never asserts X25519MLKEM768")
                else:
                    print(f"ok: {service} {version}: {yes} (= {name}, static: {' '.join(scripts)})")
    for name in sorted(tests):
        if name.startswith("services.") and name != "services.deploy_table" and name not in referenced:
            fail(errors, f"{name} is in no row of the table")
    print(f"deploy_table: {len(rows) - 2} rows, {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
