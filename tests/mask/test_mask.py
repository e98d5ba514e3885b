#!/usr/bin/env python3
"""pqtls mask, end to end (docs/mask.md, "Tests").

test_mask.py PQTLS SHARED_DIR WORK_DIR

- leak: captures the test writes (gen_secrets.py: a known SNI, addresses,
  MACs, bearer token, cookie, query token, mail address, a TLS 1.2
  certificate with a known subject, pcapng comments/interface options/NRB/
  DSB) masked as pcap, pcapng and gzip on stdin: no secret in ASCII, upper
  or lower case, UTF-16 or binary is left; on every shared capture no SNI
  or address that `pqtls observe` reports on the original is left;
- analysability: `pqtls observe` on original and masked gives, record by
  record, the same ja4, ja4_r, groups, key shares, hrr, outcome, family,
  ClientHello size and segments, version, cipher, group, alert;
- consistency: the same pseudonyms in the masked pcap, the masked pcapng
  and the masked observe log (--log jsonl), and in nginx/haproxy lines;
- tshark reads every masked capture with no more malformed-packet or
  bad-checksum warnings than the original (none for the generated ones);
  tcpdump (libpcap) reads them;
- damaged and hostile inputs end with status 1 and a message, never a
  crash, and what is written is a readable masked prefix;
- the key file is created 0600 with 32 bytes and never appears in output;
  --mapping is 0600 and only written when asked.
"""
import gzip
import json
import os
import random
import shutil
import stat
import subprocess
import sys

# test_mask.py --recorded PQTLS PQTLS_PROVIDER_SO WORK_DIR: the suite's own
# loopback recording instead (recorded() below, test mask.recorded).
RECORDED = len(sys.argv) > 1 and sys.argv[1] == "--recorded"
if RECORDED:
    PQTLS, PROVIDER, WORK = sys.argv[2], sys.argv[3], sys.argv[4]
    SHARED = None
else:
    PQTLS, SHARED, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
FAILS = []
KNOWN_SEEN = []
# Gaps not closed yet (docs/mask.md, "Not done yet"), reported as KNOWN
# instead of failing; remove an entry when its gap is closed.
KNOWN = {}

SAME = ["ja4", "ja4_r", "client_family", "client_library", "family_basis", "alpn", "offered_versions", "cipher_suites",
        "offered_groups", "key_share_groups", "key_shares", "signature_algorithms", "extensions",
        "version", "cipher", "group", "group_code", "group_source", "hrr", "hrr_group",
        "retry_key_share_groups", "outcome", "alert", "closed_by", "client_port", "server_port",
        "transport", "quic"]


def check(cond, msg):
    if not cond:
        for k, why in KNOWN.items():
            if msg.startswith(k):
                KNOWN_SEEN.append(msg)
                print("KNOWN (%s):" % why, msg)
                return
        FAILS.append(msg)
        print("FAIL:", msg)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, **kw)


def observe(path):
    r = run([PQTLS, "observe", path])
    return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]


def mask(src, dst, *extra):
    r = run([PQTLS, "mask", "-q", "--key-file", KEY, "-o", dst, *extra, src])
    return r


def variants(s):
    out = {s, s.lower(), s.upper()}
    res = []
    for v in out:
        b = v.encode()
        res += [b, v.encode("utf-16-be"), v.encode("utf-16-le")]
    return res


def leak_free(path, strings, binary, what):
    data = open(path, "rb").read()
    for s in strings:
        for v in variants(s):
            check(v not in data, f"{what}: '{s}' ({v[:12]!r}...) left in {path}")
    for h in binary:
        check(bytes.fromhex(h) not in data, f"{what}: bytes {h} left in {path}")
    key = open(KEY, "rb").read()
    check(key not in data, f"{what}: the key is in {path}")


