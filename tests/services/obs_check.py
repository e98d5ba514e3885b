#!/usr/bin/env python3
"""What `pqtls observe` must report on the capture of a tests/services test.

usage: obs_check.py OBSERVE.jsonl PORTS EXPECT

PORTS has one line per recorded server port (lib.sh obs_capture):
  PORT=APP         every client speaks APP's dialogue before TLS: every
                   handshake on PORT has app_protocol APP from the preamble
  PORT=APP:direct  direct TLS, named by --app-port: the handshakes the
                   EXPECT lines ask for have app_protocol APP by port
  ...:closes       the server refuses a ClientHello it cannot serve by
                   closing the connection without an alert
EXPECT has one line per handshake the test asserted with openssl s_client:
  PORT 0xNNNN HRR  it completed with group 0xNNNN (HRR: 1 no
                   HelloRetryRequest, 2 one, any either way): observe must
                   report as many completed handshakes on PORT with that
                   group (and HRR), of APP
  PORT fail any    it did not complete: as many handshakes on PORT that did
                   not complete, of APP
  PORT middlebox any  a middlebox on PORT dropped it: as many handshakes of
                   APP ended reset_after_client_hello or
                   closed_after_client_hello by the server side
On every other port no handshake may end that way: a server that answers
(a ServerHello, an alert) is not a broken middlebox, whatever the client
does next, the scanner's probes included. A server marked "closes" is
allowed closed_after_client_hello from its side (on the wire its refusal
and a middlebox's drop look the same), never reset_after_client_hello.
Prints what it found per port; exit 1 when an expectation fails.
"""
import collections
import json
import sys

MIDDLEBOX = ("reset_after_client_hello", "closed_after_client_hello")


def main():
    out, ports_file, expect_file = sys.argv[1:4]
    recs = [json.loads(line) for line in open(out, encoding="utf-8") if line.strip()]
    ports = {}
    for line in open(ports_file, encoding="utf-8"):
        port, spec = line.strip().split("=", 1)
        app, *flags = spec.split(":")
        ports[int(port)] = (app, "direct" if "direct" in flags else "dialogue", "closes" in flags)
    want = collections.Counter()
    for line in open(expect_file, encoding="utf-8"):
        port, group, hrr = line.split()
        want[(int(port), group, hrr)] += 1
    failures = []
    by_port = collections.defaultdict(list)
    for r in recs:
        by_port[r["server_port"]].append(r)
    for port, (app, kind, closes) in sorted(ports.items()):
        rs = by_port.get(port, [])
        seen = collections.Counter(
            (r["outcome"], r["group"] or "-", r["app_protocol"], r["app_protocol_source"] or "-")
            for r in rs)
        print(f"observe: port {port} ({app}, {kind}): {len(rs)} handshakes: " +
              ", ".join(f"{n}x {o}/{g}/{a} by {s}" for (o, g, a, s), n in sorted(seen.items())))
        if kind == "dialogue":
            bad = [r for r in rs if r["app_protocol"] != app or
                   r["app_protocol_source"] != "preamble" or "preamble" not in r["anomalies"]]
            if bad:
                failures.append(f"port {port}: {len(bad)} of {len(rs)} handshakes not {app} from "
                                f"the preamble, e.g. {bad[0]['app_protocol']} by "
                                f"{bad[0]['app_protocol_source']}")
        source = "preamble" if kind == "dialogue" else "port"
        mine = [r for r in rs if r["app_protocol"] == app and r["app_protocol_source"] == source]
        middlebox = sum(n for (p, g, _), n in want.items() if p == port and g == "middlebox")
        for (p, group, hrr), n in sorted(want.items()):
            if p != port:
                continue
            if group == "fail":
                got = [r for r in mine if r["outcome"] != "completed"]
                what = f"{n} failed handshake(s) of {app}"
            elif group == "middlebox":
                got = [r for r in mine if r["outcome"] in MIDDLEBOX and r["closed_by"] == "server"]
                what = f"{n} handshake(s) of {app} dropped after the ClientHello"
            else:
                got = [r for r in mine if r["outcome"] == "completed" and
                       r["group_code"] == int(group, 16) and
                       (hrr == "any" or r["hrr"] == (hrr == "2"))]
                what = (f"{n} completed handshake(s) of {app} on group {group}" +
                        ("" if hrr == "any" else " with HRR" if hrr == "2" else " without HRR"))
            if len(got) < n:
                failures.append(f"port {port}: {what} by {source}, observe has {len(got)}")
            else:
                print(f"ok: port {port}: {what} by {source} (observe: {len(got)})")
        if middlebox == 0:
            mb = [r for r in rs if r["outcome"] in MIDDLEBOX and
                  not (closes and r["outcome"] == "closed_after_client_hello" and
                       r["closed_by"] == "server")]
            if mb:
                failures.append(f"port {port}: {len(mb)} handshake(s) reported as {mb[0]['outcome']} "
                                f"(closed_by {mb[0]['closed_by']}), though the server answers")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
