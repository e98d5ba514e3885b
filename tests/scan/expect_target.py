#!/usr/bin/env python3
"""Print one line for a target of a scan and exit 1 unless its stage and
flags are the expected ones (scripts/demo.sh).

usage: expect_target.py scan.jsonl SNI STAGE [FLAG...]
"""
import json
import sys

path, sni, stage, *flags = sys.argv[1:]
for line in open(path, encoding="utf-8"):
    o = json.loads(line)
    if o["sni"] == sni:
        ok = o["stage"] == stage and sorted(o["flags"]) == sorted(flags)
        got = f"{o['stage']:9} {' '.join(o['flags']) or '-'}"
        want = f"(expected {stage} {' '.join(flags) or '-'})"
        print(f"  {'ok  ' if ok else 'FAIL'} {sni:22} {got}{'' if ok else ' ' + want}")
        sys.exit(0 if ok else 1)
print(f"  FAIL {sni}: not in the scan")
sys.exit(1)