def compare(orig, masked, what):
    # QUIC handshakes are masked like TCP ones (docs/mask.md, "QUIC"): the
    # Initials are sealed again, so they compare field by field too.
    a, b = observe(orig), observe(masked)
    check(len(a) == len(b), f"{what}: {len(a)} handshakes before, {len(b)} after masking")
    for i, (x, y) in enumerate(zip(a, b)):
        for k in SAME:
            if x.get(k) != y.get(k):
                check(False, f"{what} record {i}: {k} {x.get(k)!r} -> {y.get(k)!r}")
        for k in ("size", "segments", "records", "complete", "error"):
            u, v = x["client_hello"].get(k), y["client_hello"].get(k)
            if k == "error" and u is not None and v is not None:
                continue  # a hello that does not parse may fail at another field
            check(u == v, f"{what} record {i}: client_hello.{k} {u!r} -> {v!r}")
        if x.get("sni") and x["sni"] != "localhost" and len(x["sni"]) >= 8:
            check(y.get("sni") != x["sni"], f"{what} record {i}: SNI {x['sni']} not masked")
            check(len(y.get("sni") or "") == len(x["sni"]), f"{what} record {i}: SNI length changed")
        check(x["client"] != y["client"], f"{what} record {i}: client address {x['client']} kept")
        if x.get("transport") == "quic":
            check(x.get("anomalies") == y.get("anomalies"),
                  f"{what} record {i}: anomalies {x.get('anomalies')} -> {y.get('anomalies')}")
    return a, b


def quic_cids(path):
    """The QUIC connection IDs (hex) tshark finds in a capture's long and
    short headers (4 bytes and longer: shorter ones match by chance)."""
    r = run(["tshark", "-r", path, "-Y", "quic", "-T", "fields", "-e", "quic.dcid", "-e",
             "quic.scid"])
    out = set()
    for line in r.stdout.decode(errors="replace").split():
        for h in line.replace(",", " ").split():
            h = h.replace(":", "")
            if len(h) >= 8:
                out.add(h)
    return out


def tshark_warnings(path):
    r = run(["tshark", "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
             "-o", "udp.check_checksum:TRUE", "-V"])
    text = r.stdout.decode(errors="replace").lower()
    return text.count("malformed") + text.count("[checksum status: bad]"), r.returncode


def readable(path):
    r = run(["tcpdump", "-nr", path])
    return r.returncode == 0, r.stderr.decode(errors="replace")


os.makedirs(WORK, exist_ok=True)
KEY = os.path.join(WORK, "team.key")
if os.path.exists(KEY):
    os.unlink(KEY)
if RECORDED:
    import recorded
    sys.exit(recorded.main(sys.modules[__name__]))

# ---- generated captures with known secrets ----
cert = os.path.join(WORK, "cert.der")
r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         os.path.join(WORK, "key.pem"), "-out", os.path.join(WORK, "cert.pem"), "-days", "30",
         "-subj", "/CN=secret-tenant.example.com/O=Secret Tenant Org/OU=Secret Tenant Ops",
         "-addext", "subjectAltName=DNS:secret-tenant.example.com,DNS:www.secret-tenant.example.com"])
check(r.returncode == 0, "openssl req: " + r.stderr.decode())
run(["openssl", "x509", "-in", os.path.join(WORK, "cert.pem"), "-outform", "DER", "-out", cert])
der = open(cert, "rb").read()
serial = run(["openssl", "x509", "-in", os.path.join(WORK, "cert.pem"), "-noout", "-serial"]).stdout
serial = serial.decode().strip().split("=")[1].lower()
pub = run(["openssl", "x509", "-in", os.path.join(WORK, "cert.pem"), "-noout", "-pubkey"]).stdout
r = run([sys.executable, os.path.join(HERE, "gen_secrets.py"), WORK, cert])
check(r.returncode == 0, "gen_secrets.py: " + r.stderr.decode())
secrets = json.loads(r.stdout)
secrets["binary"] += [serial[-16:], der[-64:].hex()]  # serial, signature

mp = os.path.join(WORK, "mapping.tsv")
out_pcap = os.path.join(WORK, "secrets.masked.pcap")
r = mask(os.path.join(WORK, "secrets.pcap"), out_pcap, "--mapping", mp)
check(r.returncode == 0, "mask secrets.pcap: " + r.stderr.decode())
st = os.stat(KEY)
check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32, "key file: not 0600 / 32 bytes")
check(stat.S_IMODE(os.stat(mp).st_mode) == 0o600, "mapping file is not 0600")
mapping = open(mp).read()
check("secret-tenant.example.com" in mapping and "10.20.30.40" in mapping,
      "mapping lacks the SNI or an address")
