#!/usr/bin/python3
"""Compare two CycloneDX BOMs of pqtls in everything but serialNumber and
metadata.timestamp (when each document was written).

usage: compare_cbom.py [--other-scan] A.json B.json

The metadata property pqtls:scan.started is the scan's start: `pqtls scan`
takes it once and gives the same value to the store and the report, so
the two must be equal.
--other-scan compares BOMs of two scans of the same targets: their start
and each target's pqtls:ms (first connect to last verdict) are ignored.
Everything else must be equal: components in order, every property, the
dependencies. Prints the first differences and exits 1 when they differ.
"""
import difflib
import json
import sys


def started(doc):
    for p in doc["metadata"].get("properties", []):
        if p["name"] == "pqtls:scan.started":
            return p
    sys.exit("compare_cbom: no pqtls:scan.started in the metadata")


def main(argv):
    other_scan = "--other-scan" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 2:
        sys.exit(__doc__)
    a, b = (json.load(open(p)) for p in paths)
    for d in (a, b):
        if not d.get("serialNumber", "").startswith("urn:uuid:"):
            sys.exit("compare_cbom: no serialNumber")
        d.pop("serialNumber")
        d["metadata"].pop("timestamp")
    sa, sb = started(a), started(b)
    if other_scan:
        for d in (a, b):
            for c in d["components"]:
                c["properties"] = [p for p in c.get("properties", []) if p["name"] != "pqtls:ms"]
    elif sa["value"] != sb["value"]:
        print(f"compare_cbom: pqtls:scan.started {sa['value']} vs {sb['value']}")
        return 1
    sb["value"] = sa["value"]
    if a == b:
        n = sum(1 for c in a["components"] if c["cryptoProperties"]["assetType"] == "protocol")
        print(f"compare_cbom: equal ({len(a['components'])} components, {n} endpoints)")
        return 0
    la = json.dumps(a, indent=1, sort_keys=False).splitlines()
    lb = json.dumps(b, indent=1, sort_keys=False).splitlines()
    diff = list(difflib.unified_diff(la, lb, paths[0], paths[1], lineterm="", n=2))
    print("\n".join(diff[:80]))
    print("compare_cbom: the BOMs differ")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
