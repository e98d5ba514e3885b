#!/usr/bin/env python3
"""Seeds for fuzz_obs_families: a rules text, a 0x00 byte, a ClientHello
body. The hellos are the first ClientHello of every TCP connection in a
capture of real clients (e.g. tests/families/record.sh's, kept with
PQT_FAMILIES_KEEP=DIR), one seed per distinct hello shape; the rules texts
are the built-in families.rules, a file in the original 'JA4 FAMILY'
format, and one rule of each condition kind.

Usage: make_families_corpus.py CAPTURE.pcap OUT_DIR
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = open(os.path.join(HERE, "..", "..", "src", "observe", "families.rules"), "rb").read()
TEXTS = [
    RULES,
    b"t13d1516h2_8daaf6152771_* Test Chromium\nt13d3112h2_e8f1e7e78f70_b26ce05bbdd6 curl\n",
    b"rule rustls A\n    grease no\n    ciphers-start 1302\n    ext-order 000a 000b\n"
    b"    groups-any 11ec 001d\n    shares-count-max 2\n    sigalgs-lacks 0201\n"
    b"    versions-has 0304\n    compress-exact\n    psk-exact 01\n    record-size-limit any\n",
    b"ja4 t13d1517h2_8daaf6152771_cb7bf5808d99 boringssl Pinned\nrule nss\n",
]


def hellos(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off, seen = 24, set()
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:
            if frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
        elif linktype == 113:
            ip = frame[16:]
        else:
            ip = frame[4:] if linktype == 0 else frame
        if not ip or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        tcp = ip[(ip[0] & 15) * 4:]
        payload = tcp[(tcp[12] >> 4) * 4:]
        if len(payload) < 9 or payload[0] != 0x16 or payload[5] != 1:
            continue
        n = int.from_bytes(payload[6:9], "big")
        body = payload[9:9 + n]
        if len(body) == n:
            key = hashlib.sha256(body[:2] + body[35:]).hexdigest()
            if key not in seen:
                seen.add(key)
                yield body


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    bodies = list(hellos(sys.argv[1]))
    for i, body in enumerate(bodies):
        seed = TEXTS[i % len(TEXTS)] + b"\0" + body
        name = hashlib.sha1(seed).hexdigest()[:16]
        open(os.path.join(out, name), "wb").write(seed)
    for t in TEXTS:
        open(os.path.join(out, hashlib.sha1(t).hexdigest()[:16]), "wb").write(t)
    print(f"{len(bodies)} hellos, {len(bodies) + len(TEXTS)} seeds in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
