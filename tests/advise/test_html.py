#!/usr/bin/env python3
"""pqtls advise --format html, rendered by headless Chromium, against the
JSON Lines of the same run.

Usage: test_html.py PQTLS OBSERVE_GEN SHARED_DIR SCRATCH

The page is made from an observe_gen capture, two shared captures and a
capture this test writes itself whose ClientHellos carry a hostile SNI
(markup, quotes, an ampersand) and, through --families, a hostile family
name. Chromium loads the page from a file with no network and dumps its
DOM; every number of every service section (the section's attributes, the
table cells, the refused families, the chart's bars, the paths) and the
verdict are compared with the JSON object of that service. The page must
hold no script and load nothing: no src, no href but in-page anchors, and
the hostile strings must arrive as text, never as elements.
"""
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys

PQTLS, GEN, SHARED, SCRATCH = sys.argv[1:5]
EVIL_SNI = 'x<img src=x onerror=alert(1)>"\'&amp;.example'
EVIL_FAMILY = '<script>alert(2)</script> & "Evil"'
failures = []


def fail(msg):
    failures.append(msg)
    if len(failures) <= 40:
        print("FAIL", msg, file=sys.stderr)


def client_hello(sni, groups, shares):
    """A TLS 1.3 ClientHello record (handshake body built by hand)."""
    def ext(t, body):
        return struct.pack(">HH", t, len(body)) + body
    name = sni.encode()
    exts = ext(0, struct.pack(">HBH", len(name) + 3, 0, len(name)) + name)
    g = b"".join(struct.pack(">H", x) for x in groups)
    exts += ext(10, struct.pack(">H", len(g)) + g)
    exts += ext(13, struct.pack(">HH", 2, 0x0403))
    exts += ext(43, b"\x04\x03\x04\x03\x03")
    ks = b"".join(struct.pack(">HH", x, n) + bytes(n) for x, n in shares)
    exts += ext(51, struct.pack(">H", len(ks)) + ks)
    body = struct.pack(">H", 0x0303) + bytes(32) + b"\x00" + struct.pack(">HH", 2, 0x1301)
    body += b"\x01\x00" + struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def write_pcap(path, conns):
    """Ethernet/IPv4/TCP: per connection SYN, SYN-ACK, ACK, the hello, then
    a FIN from the server with nothing else (no answer)."""
    out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
    t = 1700000000

    def frame(src, dst, sport, dport, seq, ack, flags, data=b""):
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(data), 0, 0, 64, 6, 0,
                         bytes(src), bytes(dst))
        eth = bytes(6) + bytes(6) + b"\x08\x00"
        return eth + ip + tcp + data

    for i, (client, server, hello) in enumerate(conns):
        cport, sport = 40000 + i, 443
        pkts = [frame(client, server, cport, sport, 100, 0, 0x02),
                frame(server, client, sport, cport, 500, 101, 0x12),
                frame(client, server, cport, sport, 101, 501, 0x10),
                frame(client, server, cport, sport, 101, 501, 0x18, hello),
                frame(server, client, sport, cport, 501, 101 + len(hello), 0x11)]
        for k, p in enumerate(pkts):
            out.append(struct.pack("<IIII", t + i, k, len(p), len(p)) + p)
    with open(path, "wb") as f:
        f.write(b"".join(out))


