#!/usr/bin/env python3
"""Assertions of observe.scan_probes (scan_probes.sh): what `pqtls observe`
must say about `pqtls scan`'s own probes, recorded on loopback.

usage: scan_probes_check.py drop-alerts IN.pcap OUT.pcap TARGETS.json
       scan_probes_check.py check WORK

drop-alerts writes IN.pcap without the frames in which a target server
sends a TLS alert record: the capture a busy sensor would have had if it
had lost them.

check reads WORK/targets.json (name -> port, kind, app), observe.jsonl,
observe.table, observe.prom and lost.jsonl, prints one line per target
and every failed expectation; exit 1 when one failed.
"""
import collections
import json
import re
import struct
import sys

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


# ---------------------------------------------------------------- drop-alerts
def tcp_of(frame):
    """(sport, dport, payload) of an Ethernet IPv4/IPv6 TCP frame, or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if etype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:total]
    elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 6:
        plen = struct.unpack("!H", ip[4:6])[0]
        tcp = ip[40:40 + plen]
    else:
        return None
    if len(tcp) < 20:
        return None
    sport, dport = struct.unpack("!HH", tcp[:4])
    return sport, dport, tcp[(tcp[12] >> 4) * 4:]


def drop_alerts(src, dst, targets_path):
    ports = {t["port"] for t in json.load(open(targets_path)).values()}
    data = open(src, "rb").read()
    magic = data[:4]
    if magic not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        raise SystemExit(f"{src}: not a little-endian pcap")
    if struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit(f"{src}: link type is not Ethernet")
    out, pos, dropped = [data[:24]], 24, 0
    while pos + 16 <= len(data):
        incl = struct.unpack("<I", data[pos + 8:pos + 12])[0]
        rec = data[pos:pos + 16 + incl]
        pos += 16 + incl
        t = tcp_of(rec[16:])
        # An alert record from a target server: 21, version 3.x, length 2.
        if t and t[0] in ports and len(t[2]) >= 7 and t[2][0] == 21 and t[2][1] == 3 \
                and t[2][3:5] == b"\x00\x02":
            dropped += 1
            continue
        out.append(rec)
    open(dst, "wb").write(b"".join(out))
    print(f"drop-alerts: {dropped} frames with a server's alert removed")
    return 0 if dropped else 1


# ---------------------------------------------------------------- check
MIDDLEBOX = ("reset_after_client_hello", "closed_after_client_hello")
TLS_SERVERS = ("nginx-required", "nginx-supported", "openssl-classic", "tls12", "tls12-v6",
               "node24", "legacy-kyber", "p256", "wronggroup")


def answered(r):
    return r["version"] is not None or r["hrr"]


def run_check(work):
    targets = json.load(open(f"{work}/targets.json"))
    recs = [json.loads(line) for line in open(f"{work}/observe.jsonl")]
    lost = [json.loads(line) for line in open(f"{work}/lost.jsonl")]
    by_port = collections.defaultdict(list)
    for r in recs:
        by_port[r["server_port"]].append(r)
    for name, t in sorted(targets.items()):
        rs = by_port.get(t["port"], [])
        seen = collections.Counter(
            f"{r['outcome']}" + (f"/{r['closed_by']}" if r["closed_by"] else "") +
            (f"/{r['alert']['name']}" if r["alert"] else "") + ("/hrr" if r["hrr"] else "") +
            (f"/{r['group']}" if r["group"] else "") + f" {r['app_protocol']}" +
            ("/not_tls" if "server_not_tls" in r["anomalies"] else "") for r in rs)
        print(f"{name:16} {t['port']:5}: " + ", ".join(f"{n}x {k}" for k, n in sorted(seen.items())))

        if name == "closed-port":
            continue  # a free port when the estate started; on a shared machine, maybe no more
        check(rs, f"{name}: no handshake recorded")
        # The one middlebox: it drops split ClientHellos without a word.
        for r in rs:
            if r["outcome"] in MIDDLEBOX:
                check(name == "middlebox" and r["outcome"] == "closed_after_client_hello" and
                      r["closed_by"] == "server",
                      f"{name}: client port {r['client_port']} reported as {r['outcome']} "
                      f"(closed_by {r['closed_by']})")
        if name == "middlebox":
            mb = [r for r in rs if r["outcome"] == "closed_after_client_hello"]
            # Its first segment passed the relay, the second never came; or,
            # when both were queued before the relay read (a loaded machine),
            # the whole hello came in more than one segment and was dropped.
            check(mb and all(not r["client_hello"]["complete"] or r["client_hello"]["segments"] > 1
                             for r in mb),
                  f"{name}: a ClientHello dropped that was not split: {mb}")
        if name in TLS_SERVERS or t["kind"] == "good" or name == "middlebox":
            # Refused (an alert from the server), or answered and then reset or
            # closed by the scanner once it had what it came for.
            for r in rs:
                if r["outcome"] == "alert":
                    check(r["alert"]["from"] == "server", f"{name}: alert from {r['alert']['from']}")
                elif r["outcome"] in ("reset", "closed"):
                    check(answered(r), f"{name}: {r['outcome']} without a ServerHello or HRR")
                else:
                    check(r["outcome"] == "completed" or
                          (name == "middlebox" and r["outcome"] == "closed_after_client_hello"),
                          f"{name}: outcome {r['outcome']}")
            if name not in ("middlebox", "wronggroup"):
                check(any(r["outcome"] == "alert" for r in rs), f"{name}: no refused probe (alert)")
            check(any(r["outcome"] in ("reset", "closed") and r["version"] for r in rs),
                  f"{name}: no probe answered by a ServerHello")
        if name == "p256":
            check(any(r["hrr"] and r["version"] is None and r["outcome"] == "reset" for r in rs),
                  f"{name}: no probe reset after a HelloRetryRequest")
        if name == "garbage":
            check(all(r["outcome"] in ("reset", "closed") and "server_not_tls" in r["anomalies"]
                      for r in rs), f"{name}: not every probe reset/closed with server_not_tls")
        if name in ("hugelen", "endless"):
            check(all(r["outcome"] in ("reset", "closed") for r in rs), f"{name}: outcomes")
        if name == "endless":
            check(not any("server_not_tls" in r["anomalies"] for r in rs), f"{name}: its records are TLS")
        if name == "slow":
            check(all(r["outcome"] == "reset" and r["closed_by"] == "client" for r in rs),
                  f"{name}: not every probe reset by the client")
        if name == "midclose":
            check(all(r["outcome"] == "closed" and r["closed_by"] == "server" for r in rs),
                  f"{name}: not every probe closed by the server after its answer")
        # The application protocol.
        if t["kind"] == "good":
            check(all(r["app_protocol"] == t["app"] and r["app_protocol_source"] == "preamble"
                      for r in rs), f"{name}: not every handshake {t['app']} from the preamble")
        elif t["kind"] == "banner":
            check(all(r["outcome"] in ("reset", "closed") and "server_not_tls" in r["anomalies"] and
                      r["app_protocol"] == t["app"] and
                      r["app_protocol_source"] in ("preamble", "answer") for r in rs),
                  f"{name}: a direct ClientHello met by a {t['app']} banner")
        else:
            check(all(r["app_protocol"] == "https" and r["app_protocol_source"] == "alpn"
                      for r in rs if r["client_hello"]["complete"] and t["kind"] == "direct" and
                      name not in ("closed-port",)),
                  f"{name}: direct probes (ALPN h2) not https by alpn")

    # Per service: one table row and one label set per (server, port, SNI).
    services = {(r["server"], r["server_port"], r["sni"] or "") for r in recs}
    table = open(f"{work}/observe.table").read()
    sec = table.split("Hybrid share by service", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    rows = [line for line in sec if not line.startswith("  (")]
    more = re.search(r"\((\d+) more not shown\)", "\n".join(sec))
    shown = len(rows) + (int(more.group(1)) if more else 0)
    check(shown == len(services), f"table: {shown} service rows, {len(services)} services")
    for line in rows:
        m = re.match(r"  (\S+):(\d+)(?: (\S+))? +(\S+) +\d+ ", line)
        if not check(m, f"table row: {line!r}"):
            continue
        port = int(m.group(2))
        apps = {r["app_protocol"] for r in recs if r["server_port"] == port and
                (r["sni"] or "") == (m.group(3) or "")}
        check(set(m.group(4).split("+")) == apps, f"table row {line.strip()!r}: protocols {apps}")
    prom = open(f"{work}/observe.prom").read()
    series = re.findall(r'^pqtls_observe_service_handshakes_total\{server="([^"]*)",port="(\d*)",'
                        r'sni="([^"]*)",app_protocol="([a-z0-9]+)",group="[^"]*",outcome="[a-z_]+"\} (\d+)$', prom, re.M)
    check(sum(int(s[4]) for s in series) == len(recs), "metrics: service series sum to the records")
    check({(s[0], int(s[1]), s[2]) for s in series} == services, "metrics: one label set per service")

    # A capture that lost the alerts: those connections are gaps, never
    # resets after the ClientHello.
    ports = {t["port"] for t in targets.values()}
    refused = {(r["client_port"], r["server_port"]) for r in recs
               if r["server_port"] in ports and r["outcome"] == "alert" and r["alert"]["from"] == "server"}
    lost_by = {(r["client_port"], r["server_port"]): r for r in lost if r["server_port"] in ports}
    gaps = [p for p in refused if lost_by.get(p, {}).get("outcome") == "gap" and
            "gap" in lost_by[p]["anomalies"]]
    print(f"lost alerts: {len(gaps)} of {len(refused)} refused probes are gap without their alert")
    check(refused and len(gaps) == len(refused), "lost alerts: not every refused probe is a gap")
    mb = [r for r in lost if r["outcome"] == "reset_after_client_hello"]
    check(not mb, f"lost alerts: {len(mb)} reset_after_client_hello")

    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"ok: {len(recs)} probe connections as they happened")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "drop-alerts":
        sys.exit(drop_alerts(*sys.argv[2:5]))
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(run_check(sys.argv[2]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
