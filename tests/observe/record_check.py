#!/usr/bin/env python3
"""Assertions of observe.recorded: what `pqtls observe` must report for the
handshakes tests/observe/record.sh made real clients perform on loopback.

Usage: record_check.py OBSERVE.jsonl NAME=SERVER_PORT...
Records are grouped by server port (each scenario has its own port). Prints
one line per record (scenario, JA4, family, group, HRR, outcome) and every
failed expectation; exit 1 when any failed.
"""
import json
import sys

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    recs = []
    with open(sys.argv[1], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                recs.append(json.loads(line))
            except ValueError as e:
                failures.append(f"line {n} is not JSON: {e}")
    ports = {}
    for arg in sys.argv[2:]:
        name, port = arg.split("=", 1)
        ports[name] = int(port)
    by = {name: [r for r in recs if r.get("server_port") == p] for name, p in ports.items()}
    for name, rs in by.items():
        for r in rs:
            print(f"{name:12} ja4={r['ja4']} family={r['client_family']} group={r['group']} "
                  f"hrr={r['hrr']}/{r['hrr_group']} outcome={r['outcome']} "
                  f"ch_segments={r['client_hello']['segments']} alert={r['alert']}")
    for r in recs:
        check(r.get("schema") == "pqtls.observe/1", f"schema of {r}")
        check(r["client"] == "127.0.0.1" and r["server"] == "127.0.0.1",
              f"addresses {r['client']} -> {r['server']}")

    def one(name):
        rs = by[name]
        check(len(rs) == 1, f"{name}: {len(rs)} handshakes, expected exactly 1")
        return rs[0] if rs else None

    def common(name, r, family, group, segments=1):
        check(r["client_family"] == family, f"{name}: family {r['client_family']}, expected {family}")
        lib = "boringssl" if "BoringSSL" in family else "openssl"
        check((r["client_library"], r["family_basis"]) == (lib, "features"),
              f"{name}: library {r['client_library']} by {r['family_basis']}, expected {lib} by features")
        # Direct TLS on a test port: curl and Chromium offer ALPN h2 and
        # http/1.1, so https by ALPN (docs/observe.md, Application protocol).
        if name != "node":
            check((r["app_protocol"], r["app_protocol_source"]) == ("https", "alpn"),
                  f"{name}: app_protocol {r['app_protocol']} by {r['app_protocol_source']}")
        check(r["group"] == group, f"{name}: group {r['group']}, expected {group}")
        check(r["client_hello"]["complete"], f"{name}: ClientHello incomplete")
        check(r["client_hello"]["segments"] == segments,
              f"{name}: ClientHello in {r['client_hello']['segments']} segments, expected {segments}")
        check(r["client_hello"]["records"] == 1, f"{name}: ClientHello in {r['client_hello']['records']} records")
        check(r["ja4"] is not None and r["ja4"].startswith("t13d"), f"{name}: JA4 {r['ja4']}")

    # Chromium may open more than one connection; every one is Chromium, and
    # the page load negotiated the hybrid with its first key share.
    ch = by["chromium"]
    check(len(ch) >= 1, "chromium: no handshake")
    for r in ch:
        check(r["client_family"] == "Chromium 131+ (BoringSSL)", f"chromium: family {r['client_family']}")
        check(r["sni"] == "localhost", f"chromium: sni {r['sni']}")
    done = [r for r in ch if r["outcome"] == "completed"]
    if check(done, "chromium: no completed handshake"):
        r = done[0]
        common("chromium", r, "Chromium 131+ (BoringSSL)", "X25519MLKEM768")
        check(r["group_pq"] is True, "chromium: group_pq false")
        check(r["hrr"] is False, "chromium: unexpected HRR")
        check(r["key_share_groups"][:1] == ["X25519MLKEM768"],
              f"chromium: key shares {r['key_share_groups']}")
        check("X25519MLKEM768" in r["offered_groups"], "chromium: X25519MLKEM768 not offered")

    r = one("curl")
    if r:
        common("curl", r, "OpenSSL 3.0-3.4", "x25519")
        check(r["outcome"] == "completed", f"curl: outcome {r['outcome']}")
        check(r["hrr"] is False and r["group_pq"] is False, "curl: hrr/group_pq")

    r = one("node")
    if r:
        common("node", r, "OpenSSL 3.5+", "X25519MLKEM768")
        check(r["outcome"] == "completed", f"node: outcome {r['outcome']}")
        check(r["hrr"] is False, "node: unexpected HRR")
        check("X25519MLKEM768" in r["key_share_groups"], f"node: key shares {r['key_share_groups']}")
        # No ALPN, no preamble, a port of no protocol: unknown.
        check((r["app_protocol"], r["app_protocol_source"]) == ("unknown", None),
              f"node: app_protocol {r['app_protocol']} by {r['app_protocol_source']}")

    r = one("split")
    if r:
        common("split", r, "OpenSSL 3.0-3.4", "x25519", segments=2)
        check(r["outcome"] == "completed", f"split: outcome {r['outcome']}")
    r = one("split_front")
    if r:
        common("split_front", r, "OpenSSL 3.0-3.4", "x25519", segments=1)

    r = one("hrr")
    if r:
        # --curves X25519:X25519MLKEM768: no ffdhe groups, so the version
        # range is the wide one
        common("hrr", r, "OpenSSL 1.1.1-3.4", "X25519MLKEM768")
        check(r["hrr"] is True, "hrr: no HRR reported")
        check(r["hrr_group"] == "X25519MLKEM768", f"hrr: HRR asked for {r['hrr_group']}")
        check(r["key_share_groups"] == ["x25519"], f"hrr: first key shares {r['key_share_groups']}")
        check("X25519MLKEM768" in r["offered_groups"], "hrr: X25519MLKEM768 not offered")
        check(r["retry_key_share_groups"] == ["X25519MLKEM768"],
              f"hrr: retry key shares {r['retry_key_share_groups']}")
        check(r["outcome"] == "completed", f"hrr: outcome {r['outcome']}")
        check(r["version"] == "TLSv1.3", f"hrr: version {r['version']}")

    r = one("alert")
    if r:
        check(r["outcome"] == "alert", f"alert: outcome {r['outcome']}")
        a = r["alert"] or {}
        check(a == {"level": "fatal", "code": 47, "name": "illegal_parameter", "from": "server"},
              f"alert: {a}")
        check(r["group"] is None, f"alert: group {r['group']}")
        check(r["key_share_groups"] == ["X25519MLKEM768"], f"alert: key shares {r['key_share_groups']}")
        ks = r["key_shares"][0]["size"] if r["key_shares"] else None
        check(ks == 1216 - 1, f"alert: share size {ks}, expected 1215 (one byte short)")

    r = one("reset")
    if r:
        common("reset", r, "OpenSSL 3.0-3.4", None)
        # The server reset on the ClientHello without a byte of answer: the
        # middlebox signature, which observe must still name.
        check(r["outcome"] == "reset_after_client_hello", f"reset: outcome {r['outcome']}")
        check(r["closed_by"] == "server", f"reset: closed_by {r['closed_by']}")

    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"ok: {len(recs)} handshakes as recorded")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
