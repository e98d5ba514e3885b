"""mask.recorded: pqtls mask on the suite's own loopback recording.

Run as `test_mask.py --recorded PQTLS PQTLS_PROVIDER_SO WORK_DIR`; main()
gets test_mask's module for its helpers (check, mask, compare, leak_free,
tshark_warnings, readable). tcpdump records on lo, as
tests/observe/record.sh does (root or CAP_NET_RAW: CI runs as root;
without it the test FAILS, never skips), while real clients talk to local
servers:

  a  curl, plain HTTP, to a Python server on 127.0.0.77 (Host a known
     name, then 127.0.0.77 itself; Authorization: Bearer, a Cookie, a
     ?token=, X-Forwarded-For naming 127.0.0.77, a Set-Cookie back),
     and the same over [::1]
  b  Debian `openssl s_client -tls1_2 -servername` -> `openssl s_server
     -tls1_2` on 127.0.0.77 with a certificate the test makes (known CN, O,
     OU, DNS and IP SANs), so the Certificate is in the clear
  c  s_client -> s_server, TLS 1.3 X25519MLKEM768 through the pqtls
     provider (scripts/openssl-cnf.sh), a known SNI, on 127.0.0.77 and [::1]

The recording is masked as pcap, as pcapng (editcap) and gzip-compressed
on standard input; every secret (ASCII and the DER values of the subject,
the serial, the signature, the addresses in binary and text) must be in
the original and absent from every masked copy; `pqtls observe` must give
the same records (ja4, groups, outcome, ClientHello size and segments...);
tshark must find no malformed packet or bad checksum; no address tshark
reads in a masked copy may be one of the recorded ones.
"""
import gzip
import http.server
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

TOKEN = "RECBEARER4242tokXyz"
COOKIE = "RECCOOKIE9191abcQ"
SETCOOKIE = "RECSETCOOKIE7373mnP"
QTOKEN = "RECQUERY5353defR"
HTTP_HOST = "intranet-secret.example.net"
CN = "recorded-tenant.example.com"
SAN2 = "api.recorded-tenant.example.com"
ORG = "Recorded Tenant Org"
OU = "Recorded Tenant Ops"
PQ_SNI = "pq-secret-tenant.example.org"
ADDR = "127.0.0.77"
LIFETIME = 90  # seconds any process the test starts may live


def der_value(tag, text):
    b = text.encode()
    assert len(b) < 128
    return bytes([tag, len(b)]) + b


class Handler(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):
        Handler.seen.append((self.path, self.headers.get("Authorization"),
                             self.headers.get("Cookie")))
        body = b"recorded ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Set-Cookie", "sid=%s; Path=/; HttpOnly" % SETCOOKIE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class Server6(http.server.HTTPServer):
    address_family = socket.AF_INET6


