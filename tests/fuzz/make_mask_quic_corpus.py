#!/usr/bin/env python3
"""Seeds for fuzz_mask's QUIC path (src/mask/capture.c, "QUIC"):
make_mask_quic_corpus.py OUT_DIR

Writes pcap captures (with fuzz_mask's selector byte in front) of QUIC
connections whose Initial packets are sealed for real (RFC 9001 §5: keys
from the client's first Destination Connection ID; RFC 9369 for v2), so
the masker opens them and reaches the CRYPTO reassembly, the TLS masking,
re-sealing, Retry integrity tags, Version Negotiation and short headers:

- v1-retry: a ClientHello split over two Initials sent out of order, a
  Retry (tag computed per RFC 9001 §5.8), the ClientHello again with the
  token under the new keys, the server's Initial (ServerHello, ACK)
  coalesced with a Handshake packet, then 1-RTT packets both ways;
- v2-vn: a QUIC v2 Initial answered by Version Negotiation;
- the same with the small hold bound (selector bit 5: the CRYPTO budget
  cannot hold the hello, so its packets are zeroed).
Needs python3-cryptography (only to regenerate the seeds).
"""
import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

V1, V2 = 1, 0x6B3343CF
SALT = {V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
        V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")}
LABEL = {V1: b"quic ", V2: b"quicv2 "}
RETRY = {V1: (bytes.fromhex("be0c690b9f66575a1d766b54e368c84e"), bytes.fromhex("461599d35d632bf2239825bb")),
         V2: (bytes.fromhex("8fb4b01b56ac48e260fbcbcead7ccc92"), bytes.fromhex("d86969bc2d7c6d9990efb04a"))}
TYPE = {V1: {"initial": 0, "handshake": 2, "retry": 3}, V2: {"initial": 1, "handshake": 3, "retry": 0}}


def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def expand_label(secret, label, n):
    full = b"tls13 " + label
    info = struct.pack(">HB", n, len(full)) + full + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(secret, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def keys(version, dcid):
    init = hkdf_extract(SALT[version], dcid)
    res = []
    for side in (b"client in", b"server in"):
        s = expand_label(init, side, 32)
        lab = LABEL[version]
        res.append((expand_label(s, lab + b"key", 16), expand_label(s, lab + b"iv", 12),
                    expand_label(s, lab + b"hp", 16)))
    return res


def varint(v):
    if v < 64:
        return bytes([v])
    if v < 16384:
        return struct.pack(">H", 0x4000 | v)
    return struct.pack(">I", 0x80000000 | v)


def long_hdr(version, kind, dcid, scid):
    return (bytes([0xC0 | TYPE[version][kind] << 4 | 1]) + struct.pack(">I", version) +
            bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid)


def seal(version, k, kind, dcid, scid, pn, payload, token=None):
    key, iv, hp = k
    hdr = long_hdr(version, kind, dcid, scid)
    if kind == "initial":
        hdr += varint(len(token or b"")) + (token or b"")
    if len(payload) < 20:
        payload += bytes(20 - len(payload))
    hdr += struct.pack(">H", 0x4000 | (2 + len(payload) + 16)) + struct.pack(">H", pn)
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big")))
    ct = AESGCM(key).encrypt(nonce, payload, hdr)
    pn_off = len(hdr) - 2
    sample = ct[4 - 2:4 - 2 + 16]
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    b = bytearray(hdr + ct)
    b[0] ^= mask[0] & 0x0F
    b[pn_off] ^= mask[1]
    b[pn_off + 1] ^= mask[2]
    return bytes(b)


def crypto(off, data):
    return b"\x06" + varint(off) + varint(len(data)) + data


def ext(t, body):
    return struct.pack(">HH", t, len(body)) + body


def client_hello(sni, scid):
    name = sni.encode()
    tp = b"\x0f" + varint(len(scid)) + scid + b"\x01\x04\x80\x00\x75\x30" + b"\x04\x04\x80\xf0\x00\x00"
    exts = (ext(0, struct.pack(">HBH", len(name) + 3, 0, len(name)) + name) +
            ext(10, b"\x00\x06\x11\xec\x00\x1d\x00\x17") +
            ext(13, b"\x00\x04\x04\x03\x08\x04") + ext(16, b"\x00\x03\x02h3") +
            ext(43, b"\x02\x03\x04") + ext(45, b"\x01\x01") +
            ext(51, struct.pack(">H", 4 + 1216 + 4 + 32) + b"\x11\xec\x04\xc0" + bytes(range(256)) * 4 +
                bytes(192) + b"\x00\x1d\x00\x20" + bytes(range(32))) + ext(57, tp))
    body = (b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x06\x13\x01\x13\x02\x13\x03" + b"\x01\x00" +
            struct.pack(">H", len(exts)) + exts)
    return b"\x01" + struct.pack(">I", len(body))[1:] + body


def server_hello():
    exts = ext(43, b"\x03\x04") + ext(51, b"\x00\x1d\x00\x20" + bytes(range(32, 64)))
    body = b"\x03\x03" + bytes(range(64, 96)) + b"\x00" + b"\x13\x01" + b"\x00" + struct.pack(">H", len(exts)) + exts
    return b"\x02" + struct.pack(">I", len(body))[1:] + body


def udp_frame(src, dst, sport, dport, payload):
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, bytes(src), bytes(dst))
    s = sum(struct.unpack(">10H", ip))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    ip = ip[:10] + struct.pack(">H", ~s & 0xFFFF) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + udp


def pcap(frames):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(f), len(f)) + f
    return out


