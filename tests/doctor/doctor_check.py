#!/usr/bin/env python3
"""Checks `pqtls doctor --format jsonl` against what the test built.

Usage: doctor_check.py DOCTOR.jsonl EXPECT
       doctor_check.py --cnf DOCTOR.jsonl EXPECT

EXPECT has one line per socket: PORT|VERDICT|GROUP|LIBRARY|PQTLS|FIX
(GROUP 0xNNNN or "-", PQTLS yes/no, FIX a text the fix must contain or
"-"). Every expected port must be reported exactly once with exactly these
values; a port doctor reports that the test did not expect is an error
too (--pid limited doctor to the test's servers).

With --cnf, EXPECT has PORT|LOADS|NAME lines: the configuration of the
openssl s_server on PORT is NAME, and OpenSSL itself loaded pqtls from it
(pqtls.so mapped) or not, as LOADS (yes/no) says; doctor's reading of the
file (config_loads_pqtls) must agree with OpenSSL.
"""
import json
import sys


def load(path):
    records = {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            records[rec["port"]] = rec
    return records


def check_cnf(out, expect):
    records = load(out)
    problems = []
    with open(expect) as f:
        for line in f:
            if not line.strip():
                continue
            port, loads, name = line.rstrip("\n").split("|")
            rec = records.get(int(port))
            if rec is None:
                problems.append("%s: port %s not reported" % (name, port))
                continue
            proc = rec["processes"][0]
            mapped = "yes" if proc.get("pqtls_so") else "no"
            read = "yes" if proc.get("config_loads_pqtls") else "no"
            if mapped != loads or read != loads:
                problems.append(
                    "%s: OpenSSL loaded pqtls: %s (expected %s), doctor read the file as loading it: %s; problem: %s"
                    % (name, mapped, loads, read, proc.get("config_problem"))
                )
            else:
                print("ok: %s: OpenSSL and doctor agree: pqtls %s%s" % (
                    name, "loaded" if loads == "yes" else "not loaded",
                    " (%s)" % proc["config_problem"] if proc.get("config_problem") else ""))
    for p in problems:
        print("FAIL: " + p, file=sys.stderr)
    return 1 if problems else 0


def main():
    if sys.argv[1] == "--cnf":
        return check_cnf(sys.argv[2], sys.argv[3])
    records = {}
    problems = []
    with open(sys.argv[1]) as f:
        for n, line in enumerate(f, 1):
            rec = json.loads(line)
            if rec.get("schema") != "pqtls-doctor/1":
                problems.append("line %d: schema %r" % (n, rec.get("schema")))
            port = rec["port"]
            if port in records:
                problems.append("port %d reported twice" % port)
            records[port] = rec
    expected = []
    with open(sys.argv[2]) as f:
        for line in f:
            if line.strip():
                expected.append(line.rstrip("\n").split("|"))
    seen = set()
    for port, verdict, group, library, pqtls, fix in expected:
        port = int(port)
        seen.add(port)
        rec = records.get(port)
        if rec is None:
            problems.append("port %d: not reported" % port)
            continue
        got_group = "-"
        probe = rec.get("probe") or {}
        if probe.get("group_id"):
            got_group = "0x%04x" % probe["group_id"]
        got = {
            "verdict": rec.get("verdict"),
            "group": got_group,
            "library": rec.get("tls_library"),
            "pqtls": "yes" if rec.get("pqtls_mapped") else "no",
        }
        want = {"verdict": verdict, "group": group, "library": library, "pqtls": pqtls}
        bad = [k for k in want if got[k] != want[k]]
        if fix != "-" and fix not in (rec.get("fix") or ""):
            bad.append("fix")
        label = "port %d (%s, pid %s)" % (port, rec.get("process"), rec.get("pid"))
        if bad:
            problems.append(
                "%s: %s; want %s; why: %s; fix: %s"
                % (label, got, dict(want, fix=fix), rec.get("why"), rec.get("fix"))
            )
        else:
            print(
                "ok: %s: %s, group %s, %s, pqtls.so %s%s"
                % (label, verdict, group, library, pqtls, "" if fix == "-" else ", fix: " + fix)
            )
            print("    why: %s" % rec.get("why"))
    for port in sorted(set(records) - seen):
        problems.append("port %d: reported but not started by the test" % port)
    for p in problems:
        print("FAIL: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
