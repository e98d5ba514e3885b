#!/usr/bin/env python3
"""Write captures holding known secrets for the pqtls mask tests.

gen_secrets.py OUT_DIR CERT_DER writes OUT_DIR/secrets.pcap and
OUT_DIR/secrets.pcapng (the same frames, plus pcapng comments, interface
name/description/hardware/OS options, a name resolution block and a
decryption secrets block) and prints the secrets as JSON: the SNI, the
addresses, MACs, a bearer token, a cookie, a query token, a mail address,
the TLS 1.2 certificate's subject. Flows:
  A  TLS 1.3 ClientHello split over two segments inside the SNI, ServerHello
     (X25519MLKEM768 share), application data, FIN
  B  TLS 1.2: ClientHello, ServerHello, Certificate (CERT_DER),
     CertificateRequest naming the same subject, ServerHelloDone,
     NewSessionTicket, ChangeCipherSpec, encrypted Finished, app data
  C  cleartext HTTP with Authorization: Bearer, Cookie and ?token=
  D  SMTP EHLO / MAIL FROM / STARTTLS, then a ClientHello
  E  IPv6 ClientHello, retransmitted once
"""
import json
import os
import struct
import sys

SNI = b"secret-tenant.example.com"
TOKEN = b"SECRETBEARER0987zz"
COOKIE = b"SECRETCOOKIE55qq"
QTOKEN = b"SECRETQUERY77ww"
MAIL = b"alice.secret@secret-tenant.example.com"
C4, S4 = bytes([10, 20, 30, 40]), bytes([192, 0, 2, 10])
C6 = bytes.fromhex("20010db8aaaa00000000000000000001")
S6 = bytes.fromhex("20010db8bbbb00000000000000000002")
CMAC, SMAC = bytes.fromhex("021122334455"), bytes.fromhex("3c52aabbccdd")
CRANDOM = bytes(range(0x40, 0x60))


def u8(v):
    return struct.pack("!B", v)


def u16(v):
    return struct.pack("!H", v)


def u24(v):
    return struct.pack("!I", v)[1:]


def vec(n, b):
    return {1: u8, 2: u16, 3: u24}[n](len(b)) + b


def ext(t, body):
    return u16(t) + vec(2, body)


def client_hello(sni, tls13=True):
    exts = ext(0, vec(2, u8(0) + vec(2, sni)))
    exts += ext(10, vec(2, u16(0x11EC) + u16(0x001D) + u16(0x0017)))
    exts += ext(11, vec(1, u8(0)))
    exts += ext(13, vec(2, u16(0x0403) + u16(0x0804) + u16(0x0401)))
    exts += ext(16, vec(2, vec(1, b"h2") + vec(1, b"http/1.1")))
    exts += ext(35, b"TICKET-" + SNI)
    if tls13:
        exts += ext(43, vec(1, u16(0x0304) + u16(0x0303)))
        exts += ext(51, vec(2, u16(0x11EC) + vec(2, bytes(1216)) + u16(0x001D) + vec(2, bytes(32))))
        exts += ext(45, vec(1, u8(1)))
    body = u16(0x0303) + CRANDOM + vec(1, b"SESSIONID-" + bytes(22))
    body += vec(2, u16(0x1301) + u16(0x1302) + u16(0xC02F) + u16(0xC030)) + vec(1, u8(0))
    body += vec(2, exts)
    return u8(1) + vec(3, body)


def server_hello(tls13):
    exts = b""
    if tls13:
        exts = ext(43, u16(0x0304)) + ext(51, u16(0x11EC) + vec(2, bytes(1120)))
    else:
        exts = ext(0xFF01, vec(1, b""))
    body = u16(0x0303) + bytes(range(0x80, 0xA0)) + vec(1, b"SESSIONID-" + bytes(22))
    body += u16(0x1301 if tls13 else 0xC02F) + u8(0) + vec(2, exts)
    return u8(2) + vec(3, body)


