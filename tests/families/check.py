#!/usr/bin/env python3
"""Assertions of families.recorded (tests/families/record.sh): what
`pqtls observe` must say about the clients recorded on loopback.

Usage: check.py PQTLS PCAP WORK_DIR NAME=SERVER_PORT...
Records are grouped by server port (one port per client variant). Prints
one line per record and every failed expectation; exit 1 when any failed.
Writes WORK_DIR/observe.jsonl, observe.table, observe.prom for a look.
"""
import json
import os
import subprocess
import sys

failures = []

# client: (library, family, held back from writing families.rules,
#          groups that must be offered (in this order at the front),
#          SNI expected)
EXPECT = {
    "chromium": ("boringssl", "Chromium 131+ (BoringSSL)", False,
                 ["X25519MLKEM768", "x25519"], "localhost"),
    "chromium_ip": ("boringssl", "Chromium 131+ (BoringSSL)", True,
                    ["X25519MLKEM768", "x25519"], None),
    "chromium_h1": ("boringssl", "Chromium 131+ (BoringSSL)", True,
                    ["X25519MLKEM768", "x25519"], "localhost"),
    "firefox": ("nss", "Firefox 132+ (NSS)", False,
                ["X25519MLKEM768", "x25519", "secp256r1"], "localhost"),
    "firefox_ip": ("nss", "Firefox 132+ (NSS)", True,
                   ["X25519MLKEM768", "x25519", "secp256r1"], None),
    "curl": ("openssl", "OpenSSL 3.0-3.4", False, ["x25519", "secp256r1"], "localhost"),
    # another curve list: the ffdhe groups that show 3.0 are gone, the
    # library stays
    "curl_curves": ("openssl", "OpenSSL 1.1.1-3.4", True, ["secp384r1", "x25519"], "localhost"),
    "s_client": ("openssl", "OpenSSL 3.0-3.4", True, ["x25519", "secp256r1"], None),
    "python": ("openssl", "OpenSSL 3.0-3.4", True, ["x25519", "secp256r1"], "localhost"),
    "node": ("openssl", "OpenSSL 3.5+", False, ["X25519MLKEM768", "x25519"], "localhost"),
    "node_curves": ("openssl", "OpenSSL 3.5+", True, ["secp256r1", "x25519"], None),
    "gnutls": ("gnutls", "GnuTLS 3.6.5+", False, ["secp256r1", "secp384r1"], "localhost"),
    "wget": ("gnutls", "GnuTLS 3.6.5+", True, ["secp256r1", "secp384r1"], None),
    # JSSE sends no SNI for a host name without a dot ("localhost")
    "java": ("jsse", "Java 17+ (JSSE)", False, ["x25519", "secp256r1"], None),
    "java_groups": ("jsse", "Java 17+ (JSSE)", True, ["secp384r1", "x25519"], None),
}


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def observe(pqtls, *args):
    p = subprocess.run([pqtls, "observe"] + list(args), capture_output=True, timeout=60)
    check(p.returncode == 0, f"observe {args}: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
    return p.stdout.decode()


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    pqtls, pcap, work = sys.argv[1:4]
    ports = {}
    for arg in sys.argv[4:]:
        name, port = arg.split("=", 1)
        ports[name] = int(port)
    check(set(ports) == set(EXPECT), f"clients {sorted(ports)} != {sorted(EXPECT)}")
    out = observe(pqtls, pcap)
    with open(os.path.join(work, "observe.jsonl"), "w", encoding="utf-8") as f:
        f.write(out)
    recs = [json.loads(line) for line in out.splitlines()]
    by = {name: [r for r in recs if r.get("server_port") == p] for name, p in ports.items()}
    for name, rs in by.items():
        for r in rs:
            print(f"{name:12} ja4={r['ja4']} library={r['client_library']} "
                  f"family={r['client_family']!r} basis={r['family_basis']} sni={r['sni']} "
                  f"alpn={r['alpn']} groups={r['offered_groups'][:3]} outcome={r['outcome']}")

    held = sorted(n for n, e in EXPECT.items() if e[2])
    print("held back from writing the rules:", " ".join(held))
    libs_held = set()
    for name, (lib, fam, heldback, groups, sni) in EXPECT.items():
        rs = by.get(name, [])
        if not check(rs, f"{name}: no handshake recorded"):
            continue
        for r in rs:
            check(r["client_hello"]["complete"], f"{name}: ClientHello incomplete")
            check(r["client_library"] == lib, f"{name}: library {r['client_library']}, expected {lib}")
            check(r["client_family"] == fam, f"{name}: family {r['client_family']!r}, expected {fam!r}")
            check(r["family_basis"] == "features",
                  f"{name}: basis {r['family_basis']}, expected features (no JA4 entry for it)")
            check(r["offered_groups"][:len(groups)] == groups,
                  f"{name}: offered groups {r['offered_groups']}, expected to start {groups}")
            check(r["sni"] == sni, f"{name}: SNI {r['sni']}, expected {sni}")
        if heldback and all(r["client_library"] == lib for r in rs):
            libs_held.add(lib)
    # Every library recorded here is recognised on a held-back variant.
    for lib in ("boringssl", "nss", "openssl", "gnutls", "jsse"):
        check(lib in libs_held, f"{lib}: not recognised on any held-back variant")
    # The variants really differ from what the rules were written from.
    def first(name, key):
        rs = by.get(name) or [{}]
        return rs[0].get(key)
    check(first("chromium_h1", "alpn") == ["http/1.1"], "chromium_h1 offered ALPN other than http/1.1 only")
    check(first("s_client", "alpn") == [] and first("node", "alpn") == [], "s_client/node offered ALPN")
    check(first("curl_curves", "offered_groups") != first("curl", "offered_groups"),
          "curl --curves offered the default groups")
    # Firefox and Chromium send hybrid key shares.
    for name in ("chromium", "firefox"):
        ks = first(name, "key_share_groups") or []
        check("X25519MLKEM768" in ks, f"{name}: no X25519MLKEM768 key share ({ks})")
    check(first("firefox", "key_share_groups") == ["X25519MLKEM768", "x25519", "secp256r1"],
          f"firefox key shares {first('firefox', 'key_share_groups')}")

    # A --families file: a JA4 line (the original format) wins over the
    # built-in rules with basis ja4, taking its library from the features;
    # a user feature rule goes before the built-in ones.
    fam = os.path.join(work, "families.txt")
    java_ja4 = first("java", "ja4")
    with open(fam, "w", encoding="utf-8") as f:
        f.write(f"# test entries\n{java_ja4} Example Java App\n"
                "rule gnutls GnuTLS with post_handshake_auth\n    ext-has 0031 001c\n")
    out = observe(pqtls, "--families", fam, pcap)
    recs2 = [json.loads(line) for line in out.splitlines()]
    for r in recs2:
        if r["server_port"] in (ports["java"], ports["java_groups"]):
            check((r["client_family"], r["client_library"], r["family_basis"]) ==
                  ("Example Java App", "jsse", "ja4"),
                  f"--families JA4 line: {r['client_family']} {r['client_library']} {r['family_basis']}")
        elif r["server_port"] == ports["wget"]:
            check((r["client_family"], r["family_basis"]) == ("GnuTLS with post_handshake_auth", "features"),
                  f"--families rule: wget got {r['client_family']} {r['family_basis']}")
        elif r["server_port"] == ports["gnutls"]:
            check(r["client_family"] == "GnuTLS 3.6.5+", f"--families rule matched gnutls-cli: {r['client_family']}")

    # Table and Prometheus show the library.
    table = observe(pqtls, "--format", "table", pcap)
    with open(os.path.join(work, "observe.table"), "w", encoding="utf-8") as f:
        f.write(table)
    check("Hybrid share by client library" in table and "jsse" in table and "nss" in table,
          "table has no client library section")
    prom = observe(pqtls, "--format", "prom", pcap)
    with open(os.path.join(work, "observe.prom"), "w", encoding="utf-8") as f:
        f.write(prom)
    check('client_family="Firefox 132+ (NSS)",client_library="nss"' in prom,
          "prom: no client_library label beside client_family")

    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