out_ng = os.path.join(WORK, "secrets.masked.pcapng")
r = mask(os.path.join(WORK, "secrets.pcapng"), out_ng)
check(r.returncode == 0, "mask secrets.pcapng: " + r.stderr.decode())
check(not os.path.exists(os.path.join(WORK, "none.tsv")), "a mapping written unasked")
gz = os.path.join(WORK, "secrets.pcapng.gz")
with open(os.path.join(WORK, "secrets.pcapng"), "rb") as f, gzip.open(gz, "wb") as g:
    g.write(f.read())
out_gz = os.path.join(WORK, "secrets.gz-stdin.pcapng")
with open(gz, "rb") as f:
    r = subprocess.run([PQTLS, "mask", "-q", "--key-file", KEY, "-"], stdin=f, capture_output=True)
check(r.returncode == 0, "mask gzip on stdin: " + r.stderr.decode())
open(out_gz, "wb").write(r.stdout)
check(open(out_gz, "rb").read() == open(out_ng, "rb").read(), "gzip on stdin differs from the file")

for p in (out_pcap, out_ng, out_gz):
    leak_free(p, secrets["strings"], secrets["binary"], "generated")
    w, rc = tshark_warnings(p)
    check(rc == 0 and w == 0, f"tshark: {w} warnings (status {rc}) on {p}")
    ok, err = readable(p)
    check(ok, f"tcpdump cannot read {p}: {err}")
a, b = compare(os.path.join(WORK, "secrets.pcap"), out_pcap, "generated pcap")
a2, b2 = compare(os.path.join(WORK, "secrets.pcapng"), out_ng, "generated pcapng")
check([x["sni"] for x in b] == [x["sni"] for x in b2], "pcap and pcapng pseudonyms differ")
check(len({x["sni"] for x in b}) == 1, "one SNI, several pseudonyms")
check(len(a) == 4 and a[0]["client_hello"]["segments"] == 2, "generator: expected 4 handshakes")

# the observe log of the original, masked, names what the masked capture shows
log = os.path.join(WORK, "orig.jsonl")
open(log, "wb").write(run([PQTLS, "observe", os.path.join(WORK, "secrets.pcap")]).stdout)
r = run([PQTLS, "mask", "--key-file", KEY, "--log", "jsonl", log])
check(r.returncode == 0, "mask --log jsonl: " + r.stderr.decode())
ml = [json.loads(l) for l in r.stdout.decode().splitlines()]
for x, y in zip(ml, b):
    for k in ("client", "server", "sni", "ja4", "group"):
        check(x[k] == y[k], f"log vs capture: {k} {x[k]!r} != {y[k]!r}")
check(b"secret-tenant" not in r.stdout and b"10.20.30.40" not in r.stdout, "jsonl log leaks")

nginx = (b'10.20.30.40 - alice [07/Dec/2025:10:00:00 +0000] "GET /api?token=' + b"SECRETQUERY77ww"
         b' HTTP/1.1" 200 12 "https://secret-tenant.example.com/x?sid=SECRETCOOKIE55qq" "curl/7.88.1"\n'
         b'10.20.30.40 "GET / HTTP/2.0" 200 group=X25519MLKEM768 offered=X25519MLKEM768:X25519\n')
haproxy = (b'Dec  7 10:00:00 lb haproxy[123]: 10.20.30.40:40001 [07/Dec/2025:10:00:00.123] fe~ '
           b'be/srv1 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 {secret-tenant.example.com} '
           b'"GET /login?password=SECRETBEARER0987zz HTTP/1.1"\n')
for fmt, text in (("nginx", nginx), ("haproxy", haproxy), ("text", nginx + haproxy)):
    p = os.path.join(WORK, fmt + ".log")
    open(p, "wb").write(text)
    r = run([PQTLS, "mask", "--key-file", KEY, "--log", fmt, p])
    check(r.returncode == 0, f"mask --log {fmt}: " + r.stderr.decode())
    for s in ("secret-tenant", "SECRETQUERY77ww", "SECRETCOOKIE55qq", "SECRETBEARER0987zz",
              "10.20.30.40", "alice"):
        if s == "alice" and fmt == "text":
            continue  # text masks addresses, names, mail, credentials: not any word
        check(s.encode() not in r.stdout, f"--log {fmt}: {s} left")
    check(b[0]["client"].encode() in r.stdout, f"--log {fmt}: client pseudonym differs from capture")
    check(b"X25519MLKEM768" in r.stdout or fmt == "haproxy", f"--log {fmt}: group lost")

