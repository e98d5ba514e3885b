#!/usr/bin/env python3
"""A capture that is nothing but ClientHellos, for timing what is done per
hello (bench/family_bench.sh): the distinct first ClientHellos of the given
captures (real clients, e.g. tests/families' recording and
../shared/pcaps), replayed round-robin as CONNECTIONS TCP connections over
Ethernet/IPv4: SYN, SYN-ACK, ACK, the hello in one segment, RST.

Usage: hello_flood.py OUT.pcap CONNECTIONS CAPTURE...
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz"))
from make_families_corpus import hellos  # noqa: E402


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    ph = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    out, n = sys.argv[1], int(sys.argv[2])
    bodies = []
    for path in sys.argv[3:]:
        bodies += list(hellos(path))
    if not bodies:
        print("hello_flood: no ClientHello in the captures", file=sys.stderr)
        return 1
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000_000_000
        srv = bytes([10, 0, 0, 1])
        for i in range(n):
            body = bodies[i % len(bodies)]
            rec = b"\x16\x03\x01" + struct.pack("!H", len(body) + 4) + b"\x01" + len(body).to_bytes(3, "big") + body
            cli = bytes([10, 1 + (i >> 16) % 200, (i >> 8) & 255, i & 255])
            sport = 1024 + i % 60000
            pkts = [frame(cli, srv, sport, 443, 1000, 0, 0x02),
                    frame(srv, cli, 443, sport, 5000, 1001, 0x12),
                    frame(cli, srv, sport, 443, 1001, 5001, 0x10),
                    frame(cli, srv, sport, 443, 1001, 5001, 0x18, rec),
                    frame(cli, srv, sport, 443, 1001 + len(rec), 5001, 0x04)]
            for p in pkts:
                t += 10
                f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(p), len(p)) + p)
    print(f"{n} connections, {len(bodies)} distinct hellos, {os.path.getsize(out)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
