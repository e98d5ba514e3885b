#!/usr/bin/env python3
"""Hold pqtls scan's verdicts against real clients (issue 16).

Reads the results of rules_clients.sh (one JSON object per mode and client:
Debian's openssl s_client with pqtls, Node.js 24, pqtls scan) and checks:
  - "verified" means a real client connects: a probe verified against a
    mode that either client refused is a failure;
  - a mode both clients refuse leaves every probe unverified, at stage none;
  - each rule-breaking mode gives every probe the named error of the rule it
    breaks, with outcome malformed;
  - the two correct modes (ok, hrr-ok) connect both clients with
    X25519MLKEM768 and verify every probe.
Two modes break a rule RFC 8446 states that OpenSSL's clients do not
enforce (an unknown extension in the ServerHello, legacy_version 0x0304):
both clients connect and the scanner calls them malformed, as browsers
(BoringSSL, NSS refuse unsolicited extensions) and the RFC would. The check
pins that, so a change on either side is seen.

usage: rules_check.py RESULTS.jsonl
"""
import json
import sys

# mode -> the error every probe must report (None: none, all verified).
EXPECTED = {
    "ok": None,
    "hrr-ok": None,
    "session-id": "session_id_mismatch",
    "compression": "compression",
    "sh-alpn": "extension_not_allowed",
    "sh-unknown": "unsolicited_extension",
    "sh-duplicate": "duplicate_extension",
    "sh-legacy-version": "legacy_version",
    "version-not-offered": "version_not_offered",
    "cipher-not-offered": "cipher_not_offered",
    "hrr-nochange": "hrr_no_change",
    "hrr-huge-cookie": "hrr_cookie_too_large",
    "downgrade12": "downgrade",
    "ee-unsolicited": "unsolicited_extension",
    "ee-illegal": "extension_not_allowed",
    "ee-duplicate": "duplicate_extension",
    "ee-alpn-not-offered": "alpn_not_offered",
}
# Modes whose rule OpenSSL 3.0 and 3.5 clients do not enforce.
CLIENTS_LENIENT = {"sh-unknown", "sh-legacy-version"}


def main():
    results = {}
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            results.setdefault(r["mode"], {})[r["client"]] = r
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    for mode, want in EXPECTED.items():
        got = results.get(mode)
        if got is None or not {"s_client", "node", "scan"} <= set(got):
            failures.append(f"{mode}: results missing")
            continue
        scan = got["scan"].get("scan")
        if scan is None:
            failures.append(f"{mode}: pqtls scan wrote no result")
            continue
        probes = scan["probes"]
        clients_ok = {c: got[c].get("connected") is True and got[c].get("group") == "X25519MLKEM768"
                      for c in ("s_client", "node")}
        verified = [p["name"] for p in probes if p["verified"]]
        # The invariant: verified means a real client connects.
        check(not verified or all(clients_ok.values()),
              f"{mode}: verified {verified} although a client refused: {clients_ok}")
        if want is None:
            check(all(clients_ok.values()), f"{mode}: a correct server, clients {clients_ok}")
            check(len(probes) == 3 and len(verified) == 3 and scan["stage"] == "preferred",
                  f"{mode}: stage {scan['stage']}, verified {verified}")
            continue
        if mode in CLIENTS_LENIENT:
            check(all(clients_ok.values()),
                  f"{mode}: OpenSSL clients were lenient here and now are not: {clients_ok}; "
                  "update CLIENTS_LENIENT and docs/scan.md")
        else:
            check(not any(got[c].get("connected") for c in ("s_client", "node")),
                  f"{mode}: a client connected to a server that breaks its rule")
        check(scan["stage"] == "none" and scan["flags"] == [],
              f"{mode}: stage {scan['stage']} flags {scan['flags']}, want none and no flag")
        for p in probes:
            check(p["outcome"] == "malformed" and p["error"] == want and not p["verified"],
                  f"{mode}: probe {p['name']} {p['outcome']}/{p['error']}, want malformed/{want}")
    for f in failures:
        print("FAIL " + f)
    print(f"rules_check: {len(EXPECTED)} modes, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
