#!/usr/bin/env python3
"""Check the one target of a `pqtls scan` JSON Lines report (tests/services).

usage: scan_check.py SCAN.jsonl STAGE GROUP [FLAG...]

STAGE and the set of FLAGs must be the target's (docs/scan.md). Unless
GROUP is "-", the x25519mlkem768 probe must have completed with GROUP and
have been verified (key exchange finished, EncryptedExtensions decrypted).
Prints one line per check; exit 1 when one fails.
"""
import json
import sys


def main():
    path, stage, group, *flags = sys.argv[1:]
    records = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    if len(records) != 1:
        print(f"FAIL: {path}: {len(records)} records, expected 1")
        return 1
    o = records[0]
    probes = {p["name"]: p for p in o.get("probes", [])}
    seen = ", ".join(f"{p['name']}={p['outcome']}:{p['group'] or '-'}" for p in o.get("probes", []))
    ok = True
    got_flags = sorted(o.get("flags", []))
    if o.get("stage") != stage or got_flags != sorted(flags):
        print(f"FAIL: {o['target']}: stage {o.get('stage')} flags {got_flags or '-'}, "
              f"expected {stage} {sorted(flags) or '-'}")
        ok = False
    if group != "-":
        p = probes.get("x25519mlkem768")
        if p is None or p.get("group") != group or not p.get("verified"):
            print(f"FAIL: {o['target']}: probe x25519mlkem768 is {p}, expected {group}, verified")
            ok = False
    print(f"{'ok' if ok else 'FAIL'}: pqtls scan {o['target']}: stage {o.get('stage')}, "
          f"flags {' '.join(got_flags) or '-'}; probes {seen}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
