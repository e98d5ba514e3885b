#!/usr/bin/env python3
"""Seed corpora for the `pqtls observe` fuzz targets, built from synthetic
handshakes (no captured traffic): a ClientHello with an X25519MLKEM768 key
share split over segments, a ServerHello selecting it, an HRR, an alert;
under flow pressure: eight flows with hellos whole in one segment, eight
with hybrid hellos spanning segments at once, a header claiming 16 MB; the
cleartext dialogues before TLS that name the application protocol (SMTP,
IMAP, POP3, FTP, LDAP, PostgreSQL, MySQL, XMPP), a banner met by a direct
ClientHello, and a HelloRetryRequest or bytes that are not TLS answered by
a reset.

usage: make_observe_corpus.py tests/fuzz/corpus
"""
import os
import struct
import sys

out = sys.argv[1]


def u16(v):
    return struct.pack(">H", v)


def vec(b, n):
    return len(b).to_bytes(n, "big") + b


def ext(t, body):
    return u16(t) + vec(body, 2)


def client_hello(group=0x11EC, share_len=1216, alpn=b"h2", sni=b"pq.example"):
    exts = ext(0, vec(b"\x00" + vec(sni, 2), 2))
    exts += ext(10, vec(u16(group) + u16(0x1D), 2))
    exts += ext(13, vec(u16(0x0403) + u16(0x0804), 2))
    exts += ext(16, vec(vec(alpn, 1), 2))
    exts += ext(43, vec(u16(0x0304) + u16(0x0303), 1))
    exts += ext(51, vec(u16(group) + vec(b"\x42" * share_len, 2), 2))
    body = u16(0x0303) + b"\x11" * 32 + vec(b"", 1) + vec(u16(0x1301) + u16(0xC02F), 2) + b"\x01\x00"
    body += vec(exts, 2)
    return b"\x01" + vec(body, 3)


def server_hello(group=0x11EC, share_len=1120, hrr=False):
    rnd = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C") if hrr else b"\x22" * 32
    ks = u16(group) if hrr else u16(group) + vec(b"\x33" * share_len, 2)
    exts = ext(43, u16(0x0304)) + ext(51, ks)
    body = u16(0x0303) + rnd + vec(b"", 1) + u16(0x1301) + b"\x00" + vec(exts, 2)
    return b"\x02" + vec(body, 3)


def record(ct, payload):
    return bytes([ct]) + u16(0x0303) + vec(payload, 2)


def script(segments):
    """fuzz_obs_stream format: flags, u16 offset, u8 length, bytes."""
    s = b""
    for flags, off, data in segments:
        for i in range(0, len(data), 255):
            chunk = data[i:i + 255]
            s += bytes([flags]) + u16((off + i) & 0xFFFF) + bytes([len(chunk)]) + chunk
    return s


def eth_ipv4_tcp(src, dst, sport, dport, seq, flags, payload):
    tcp = u16(sport) + u16(dport) + struct.pack(">II", seq, 0) + bytes([0x50, flags]) + u16(65535) + b"\x00" * 4
    ip = bytes([0x45, 0]) + u16(20 + len(tcp) + len(payload)) + b"\x00" * 4 + bytes([64, 6]) + b"\x00\x00" + src + dst
    return b"\x00" * 12 + u16(0x0800) + ip + tcp + payload


def pcap(frames):
    s = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(frames):
        s += struct.pack("<IIII", 1700000000 + i, 0, len(f), len(f)) + f
    return s


def script_flags(segments):
    """The same, but a step without data is written too (SYN, FIN, RST)."""
    return b"".join(script([(f, o, d)]) if d else bytes([f]) + u16(o & 0xFFFF) + b"\x00"
                    for f, o, d in segments)