# ---- shared captures ----
pcaps = []
for root, _, files in os.walk(os.path.join(SHARED, "pcaps")):
    for f in files:
        if f.endswith((".pcap", ".pcapng", ".cap")):
            pcaps.append(os.path.join(root, f))
pcaps.sort()
check(len(pcaps) > 50, f"only {len(pcaps)} shared captures found")
sdir = os.path.join(WORK, "shared")
os.makedirs(sdir, exist_ok=True)
quic_seen = 0
for i, p in enumerate(pcaps):
    out = os.path.join(sdir, "%03d.masked" % i)
    r = mask(p, out)
    name = os.path.relpath(p, SHARED)
    if r.returncode != 0:
        check(r.returncode == 1 and r.stderr, f"{name}: status {r.returncode} {r.stderr[-200:]}")
        continue
    a, b = compare(p, out, name)
    data = open(out, "rb").read()
    for x in a:
        s = x.get("sni")
        if s and s != "localhost" and len(s) >= 8:
            check(s.encode() not in data, f"{name}: SNI {s} left")
    if any(x.get("transport") == "quic" for x in a):
        quic_seen += 1
        cids = quic_cids(p)
        check(cids, f"{name}: tshark finds no QUIC connection ID")
        for h in cids:
            check(bytes.fromhex(h) not in data, f"{name}: QUIC connection ID {h} left")
        check(quic_cids(out) and not (quic_cids(out) & cids),
              f"{name}: tshark reads no pseudonymised connection IDs")
    before = {x["client"] for x in a} | {x["server"] for x in a}
    after = {x["client"] for x in b} | {x["server"] for x in b}
    check(not (before & after), f"{name}: addresses left: {before & after}")
    w0, _ = tshark_warnings(p)
    w1, rc = tshark_warnings(out)
    check(rc == 0 and w1 <= w0, f"{name}: tshark warnings {w0} -> {w1}")
    ok, err = readable(out)
    check(ok, f"{name}: tcpdump cannot read the masked copy: {err[-200:]}")
check(quic_seen >= 5, f"only {quic_seen} shared captures with QUIC handshakes compared")

# QUIC the shared captures lack, from fuzz_mask's seeds (written by
# tests/fuzz/make_mask_quic_corpus.py; the first byte is the fuzzer's
# selector): a Retry (its integrity tag recomputed: tshark verifies it)
# and the ClientHello again under the Retry's keys, 1-RTT packets; QUIC v2
# answered by Version Negotiation. In every --payload mode the handshake
# reads the same.
seeds = os.path.join(HERE, "..", "fuzz", "corpus", "fuzz_mask")
for n in ("quic-v1-retry", "quic-v2-vn"):
    src = os.path.join(WORK, n + ".pcap")
    with open(src, "wb") as f:
        f.write(open(os.path.join(seeds, n), "rb").read()[1:])
    cids = quic_cids(src)
    for mode in ("keep-length", "zero", "drop"):
        out = os.path.join(WORK, f"{n}.{mode}.pcap")
        r = mask(src, out, "--payload", mode)
        check(r.returncode == 0, f"{n} --payload {mode}: {r.stderr[-200:]}")
        a, b = compare(src, out, f"{n} --payload {mode}")
        check(len(a) == 1 and a[0]["sni"] and a[0]["sni"].endswith((".net", ".org")),
              f"{n}: {len(a)} records")
        data = open(out, "rb").read()
        for h in cids:
            check(bytes.fromhex(h) not in data, f"{n} --payload {mode}: connection ID {h} left")
        if n == "quic-v1-retry":
            check(a and a[0]["quic"]["retry"] and a[0]["outcome"] == "completed", f"{n}: {a[:1]}")
            v = run(["tshark", "-r", out, "-V"]).stdout.decode(errors="replace")
            check("Retry Integrity Tag:" in v and "[verified]" in v.split("Retry Integrity Tag:")[1][:60],
                  f"{n} --payload {mode}: the Retry integrity tag does not verify")
        else:
            check(a and a[0]["outcome"] == "version_negotiation" and a[0]["quic"]["version"] == "2",
                  f"{n}: {a[:1]}")