def pad(dgram):
    return dgram + bytes(max(0, 1200 - len(dgram)))


def v1_retry():
    C, S = [10, 9, 8, 7], [192, 0, 2, 44]
    dcid, ccid, rcid, scid = bytes.fromhex("8394c8f03e515708"), bytes.fromhex("c1c2c3c4"), \
        bytes.fromhex("a0a1a2a3a4a5a6a7"), bytes.fromhex("f067a5502a4262b5")
    ch = client_hello("seed-quic.example.net", ccid)
    cut = 900
    kc, _ = keys(V1, dcid)
    fr = []
    up = lambda p: fr.append(udp_frame(C, S, 50000, 443, p))
    down = lambda p: fr.append(udp_frame(S, C, 443, 50000, p))
    # the second half first (out of order), then the first half
    up(pad(seal(V1, kc, "initial", dcid, ccid, 1, crypto(cut, ch[cut:]) + b"\x01")))
    up(pad(seal(V1, kc, "initial", dcid, ccid, 0, crypto(0, ch[:cut]))))
    token = b"retry-token-for-10.9.8.7-" + bytes(range(16))
    retry = long_hdr(V1, "retry", ccid, rcid) + token
    rk, rn = RETRY[V1]
    tag = AESGCM(rk).encrypt(rn, b"", bytes([len(dcid)]) + dcid + retry)
    down(retry + tag)
    kc, ks = keys(V1, rcid)
    up(pad(seal(V1, kc, "initial", rcid, ccid, 2, crypto(0, ch[:cut]), token)))
    up(pad(seal(V1, kc, "initial", rcid, ccid, 3, crypto(cut, ch[cut:]), token)))
    sh = server_hello()
    ack = b"\x02\x03\x00\x00\x00"
    hs = long_hdr(V1, "handshake", ccid, scid) + struct.pack(">H", 0x4000 | 60) + bytes(range(60))
    down(seal(V1, ks, "initial", ccid, scid, 0, ack + crypto(0, sh)) + hs)
    up(long_hdr(V1, "handshake", scid, ccid) + struct.pack(">H", 0x4000 | 40) + bytes(range(40)))
    up(bytes([0x41]) + scid + bytes(range(50)))
    down(bytes([0x41]) + ccid + bytes(range(50)))
    down(bytes([0x41]) + bytes(range(30)))  # a CID not known
    return pcap(fr)


def v2_vn():
    C, S = [10, 9, 8, 6], [192, 0, 2, 45]
    dcid, ccid = bytes.fromhex("0001020304050607"), bytes.fromhex("d1d2d3d4d5")
    kc, _ = keys(V2, dcid)
    ch = client_hello("v2-seed.example.org", ccid)
    fr = [udp_frame(C, S, 50001, 443, pad(seal(V2, kc, "initial", dcid, ccid, 0, crypto(0, ch))))]
    vn = bytes([0x80]) + b"\x00\x00\x00\x00" + bytes([len(ccid)]) + ccid + bytes([len(dcid)]) + dcid + \
        b"\x00\x00\x00\x01\x1a\x2a\x3a\x4a"
    fr.append(udp_frame(S, C, 443, 50001, vn))
    return pcap(fr)


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in (("quic-v1-retry", v1_retry()), ("quic-v2-vn", v2_vn())):
    open(os.path.join(out, name), "wb").write(b"\x00" + data)
    if name == "quic-v1-retry":
        open(os.path.join(out, name + "-small-hold"), "wb").write(b"\x20" + data)