def write(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


ch = record(22, client_hello())
sh = record(22, server_hello())
hrr = record(22, server_hello(group=0x17, hrr=True))
alert = record(21, b"\x02\x28")
app = record(23, b"\x00" * 16)

# fuzz_obs_stream: SYNs, hello split in order and out of order, answers.
write("fuzz_obs_stream", "pq-in-order", script([(2, 0, b""), (3, 0, b""), (0, 1, ch), (1, 1, sh), (0, 1 + len(ch), app)]))
write("fuzz_obs_stream", "pq-reversed", script([(2, 0, b""), (0, 1 + 255, ch[255:]), (0, 1, ch[:255]), (1, 1, sh)]))
write("fuzz_obs_stream", "hrr", script([(0, 0, record(22, client_hello(group=0x1D, share_len=32))), (1, 0, hrr)]))
write("fuzz_obs_stream", "alert-rst", script([(0, 0, ch), (1, 0, alert), (9, 100, b"")]))
write("fuzz_obs_stream", "preamble", script([(0, 0, b"CONNECT x:443 HTTP/1.1\r\n\r\n" + ch)]))

# Dialogues before TLS (appproto.c): (side, bytes) steps, side 1 = server,
# each side's offsets running on; then the hello and the ServerHello. No
# SYNs: the harness sets ACK on every step, so a SYN would read as a
# SYN-ACK and make the wrong side the client; the client is then the side
# whose stream holds the ClientHello.
def dialogue(steps):
    off, segs = [1, 1], []
    for side, data in steps + [(0, ch), (1, sh)]:
        segs.append((side, off[side], data))
        off[side] += len(data)
    return script_flags(segs)


ldap_start_tls = bytes([0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16]) + b"1.3.6.1.4.1.1466.20037"
mysql_greeting = b"\x4a\x00\x00\x00\x0a5.7.16\x00" + b"\x01" * 64
mysql_ssl = b"\x20\x00\x00\x01\x8f\xaa\x3a\x00\xff\xff\xff\x00\x21" + b"\x00" * 23
for name, steps in (
        ("smtp", [(1, b"220 mx ESMTP\r\n"), (0, b"EHLO x\r\n"), (1, b"250-mx\r\n250 STARTTLS\r\n"),
                  (0, b"STARTTLS\r\n"), (1, b"220 2.0.0 Ready\r\n")]),
        ("imap", [(1, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"), (0, b"a STARTTLS\r\n"),
                  (1, b"a OK Begin TLS\r\n")]),
        ("pop3", [(1, b"+OK ready\r\n"), (0, b"STLS\r\n"), (1, b"+OK Begin TLS\r\n")]),
        ("ftp", [(1, b"220 (vsFTPd 3.0.3)\r\n"), (0, b"AUTH TLS\r\n"), (1, b"234 Proceed\r\n")]),
        ("ldap", [(0, ldap_start_tls), (1, bytes([0x30, 0x0c, 2, 1, 1, 0x78, 7, 0x0a, 1, 0, 4, 0, 4, 0]))]),
        ("postgres", [(0, b"\x00\x00\x00\x08\x04\xd2\x16\x30"), (1, b"N"),
                      (0, b"\x00\x00\x00\x08\x04\xd2\x16\x2f"), (1, b"S")]),
        ("mysql", [(1, mysql_greeting), (0, mysql_ssl)]),
        ("xmpp", [(0, b"<?xml version='1.0'?><stream:stream to='x' xmlns='jabber:client'>"),
                  (1, b"<stream:stream from='x'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                      b"</stream:features>"),
                  (0, b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), (1, b"<proceed/>")])):
    write("fuzz_obs_stream", "dialogue-" + name, dialogue(steps))
# A direct ClientHello to a port that greeted in plaintext, then the reset;
# a HelloRetryRequest, then the reset; bytes that are not TLS, then the close.
write("fuzz_obs_stream", "banner-then-reset",
      script_flags([(1, 1, b"* OK ready\r\n"), (0, 1, ch), (8, 1 + len(ch), b"")]))
write("fuzz_obs_stream", "hrr-then-reset",
      script_flags([(0, 1, ch), (1, 1, hrr), (8, 1 + len(ch), b"")]))
write("fuzz_obs_stream", "not-tls-then-fin",
      script_flags([(0, 1, ch), (1, 1, b"GARBAGE 0123456789"), (5, 19, b"")]))

# Flow pressure (flags bits 4-6 pick one of 8 flows; script() writes no step
# for empty data, so these flows start mid-stream). Small hellos whole in
# one segment each (read in place), answered; ML-KEM-1024 hellos of 8 flows
# in 255-byte segments, round robin, so all are in flight at once (more
# than the tight run's memory holds); a ClientHello header claiming
# 16,777,215 bytes.
small_ch = record(22, client_hello(group=0x1D, share_len=32))
small_sh = record(22, server_hello(group=0x1D, share_len=32))
steps = []
for k in range(8):
    steps += [(k << 4, 1, small_ch), (1 | k << 4, 1, small_sh)]
write("fuzz_obs_stream", "whole-hellos-8-flows", script(steps))
big_ch = record(22, client_hello(group=0x0202, share_len=1568))  # MLKEM1024
steps = []
for i in range(0, len(big_ch), 255):
    steps += [(k << 4, 1 + i, big_ch[i:i + 255]) for k in range(8)]
write("fuzz_obs_stream", "split-hellos-8-flows", script(steps))
huge = bytes([22]) + u16(0x0301) + u16(2000) + b"\x01\xff\xff\xff" + u16(0x0303) + b"\x42" * 1994
write("fuzz_obs_stream", "huge-claim", script([(0, 1, huge)]))

# fuzz_obs_capture: whole pcaps.
c, s_ = b"\x0a\x00\x00\x01", b"\xc0\x00\x02\x07"
frames = [eth_ipv4_tcp(c, s_, 40000, 443, 100, 0x02, b""), eth_ipv4_tcp(s_, c, 443, 40000, 900, 0x12, b"")]
frames += [eth_ipv4_tcp(c, s_, 40000, 443, 101, 0x18, ch[:1200]), eth_ipv4_tcp(c, s_, 40000, 443, 101 + 1200, 0x18, ch[1200:])]
frames += [eth_ipv4_tcp(s_, c, 443, 40000, 901, 0x18, sh), eth_ipv4_tcp(c, s_, 40000, 443, 101 + len(ch), 0x18, app)]
write("fuzz_obs_capture", "pq-split", pcap(frames))
write("fuzz_obs_capture", "reset-after-ch", pcap(frames[:4] + [eth_ipv4_tcp(s_, c, 443, 40000, 901, 0x04, b"")]))
write("fuzz_obs_capture", "truncated", pcap(frames)[:900])
whole = frames[:2] + [eth_ipv4_tcp(c, s_, 40000, 443, 101, 0x18, ch), eth_ipv4_tcp(s_, c, 443, 40000, 901, 0x18, sh)]
write("fuzz_obs_capture", "pq-whole", pcap(whole))
write("fuzz_obs_capture", "huge-claim", pcap(frames[:2] + [eth_ipv4_tcp(c, s_, 40000, 443, 101, 0x18, huge)]))

# fuzz_obs_decode: a frame per link type, and a bare ClientHello body.
f = frames[2]
write("fuzz_obs_decode", "ethernet", b"\x01" + f)
write("fuzz_obs_decode", "raw", b"\x02" + f[14:])
write("fuzz_obs_decode", "null", b"\x00" + b"\x02\x00\x00\x00" + f[14:])
write("fuzz_obs_decode", "sll2", b"\x07" + u16(0x0800) + b"\x00" * 18 + f[14:])
write("fuzz_obs_decode", "client-hello", b"\x01" + client_hello()[4:])