def main(t):
    check, run, WORK = t.check, t.run, t.WORK
    for cmd in ("tcpdump", "tshark", "curl", "openssl", "editcap"):
        if not shutil.which(cmd):
            check(False, f"{cmd} is not installed")
    if t.FAILS:
        return 1
    procs = []
    servers = []
    deadline = time.monotonic() + LIFETIME

    def spawn(args, log, env=None):
        f = open(log, "wb")
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env)
        procs.append(p)
        return p

    def wait_line(p, log, pred, what):
        while time.monotonic() < deadline:
            text = open(log, errors="replace").read()
            for line in text.splitlines():
                v = pred(line)
                if v:
                    return v
            if p.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not start: {open(log, errors='replace').read()[-400:]}")

    def s_server(name, accept, extra, env=None):
        log = os.path.join(WORK, f"s_server.{name}.log")
        p = spawn(["openssl", "s_server", "-accept", accept, "-www", "-cert", cert_pem,
                   "-key", key_pem, *extra], log, env)
        return int(wait_line(p, log, lambda l: l.startswith("ACCEPT ") and l.rsplit(":", 1)[1],
                             "s_server " + name))

    try:
        cert_pem = os.path.join(WORK, "rec-cert.pem")
        key_pem = os.path.join(WORK, "rec-key.pem")
        r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key_pem,
                 "-out", cert_pem, "-days", "30", "-subj", f"/CN={CN}/O={ORG}/OU={OU}",
                 "-addext", f"subjectAltName=DNS:{CN},DNS:{SAN2},IP:{ADDR}"])
        check(r.returncode == 0, "openssl req: " + r.stderr.decode())
        der = run(["openssl", "x509", "-in", cert_pem, "-outform", "DER"]).stdout
        serial = run(["openssl", "x509", "-in", cert_pem, "-noout", "-serial"]).stdout
        serial = serial.decode().strip().split("=")[1].lower()
        cnf = os.path.join(WORK, "openssl-pqtls.cnf")
        root = os.path.dirname(os.path.dirname(t.HERE))
        with open(cnf, "wb") as f:
            f.write(run(["sh", os.path.join(root, "scripts", "openssl-cnf.sh"), os.path.abspath(t.PROVIDER)]).stdout)
        pq_env = dict(os.environ, OPENSSL_CONF=cnf)

        # ---- servers ----
        h4 = http.server.HTTPServer((ADDR, 0), Handler)
        h6 = Server6(("::1", 0), Handler)
        for h in (h4, h6):
            servers.append(h)
            threading.Thread(target=h.serve_forever, daemon=True).start()
        p_http4, p_http6 = h4.server_address[1], h6.server_address[1]
        p_tls12 = s_server("tls12", f"{ADDR}:0", ["-tls1_2"])
        p_pq4 = s_server("pq4", f"{ADDR}:0", ["-tls1_3", "-groups", "X25519MLKEM768"], pq_env)
        p_pq6 = s_server("pq6", "[::1]:0", ["-tls1_3", "-groups", "X25519MLKEM768"], pq_env)
        ports = (p_http4, p_http6, p_tls12, p_pq4, p_pq6)
        print("ports: http %d, http6 %d, tls1.2 %d, pq %d, pq6 %d" % ports)

        # ---- capture ----
        pcap = os.path.join(WORK, "recorded.pcap")
        tlog = os.path.join(WORK, "tcpdump.log")
        filt = "tcp and (" + " or ".join("port %d" % p for p in ports) + ")"
        td = spawn(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-s", "0", "-w", pcap, filt], tlog)
        try:
            wait_line(td, tlog, lambda l: "listening on" in l, "tcpdump")
        except RuntimeError as e:
            if "ermi" in str(e) or "not permitted" in str(e):
                raise RuntimeError("tcpdump cannot capture on lo; this test needs root or "
                                   "CAP_NET_RAW (CI runs it as root): " + str(e))
            raise

        # ---- clients ----
        auth = ["-H", "Authorization: Bearer " + TOKEN, "-b", "session=" + COOKIE,
                "-H", f"X-Forwarded-For: {ADDR}, 10.0.0.1"]
        query = f"/api/v1/items?token={QTOKEN}&user=alice"
        r = run(["curl", "-sS", "--max-time", "10", "--resolve", f"{HTTP_HOST}:{p_http4}:{ADDR}",
                 *auth, f"http://{HTTP_HOST}:{p_http4}{query}"])
        check(r.returncode == 0 and r.stdout == b"recorded ok\n", "curl http: " + r.stderr.decode())
        r = run(["curl", "-sS", "--max-time", "10", *auth, f"http://{ADDR}:{p_http4}{query}"])
        check(r.returncode == 0 and r.stdout == b"recorded ok\n", "curl http by address: "
              + r.stderr.decode())
        r = run(["curl", "-sS", "-g", "--max-time", "10", *auth, f"http://[::1]:{p_http6}{query}"])
        check(r.returncode == 0 and r.stdout == b"recorded ok\n", "curl http [::1]: " + r.stderr.decode())
        check(Handler.seen == [("/api/v1/items?token=%s&user=alice" % QTOKEN, "Bearer " + TOKEN,
                                "session=" + COOKIE)] * 3, f"the HTTP server saw {Handler.seen}")

        def s_client(name, target, extra, sni, env=None):
            r = subprocess.run(["timeout", "-k", "2", "15", "openssl", "s_client", "-connect", target,
                                "-servername", sni, *extra], stdin=subprocess.DEVNULL,
                               capture_output=True, env=env)
            out = r.stdout.decode(errors="replace")
            check(r.returncode == 0 and CN in out, f"s_client {name}: status {r.returncode} "
                  + (out + r.stderr.decode(errors="replace"))[-400:])
            return out

        out = s_client("tls1.2", f"{ADDR}:{p_tls12}", ["-tls1_2"], CN)
        check("TLSv1.2" in out, "s_client tls1.2 did not negotiate TLS 1.2")
        s_client("pq", f"{ADDR}:{p_pq4}", ["-tls1_3", "-groups", "X25519MLKEM768"], PQ_SNI, pq_env)
        s_client("pq6", f"[::1]:{p_pq6}", ["-tls1_3", "-groups", "X25519MLKEM768"], PQ_SNI, pq_env)

        time.sleep(0.5)
        td.send_signal(signal.SIGINT)
        try:
            td.wait(5)
        except subprocess.TimeoutExpired:
            td.kill()
            td.wait()
        print(" ".join(l for l in open(tlog).read().splitlines() if "packets" in l))
    except RuntimeError as e:
        check(False, str(e))
        return 1
    finally:
        for h in servers:
            h.shutdown()
            h.server_close()
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    if t.FAILS:
        return 1

    # ---- what must be in the recording, and gone after masking ----
    strings = [TOKEN, COOKIE, SETCOOKIE, QTOKEN, HTTP_HOST, "intranet-secret", CN, "recorded-tenant",
               SAN2, ORG, OU, PQ_SNI, "pq-secret-tenant", ADDR]
    # the addresses in binary: searched frame by frame with the IP and TCP
    # checksums blanked (a checksum ending in 0x7f, the urgent pointer 0 and
    # a NOP option read 7f 00 00 01 once in about 256 frames)
    addrs = [socket.inet_aton(ADDR), socket.inet_aton("127.0.0.1"),
             socket.inet_pton(socket.AF_INET6, "::1")]
    binary = [serial[-16:], der[-64:].hex()]  # serial, signature
    binary += [der_value(0x0C, v).hex() for v in (CN, ORG, OU)]  # subject, UTF8String
    binary += [der_value(0x82, v).hex() for v in (CN, SAN2)]  # SAN dNSName
    binary.append((bytes([0x87, 4]) + socket.inet_aton(ADDR)).hex())  # SAN iPAddress
    orig = open(pcap, "rb").read()
    for s in strings:
        check(s.encode() in orig, f"recording: '{s}' not in the original")
    for h in binary:
        check(bytes.fromhex(h) in orig, f"recording: bytes {h} not in the original")
    for x in addrs:
        check(any(x in f for f in frames(pcap)), f"recording: address {x.hex()} not in any frame")

    # observe on the original: the handshakes happened as the test ran them
    a = t.observe(pcap)
    by = {}
    for x in a:
        by.setdefault(x.get("sni"), []).append(x)
    check(len(a) == 3, f"recording: {len(a)} handshakes observed, expected 3")
    tls12 = by.get(CN, [])
    check(len(tls12) == 1 and tls12[0].get("version") == "TLSv1.2"
          and tls12[0].get("outcome") == "completed", f"recording: TLS 1.2 handshake: {tls12}")
    pq = by.get(PQ_SNI, [])
    check(len(pq) == 2 and all(x.get("group") == "X25519MLKEM768" and x.get("outcome") == "completed"
                               for x in pq), f"recording: X25519MLKEM768 handshakes: {pq}")
    check(any(x["server"].startswith("::1") or x["server"].startswith("[::1]") for x in pq),
          f"recording: no handshake over ::1: {[x['server'] for x in pq]}")

    out_pcap = os.path.join(WORK, "recorded.masked.pcap")
    r = t.mask(pcap, out_pcap)
    check(r.returncode == 0, "mask recorded.pcap: " + r.stderr.decode())
    gz = pcap + ".gz"
    with gzip.open(gz, "wb") as g:
        g.write(orig)
    with open(gz, "rb") as f:
        r = subprocess.run([t.PQTLS, "mask", "-q", "--key-file", t.KEY, "-"], stdin=f,
                           capture_output=True)
    check(r.returncode == 0, "mask gzip on stdin: " + r.stderr.decode())
    out_gz = os.path.join(WORK, "recorded.gz-stdin.masked.pcap")
    open(out_gz, "wb").write(r.stdout)
    check(r.stdout == open(out_pcap, "rb").read(), "gzip on stdin differs from the file")
    ng = os.path.join(WORK, "recorded.pcapng")
    r = run(["editcap", "-F", "pcapng", pcap, ng])
    check(r.returncode == 0, "editcap -F pcapng: " + r.stderr.decode())
    out_ng = os.path.join(WORK, "recorded.masked.pcapng")
    r = t.mask(ng, out_ng)
    check(r.returncode == 0, "mask recorded.pcapng: " + r.stderr.decode())

    known = {ADDR, "127.0.0.1", "::1"}
    for p in (out_pcap, out_gz, out_ng):
        t.leak_free(p, strings, binary, "recorded")
        fr = frames(p)
        check(len(fr) == len(frames(pcap)), f"recorded: {len(fr)} frames in {p}")
        for x in addrs:
            n = sum(x in f for f in fr)
            check(n == 0, f"recorded: address {x.hex()} in {n} frames of {p}")
        w, rc = t.tshark_warnings(p)
        check(rc == 0 and w == 0, f"tshark: {w} warnings (status {rc}) on {p}")
        ok, err = t.readable(p)
        check(ok, f"tcpdump cannot read {p}: {err}")
        r = run(["tshark", "-r", p, "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e",
                 "ipv6.src", "-e", "ipv6.dst"])
        seen = set(r.stdout.decode().split())
        check(r.returncode == 0 and seen, f"tshark reads no addresses from {p}")
        check(not (seen & known), f"recorded: addresses {seen & known} left in {p}")
        check(b"[::1]" not in open(p, "rb").read(),
              f"recorded: IPv6 literal [::1] (HTTP Host header) left in {p}")
        obs = run([t.PQTLS, "observe", p]).stdout
        for s in (ADDR, CN, PQ_SNI):
            check(s.encode() not in obs, f"recorded: observe on {p} still reports {s}")
    a, b = t.compare(pcap, out_pcap, "recorded pcap")
    a2, b2 = t.compare(ng, out_ng, "recorded pcapng")
    check([x["sni"] for x in b] == [x["sni"] for x in b2], "pcap and pcapng pseudonyms differ")
    check(len({(x["sni"], y["sni"]) for x, y in zip(a, b)}) == len({x["sni"] for x in a}),
          "SNI pseudonyms: not one per original name")
    print("recorded: %d handshakes, %d frames, %d bytes; %d failures"
          % (len(a), len(frames(pcap)), len(orig), len(t.FAILS)))
    return 1 if t.FAILS else 0


def frames(path):
    """The frames of a little-endian pcap or pcapng file (what tcpdump and
    pqtls mask write here), Ethernet, with IPv4 and TCP checksums zeroed."""
    d = open(path, "rb").read()
    out = []
    if d[:4] == b"\xd4\xc3\xb2\xa1":
        off = 24
        while off + 16 <= len(d):
            cl = struct.unpack_from("<I", d, off + 8)[0]
            out.append(d[off + 16:off + 16 + cl])
            off += 16 + cl
    else:
        off = 0
        while off + 12 <= len(d):
            typ, bl = struct.unpack_from("<II", d, off)
            if typ == 6:
                cl = struct.unpack_from("<I", d, off + 20)[0]
                out.append(d[off + 28:off + 28 + cl])
            off += bl
    res = []
    for f in out:
        f = bytearray(f)
        et = f[12:14]
        if et == b"\x08\x00":
            ihl = (f[14] & 15) * 4
            f[24:26] = b"\0\0"
            l4, proto = 14 + ihl, f[23]
        elif et == b"\x86\xdd":
            l4, proto = 54, f[20]
        else:
            res.append(bytes(f))
            continue
        if proto == 6 and len(f) >= l4 + 18:
            f[l4 + 16:l4 + 18] = b"\0\0"
        res.append(bytes(f))
    return res
