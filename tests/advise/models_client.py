#!/usr/bin/env python3
"""Send handcrafted TLS 1.3 ClientHellos to real servers and read their
first answer: the client side of advise.models (models.sh).

Usage: models_client.py PQTLS HOST PORT TAG [PORT TAG ...]

For every server port and every hello of HELLOS, one connection: the
ClientHello (SNI "<hello>.<TAG>.test", the listed groups in order, key
shares in order), then the server's first records are read until a
ServerHello, a HelloRetryRequest or an alert, and the connection is
closed. Shares are real public values: an ML-KEM-768 encapsulation key
from `pqtls kem keygen` for X25519MLKEM768, random X25519 values, EC points
from `openssl ecparam`. Prints one JSON line per connection: tag, sni,
answer ("serverhello", "hrr", "alert", "closed"), group (name or null).
"""
import json
import os
import socket
import struct
import subprocess
import sys
import time

GROUPS = {"X25519MLKEM768": 0x11EC, "x25519": 0x001D, "secp256r1": 0x0017,
          "secp384r1": 0x0018, "secp521r1": 0x0019}
NAMES = {v: k for k, v in GROUPS.items()}
CURVES = {"secp256r1": "prime256v1", "secp384r1": "secp384r1", "secp521r1": "secp521r1"}

# (name, supported_groups in order, key shares in order)
HELLOS = [
    ("chrome", ["X25519MLKEM768", "x25519"], ["X25519MLKEM768", "x25519"]),
    ("x25519first", ["x25519", "X25519MLKEM768"], ["x25519", "X25519MLKEM768"]),
    ("listsonly", ["X25519MLKEM768", "x25519"], ["x25519"]),
    ("classical", ["x25519", "secp256r1"], ["x25519"]),
    ("p384share", ["secp384r1", "X25519MLKEM768", "x25519"], ["secp384r1"]),
    ("p384classical", ["secp384r1", "x25519"], ["secp384r1"]),
    ("p521only", ["secp521r1"], ["secp521r1"]),
    ("p256first", ["secp256r1", "X25519MLKEM768"], ["secp256r1", "X25519MLKEM768"]),
]


def share(pqtls, name):
    if name == "x25519":
        return os.urandom(31) + b"\x01"
    if name == "X25519MLKEM768":
        out = subprocess.run([pqtls, "kem", "keygen", "--alg", "ML-KEM-768"], check=True,
                             capture_output=True, text=True).stdout
        ek = next(line[3:] for line in out.splitlines() if line.startswith("ek="))
        return bytes.fromhex(ek) + os.urandom(31) + b"\x01"  # RFC: ML-KEM first
    key = subprocess.run(["openssl", "ecparam", "-name", CURVES[name], "-genkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "ec", "-pubout", "-outform", "DER"], input=key,
                         check=True, capture_output=True).stdout
    size = {"secp256r1": 65, "secp384r1": 97, "secp521r1": 133}[name]
    return der[-size:]


def client_hello(sni, groups, shares):
    def ext(t, body):
        return struct.pack(">HH", t, len(body)) + body
    name = sni.encode()
    exts = ext(0, struct.pack(">HBH", len(name) + 3, 0, len(name)) + name)
    g = b"".join(struct.pack(">H", GROUPS[x]) for x in groups)
    exts += ext(10, struct.pack(">H", len(g)) + g)
    sig = struct.pack(">HHHHH", 8, 0x0403, 0x0804, 0x0805, 0x0503)
    exts += ext(13, sig)
    exts += ext(43, b"\x02\x03\x04")
    exts += ext(45, b"\x01\x01")  # psk_key_exchange_modes: psk_dhe_ke
    ks = b"".join(struct.pack(">HH", GROUPS[x], len(v)) + v for x, v in shares)
    exts += ext(51, struct.pack(">H", len(ks)) + ks)
    suites = struct.pack(">HHHH", 6, 0x1301, 0x1302, 0x1303)
    body = struct.pack(">H", 0x0303) + os.urandom(32) + b"\x20" + os.urandom(32) + suites
    body += b"\x01\x00" + struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


def answer(sock):
    """The server's first answer: (kind, group name or None)."""
    buf = b""
    sock.settimeout(10)
    while True:
        while len(buf) >= 5:
            ctype, _, length = struct.unpack(">BHH", buf[:5])
            if len(buf) < 5 + length:
                break
            rec, buf = buf[5:5 + length], buf[5 + length:]
            if ctype == 21:
                return "alert", None
            if ctype == 22 and rec[0] == 2:
                random = rec[6:38]
                p = 38
                p += 1 + rec[p]  # session id
                p += 3  # cipher suite, compression
                end = p + 2 + struct.unpack(">H", rec[p:p + 2])[0]
                p += 2
                group = None
                while p < end:
                    t, n = struct.unpack(">HH", rec[p:p + 4])
                    if t == 51:
                        group = struct.unpack(">H", rec[p + 4:p + 6])[0]
                    p += 4 + n
                kind = "hrr" if random == HRR_RANDOM else "serverhello"
                return kind, NAMES.get(group, hex(group) if group else None)
        try:
            data = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return "closed", None
        if not data:
            return "closed", None
        buf += data


def main():
    pqtls, host = sys.argv[1], sys.argv[2]
    pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
    cache = {}
    for port, tag in pairs:
        for name, groups, shares in HELLOS:
            ks = []
            for g in shares:
                if g not in cache:
                    cache[g] = share(pqtls, g)
                ks.append((g, cache[g]))
            sni = f"{name}.{tag}.test"
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(client_hello(sni, groups, ks))
                kind, group = answer(s)
            print(json.dumps({"tag": tag, "sni": sni, "answer": kind, "group": group}),
                  flush=True)
            time.sleep(0.02)  # tcpdump on a busy machine drops bursts


main()