def record(t, body):
    return u8(t) + u16(0x0303) + vec(2, body)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Flow:
    def __init__(self, v6, cport, sport):
        self.v6, self.cport, self.sport = v6, cport, sport
        self.seq = [1000, 5000]

    def frame(self, fromc, payload, flags=0x18, seq=None):
        src, dst = (C6, S6) if self.v6 else (C4, S4)
        sp, dp = self.cport, self.sport
        if not fromc:
            src, dst, sp, dp = dst, src, dp, sp
        d = 0 if fromc else 1
        s = self.seq[d] if seq is None else seq
        tcp = struct.pack("!HHIIBBHHH", sp, dp, s, self.seq[1 - d], 5 << 4, flags, 65535, 0, 0)
        if seq is None:
            self.seq[d] += len(payload) + (1 if flags & 3 else 0)
        proto_len = len(tcp) + len(payload)
        if self.v6:
            ph = src + dst + struct.pack("!IxxxB", proto_len, 6)
        else:
            ph = src + dst + struct.pack("!xBH", 6, proto_len)
        c = csum(ph + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        if self.v6:
            ip = struct.pack("!IHBB", 0x60000000, proto_len, 6, 64) + src + dst
            et = 0x86DD
        else:
            ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + proto_len, 1, 0x4000, 64, 6, 0) + src + dst
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            et = 0x0800
        macs = (SMAC + CMAC) if fromc else (CMAC + SMAC)
        return macs + struct.pack("!H", et) + ip + tcp + payload

    def open(self):
        return [self.frame(True, b"", 0x02), self.frame(False, b"", 0x12), self.frame(True, b"", 0x10)]

    def close(self):
        return [self.frame(True, b"", 0x11), self.frame(False, b"", 0x11)]


def build(cert):
    frames = []
    a = Flow(False, 40001, 443)
    frames += a.open()
    ch = record(22, client_hello(SNI))
    cut = ch.find(SNI) + 8
    frames += [a.frame(True, ch[:cut]), a.frame(True, ch[cut:])]
    frames += [a.frame(False, record(22, server_hello(True)) + record(20, b"\1") + record(23, bytes(300)))]
    frames += [a.frame(True, record(20, b"\1") + record(23, os.urandom(53)))]
    frames += a.close()

    b = Flow(False, 40002, 443)
    frames += b.open()
    frames += [b.frame(True, record(22, client_hello(SNI, False)))]
    subject = cert_subject(cert)
    certmsg = u8(11) + vec(3, vec(3, vec(3, cert)))
    creq = u8(13) + vec(3, vec(1, u8(1)) + vec(2, u16(0x0401)) + vec(2, vec(2, subject)))
    ske = u8(12) + vec(3, u8(3) + u16(0x001D) + vec(1, bytes(32)) + u16(0x0401) + vec(2, bytes(256)))
    flight = server_hello(False) + certmsg + ske + creq + u8(14) + vec(3, b"")
    rec = record(22, flight)
    frames += [b.frame(False, rec[:1400]), b.frame(False, rec[1400:])]
    frames += [b.frame(True, record(22, u8(16) + vec(3, vec(1, bytes(32)))) + record(20, b"\1") + record(22, os.urandom(40)))]
    nst = u8(4) + vec(3, struct.pack("!I", 7200) + vec(2, b"NSTTICKET-" + SNI))
    frames += [b.frame(False, record(22, nst) + record(20, b"\1") + record(22, os.urandom(40)))]
    frames += [b.frame(True, record(23, os.urandom(100)))]
    frames += b.close()

    c = Flow(False, 40003, 80)
    frames += c.open()
    req = (b"GET /api/v1/items?token=" + QTOKEN + b"&page=2 HTTP/1.1\r\nHost: " + SNI + b"\r\n"
           b"Authorization: Bearer " + TOKEN + b"\r\nCookie: sid=" + COOKIE + b"\r\n"
           b"User-Agent: curl/7.88.1\r\n\r\n")
    frames += [c.frame(True, req[:60]), c.frame(True, req[60:])]
    frames += [c.frame(False, b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nSet-Cookie: sid=" + COOKIE + b"\r\n\r\nhello world\n")]
    frames += c.close()

    d = Flow(False, 40004, 25)
    frames += d.open()
    frames += [d.frame(False, b"220 mx." + SNI + b" ESMTP Postfix\r\n")]
    frames += [d.frame(True, b"EHLO client." + SNI + b"\r\n")]
    frames += [d.frame(False, b"250-mx." + SNI + b"\r\n250 STARTTLS\r\n")]
    frames += [d.frame(True, b"MAIL FROM:<" + MAIL + b">\r\n")]
    frames += [d.frame(False, b"250 2.1.0 Ok\r\n")]
    frames += [d.frame(True, b"STARTTLS\r\n")]
    frames += [d.frame(False, b"220 2.0.0 Ready to start TLS\r\n")]
    frames += [d.frame(True, record(22, client_hello(SNI)))]
    frames += [d.frame(False, record(22, server_hello(True)) + record(20, b"\1") + record(23, bytes(200)))]
    frames += d.close()

    e = Flow(True, 40005, 443)
    frames += e.open()
    ch = record(22, client_hello(SNI))
    s0 = e.seq[0]
    frames += [e.frame(True, ch)]
    frames += [e.frame(True, ch, seq=s0)]  # retransmission
    frames += [e.frame(False, record(22, server_hello(True)) + record(23, bytes(100)))]
    frames += e.close()
    return frames


def cert_subject(der):
    """The subject Name of a certificate, as DER (the 6th element of TBS)."""
    def elem(b, i):
        l = b[i + 1]
        if l < 0x80:
            return i, i + 2, i + 2 + l
        n = l & 0x7F
        ln = int.from_bytes(b[i + 2:i + 2 + n], "big")
        return i, i + 2 + n, i + 2 + n + ln
    _, tb, _ = elem(der, 0)
    _, body, end = elem(der, tb)
    i = body
    items = []
    while i < end:
        s, _, e = elem(der, i)
        items.append(der[s:e])
        i = e
    if items[0][0] == 0xA0:
        items = items[1:]
    return items[4]


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 123456 + i, len(fr), len(fr)) + fr)