# An encrypted TLS 1.2 Finished whose keyed first byte came out as 1 (a
# ClientHello type) read as a new handshake (CI, one key in 256): with these
# keys the keyed byte of ssl.v3.pcap's first Finished was 1 before the fix.
import hashlib
v3 = os.path.join(SHARED, "pcaps/zeek/traces/tls/ssl.v3.pcap")
if os.path.exists(v3):
    for i in (237, 449, 551, 617, 1086):
        k = os.path.join(WORK, "finished.key")
        with open(k, "wb") as f:
            f.write(hashlib.sha256(b"finished-%d" % i).digest())
        out = os.path.join(sdir, "ssl.v3-%d.masked" % i)
        r = run([PQTLS, "mask", "-q", "--key-file", k, "-o", out, v3])
        check(r.returncode == 0, f"ssl.v3 key {i}: {r.stderr[-200:]}")
        compare(v3, out, f"ssl.v3.pcap key finished-{i}")

# ---- damaged and hostile inputs ----
src = open(os.path.join(WORK, "secrets.pcapng"), "rb").read()
srcp = open(os.path.join(WORK, "secrets.pcap"), "rb").read()
rnd = random.Random(12)
cases = [("empty", b""), ("garbage", bytes(rnd.randrange(256) for _ in range(5000))),
         ("huge-block", src[:200] + b"\x06\x00\x00\x00\xf0\xff\xff\x7f" + bytes(64)),
         ("pcap-huge-record", srcp[:24] + b"\0" * 8 + b"\xff\xff\xff\x7f" * 2)]
for cut in (5, 23, 30, 100, 700, len(srcp) // 2, len(srcp) - 3):
    cases.append(("pcap-cut-%d" % cut, srcp[:cut]))
for cut in (10, 30, 400, len(src) // 2, len(src) - 5):
    cases.append(("pcapng-cut-%d" % cut, src[:cut]))
for k in range(24):
    b2 = bytearray(srcp if k % 2 else src)
    for _ in range(8):
        b2[rnd.randrange(len(b2))] = rnd.randrange(256)
    cases.append(("corrupt-%d" % k, bytes(b2)))
hdir = os.path.join(WORK, "hostile")
os.makedirs(hdir, exist_ok=True)
for name, data in cases:
    p = os.path.join(hdir, name)
    open(p, "wb").write(data)
    out = p + ".masked"
    r = mask(p, out)
    check(r.returncode in (0, 1), f"{name}: status {r.returncode} {r.stderr[-300:]}")
    if r.returncode == 1:
        check(b"pqtls mask:" in r.stderr, f"{name}: no message")
    if os.path.getsize(out) >= 24:
        leak_free(out, ["secret-tenant", "SECRETBEARER0987zz"], [], name)

# Idle flows are let go (memory stays flat over a long capture): one SYN at
# t, another connection 400 s later; the first flow is freed, counted.
def syn(src_port, t):
    import struct
    tcp = struct.pack("!HHIIBBHHH", src_port, 443, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0, bytes([10, 9, 9, 1]),
                     bytes([10, 9, 9, 2]))
    fr = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + tcp
    return struct.pack("<IIII", t, 0, len(fr), len(fr)) + fr


idle = os.path.join(WORK, "idle.pcap")
with open(idle, "wb") as f:
    import struct
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    f.write(syn(40000, 1700000000) + syn(40001, 1700000100) + syn(40002, 1700000500))
r = run([PQTLS, "mask", "--key-file", KEY, "-o", idle + ".masked", idle])
check(r.returncode == 0 and b"; 2 flows let go after 300 s idle" in r.stderr,
      f"idle flows: {r.stderr[-300:]}")

print("%d failures, %d known gaps" % (len(FAILS), len(KNOWN_SEEN)))
sys.exit(1 if FAILS else 0)