class Dom(html.parser.HTMLParser):
    """The parts of the dumped DOM the test reads."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.sections = []
        self.stack = []
        self.text_target = None
        self.meta = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        cls = (a.get("class") or "").split()
        if tag == "p" and a.get("id") == "meta":
            self.meta = a
        if tag == "section" and "service" in cls:
            self.sections.append({"attrs": a, "rows": {}, "bars": {}, "families": {},
                                  "paths": {}, "verdict": None, "h2": ""})
            return
        if not self.sections:
            return
        s = self.sections[-1]
        if tag == "tr" and "data-stage" in a:
            s["cur_stage"] = a["data-stage"]
            s["rows"][a["data-stage"]] = {}
            s["families"][a["data-stage"]] = {}
        if tag == "td" and "count" in cls and "data-count" in a and s.get("cur_stage"):
            s["rows"][s["cur_stage"]][cls[0]] = int(a["data-count"])
        if tag == "td" and "refused-families" in cls:
            s["in_refused"] = True
        if tag == "td" and "hrr-families" in cls:
            s["in_refused"] = False
        if tag == "span" and "family" in cls and s.get("in_refused"):
            s["families"][s["cur_stage"]][a["data-family"]] = int(a["data-count"])
        if tag == "rect" and "bar" in cls:
            s["bars"][(a["data-stage"], cls[1])] = (int(a["data-count"]), float(a["width"]))
        if tag == "tr" and "path" in cls:
            s["paths"][a["data-prefix"]] = []
            s["cur_path"] = a["data-prefix"]
        if tag == "p" and "verdict" in cls:
            s["verdict"] = {"attrs": a, "text": ""}
            self.text_target = ("verdict", s)
        if tag == "h2":
            self.text_target = ("h2", s)
        if tag == "td" and s.get("cur_path") and "count" in cls:
            self.text_target = ("path", s)

    def handle_endtag(self, tag):
        if tag in ("p", "h2", "td"):
            self.text_target = None
        if tag == "tr" and self.sections:
            self.sections[-1]["cur_path"] = None
            self.sections[-1]["in_refused"] = False

    def handle_data(self, data):
        if self.text_target is None:
            return
        kind, s = self.text_target
        if kind == "verdict":
            s["verdict"]["text"] += data
        elif kind == "h2":
            s["h2"] += data
        elif kind == "path":
            s["paths"][s["cur_path"]].append(int(data))


def run(args):
    r = subprocess.run([PQTLS] + args, capture_output=True, timeout=120)
    if r.returncode != 0:
        fail(f"pqtls {' '.join(args)}: exit {r.returncode}: {r.stderr.decode()[:300]}")
    return r.stdout


def main():
    if os.path.isdir(SCRATCH):
        shutil.rmtree(SCRATCH)
    os.makedirs(SCRATCH)
    gen = os.path.join(SCRATCH, "gen.pcap")
    subprocess.run([GEN, gen, "2", "--seed", "5"], check=True, capture_output=True)
    evil = os.path.join(SCRATCH, "evil.pcap")
    hybrid = client_hello(EVIL_SNI, [0x11EC, 0x001D], [(0x11EC, 1216), (0x001D, 32)])
    classical = client_hello(EVIL_SNI, [0x001D, 0x0017], [(0x001D, 32)])
    srv = [198, 51, 100, 9]
    write_pcap(evil, [([203, 0, 113, 5], srv, hybrid), ([203, 0, 113, 6], srv, classical),
                      ([203, 0, 113, 7], srv, classical), ([10, 1, 2, 3], srv, hybrid)])
    fam = os.path.join(SCRATCH, "families.txt")
    with open(fam, "w") as f:
        f.write(f"t13* {EVIL_FAMILY}\n")
    inputs = [gen, evil] + [os.path.join(SHARED, "pcaps", p) for p in
                            ("foxio-ja4/pcap/tls-handshake.pcapng", "ndpi/pcap/sites.pcapng")]
    common = ["advise", "-q", "--server", "openssl35", "--families", fam] + inputs
    js = [json.loads(line) for line in run(common).splitlines()]
    page = os.path.join(SCRATCH, "advise.html")
    run(common + ["--format", "html", "-o", page])
    dom_path = os.path.join(SCRATCH, "dom.html")
    chromium = shutil.which("chromium")
    if chromium is None:
        fail("chromium is not installed (scripts/deps.sh installs it)")
        return
    with open(dom_path, "wb") as out:
        r = subprocess.run(
            ["timeout", "-k", "5", "90", chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=" + os.path.join(SCRATCH, "profile"),
             "--dump-dom", "file://" + page], stdout=out, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        fail(f"chromium could not render the page (exit {r.returncode})")
        return
    dom = Dom()
    dom.feed(open(dom_path, encoding="utf-8").read())
    check(dom, js)


def check(dom, js):
    if len(dom.sections) < 10:
        fail(f"only {len(dom.sections)} service sections in the DOM")
    # Nothing runs, nothing is loaded, hostile strings stay text.
    for tag, a in dom.tags:
        if tag in ("script", "img", "iframe", "link", "object", "embed"):
            fail(f"the DOM has a <{tag}> element: {a}")
        if "src" in a or any(k.startswith("on") for k in a):
            fail(f"<{tag}> has {a}")
        if "href" in a and not a["href"].startswith("#"):
            fail(f"<{tag}> links out: {a['href']}")
    if dom.meta is None or int(dom.meta["data-services"]) != len(js) or \
            int(dom.meta["data-handshakes"]) != sum(o["handshakes"] for o in js):
        fail(f"page summary {dom.meta} against {len(js)} services")
    by_key = {(o["server"], str(o["server_port"]), o["sni"], o["transport"]): o for o in js}
    seen_evil = False
    for s in dom.sections:
        a = s["attrs"]
        key = (a["data-server"], a["data-port"], a.get("data-sni"), a["data-transport"])
        o = by_key.get(key)
        if o is None:
            fail(f"section {key} has no JSON object")
            continue
        where = f"section {key}"
        if o["sni"] == EVIL_SNI:
            seen_evil = True
            if EVIL_SNI not in s["h2"]:
                fail(f"{where}: the hostile SNI is not the heading's text: {s['h2']!r}")
        for attr, field in (("data-handshakes", "handshakes"), ("data-replayed", "replayed"),
                            ("data-tls12-only", "tls12_only"), ("data-large", "large_client_hellos"),
                            ("data-failed-large", "failed_after_large_client_hello")):
            if int(a[attr]) != o[field]:
                fail(f"{where}: {attr} {a[attr]} != {field} {o[field]}")
        for w in o["what_if"]:
            st = w["stage"]
            row = s["rows"].get(st, {})
            for f in ("hybrid", "hrr", "refused"):
                if row.get(f) != w[f]:
                    fail(f"{where} {st}: table {f} {row.get(f)} != {w[f]}")
            fams = {x["family"]: x["handshakes"] for x in w["refused_families"]}
            if s["families"].get(st) != fams:
                fail(f"{where} {st}: refused families {s['families'].get(st)} != {fams}")
            total = 0.0
            for cls, want in (("hybrid", w["hybrid"]), ("classical", w["classical"]),
                              ("refused", w["refused"]), ("hrr", w["hrr"])):
                bar = s["bars"].get((st, cls))
                if bar is None or bar[0] != want:
                    fail(f"{where} {st}: chart {cls} {bar} != {want}")
                    continue
                # the bar's width is its share of the replayed handshakes
                exp = 420.0 * want / o["replayed"] if o["replayed"] else 0.0
                if abs(bar[1] - exp) > 0.06:
                    fail(f"{where} {st}: chart {cls} width {bar[1]} != {exp:.1f}")
                if cls != "hrr":
                    total += bar[1]
            if o["replayed"] and abs(total - 420.0) > 0.2:
                fail(f"{where} {st}: stacked bars are {total} wide, not 420")
        v = s["verdict"]
        if v is None or v["text"] != o["verdict"]["text"] or \
                v["attrs"]["data-ready"] != str(int(o["verdict"]["ready"])) or \
                v["attrs"]["data-next-stage"] != o["verdict"]["next_stage"]:
            fail(f"{where}: verdict {v} != {o['verdict']}")
        paths = {p["client_prefix"]: [p["handshakes"], p["large_client_hellos"],
                                      p["failed_after_large_client_hello"],
                                      p["failed_after_small_client_hello"]] for p in o["paths"]}
        if s["paths"] != paths:
            fail(f"{where}: paths {s['paths']} != {paths}")
    if not seen_evil:
        fail("the service with the hostile SNI is not on the page")
    evil = [o for o in js if o["sni"] == EVIL_SNI]
    if len(evil) != 1 or evil[0]["handshakes"] != 4 or \
            evil[0]["what_if"][2]["refused_families"] != \
            [{"family": EVIL_FAMILY, "handshakes": 2, "pct": 50.0}]:
        fail(f"the hostile service in JSON: {evil}")
    print(f"advise.html: {len(dom.sections)} sections checked against the JSON")


main()
if failures:
    print(f"advise.html: {len(failures)} failures", file=sys.stderr)
    sys.exit(1)
print("advise.html: ok")