def opt(code, val):
    pad = (4 - len(val) % 4) % 4
    return struct.pack("<HH", code, len(val)) + val + bytes(pad)


def block(t, body):
    n = 12 + len(body)
    return struct.pack("<II", t, n) + body + struct.pack("<I", n)


def write_pcapng(path, frames):
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                + opt(1, b"captured at secret-tenant HQ") + opt(2, b"SecretHW-9000")
                + opt(3, b"Linux secret-host 6.1") + opt(4, b"dumpcap secret-tenant") + opt(0, b""))
    out += block(1, struct.pack("<HHI", 1, 0, 65535) + opt(2, b"eth-secret-tenant")
                 + opt(3, b"uplink to secret-tenant.example.com") + opt(4, C4 + b"\xff\xff\xff\x00")
                 + opt(6, CMAC) + opt(12, b"Linux secret-host") + opt(15, b"SecretNIC") + opt(0, b""))
    nrb = struct.pack("<HH", 1, 4 + len(SNI) + 1) + S4 + SNI + b"\0"
    nrb += bytes((4 - len(nrb) % 4) % 4) + struct.pack("<HH", 0, 0)
    out += block(4, nrb)
    keys = b"CLIENT_RANDOM " + CRANDOM.hex().encode() + b" " + b"ab" * 48 + b"\n"
    out += block(10, struct.pack("<II", 0x544C534B, len(keys)) + keys + bytes((4 - len(keys) % 4) % 4))
    for i, fr in enumerate(frames):
        ts = (1700000000 + i) * 1000000 + 123456 + i
        pad = bytes((4 - len(fr) % 4) % 4)
        opts = opt(1, b"packet from secret-tenant") + opt(2, struct.pack("<I", 1)) + opt(0, b"")
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr)) + fr + pad + opts)
    with open(path, "wb") as f:
        f.write(out)


def main():
    outdir, certpath = sys.argv[1], sys.argv[2]
    cert = open(certpath, "rb").read()
    frames = build(cert)
    write_pcap(os.path.join(outdir, "secrets.pcap"), frames)
    write_pcapng(os.path.join(outdir, "secrets.pcapng"), frames)
    print(json.dumps({
        "strings": [SNI.decode(), "secret-tenant", TOKEN.decode(), COOKIE.decode(), QTOKEN.decode(),
                    MAIL.decode(), "alice.secret", "Secret Tenant Org", "eth-secret", "SecretHW",
                    "secret-host", "10.20.30.40", "192.0.2.10", "CLIENT_RANDOM", "SESSIONID-",
                    "TICKET-"],
        "binary": [C4.hex(), S4.hex(), C6.hex(), S6.hex(), CMAC.hex(), SMAC.hex(), CRANDOM.hex(),
                   bytes(range(0x80, 0xA0)).hex()],
    }))


main()
