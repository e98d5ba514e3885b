#!/usr/bin/env python3
"""Write the seed corpora of the fuzz_host_* targets (pqtls doctor's readers).

fuzz_host_lines: maps lines (libssl, pqtls.so, a path with spaces, a
deleted file, [heap]), /proc/net/tcp and tcp6 lines, environ blocks.
fuzz_host_cnf: configurations as pqtls' tests write them, Debian's
pitfall (an .include that swallows the next lines), include cycles, a
directory include, continuation lines and quotes.
fuzz_host_binary: version texts and a small ELF64 with a .go.buildinfo
section. Run once and commit the output:

    python3 tests/fuzz/make_host_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, body):
    out = os.path.join(HERE, "corpus", target)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, name), "wb") as f:
        f.write(body)


def lines():
    maps = [
        b"7f1c2a000000-7f1c2a05a000 r--p 00000000 08:01 1315 /usr/lib/x86_64-linux-gnu/libssl.so.3",
        b"7f1c2a200000-7f1c2a210000 r-xp 00004000 fd:00 99  /opt/pq tls/lib/pqtls.so (deleted)",
        b"55d0c0000000-55d0c0021000 rw-p 00000000 00:00 0                          [heap]",
        b"7ffd0000-7ffd1000 r-xp 00000000 00:00 0",
        b"7f00-7e00 r--p 0 0:0 1 /x",
    ]
    for i, m in enumerate(maps):
        write("fuzz_host_lines", "maps_%d" % i, b"\x00" + m)
    tcp = [
        b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
        b"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41234 1 0000000000000000 100 0 0 10 0",
        b"   1: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 5555 1",
        b"   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 0 1",
    ]
    for i, t in enumerate(tcp):
        write("fuzz_host_lines", "tcp_%d" % i, b"\x01" + t)
    env = [
        b"PATH=/usr/bin\x00OPENSSL_CONF=/etc/ssl/openssl-pqtls.cnf\x00LANG=C\x00",
        b"OPENSSL_CONF\x00OPENSSL_CONF=\x00A=B=C",
    ]
    for i, e in enumerate(env):
        write("fuzz_host_lines", "environ_%d" % i, b"\x02" + e)


PQ = b"""openssl_conf = openssl_init

[openssl_init]
providers = provider_sect

[provider_sect]
default = default_sect
pqtls = pqtls_sect

[default_sect]
activate = 1

[pqtls_sect]
module = /usr/lib/x86_64-linux-gnu/ossl-modules/pqtls.so
activate = 1
"""

GROUPS = b"""
[openssl_init]
ssl_conf = ssl_sect

[ssl_sect]
system_default = pqtls_groups

[pqtls_groups]
Groups = X25519MLKEM768:X25519:prime256v1
"""


def cnf():
    seeds = {
        "pqtls": [PQ],
        "groups": [PQ + GROUPS],
        "include": [b".include f1\n", PQ],
        "debian_pitfall": [b".include = f1\nHOME = .\nopenssl_conf = openssl_init\n[openssl_init]\n# providers = provider_sect\n", PQ],
        "cycle": [b".include f1\n", b".include f2\n", b".include f1\n[x]\na=b\n"],
        "self": [b".include top\nopenssl_conf = i\n[i]\nproviders = p\n"],
        "dir": [b".include d\n", PQ, b"[pqtls_sect]\nactivate = 0\n", b".include d\n"],
        "quotes": [b'openssl_conf = "in\\"it" # c\n[in"it]\nproviders = p\\\n_s\n[p_s]\npqtls = s\n[s]\nactivate = yes\n'],
        "broken": [b"[unterminated\n= novalue\n.include\n.pragma dollarid:on\n" + b"\\\n" * 10],
    }
    for name, parts in seeds.items():
        write("fuzz_host_cnf", name, b"\x00".join(parts))


def elf_go(version):
    """A minimal ELF64 LE: header, a .go.buildinfo section, names, headers."""
    names = b"\x00.shstrtab\x00.go.buildinfo\x00"
    info = b"\xff Go buildinf:" + bytes([8, 2]) + b"\x00" * 16
    info += bytes([len(version)]) + version + b"\x00"
    body = bytearray(64)
    info_off = len(body)
    body += info
    names_off = len(body)
    body += names
    while len(body) % 8:
        body += b"\x00"
    shoff = len(body)

    def sh(name, off, size, typ):
        return struct.pack("<IIQQQQIIQQ", name, typ, 0, 0, off, size, 0, 0, 1, 0)

    body += sh(0, 0, 0, 0)
    body += sh(1, names_off, len(names), 3)
    body += sh(11, info_off, len(info), 1)
    hdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\x00" * 8
    hdr += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, 64, 56, 0, 64, 3, 1)
    body[0:64] = hdr
    return bytes(body)


def binary():
    write("fuzz_host_binary", "openssl_text", b"\x00junk OpenSSL 3.0.19 27 Jan 2026\x00more")
    write("fuzz_host_binary", "openssl111", b"OpenSSL 1.1.1w  11 Sep 2023\x00")
    write("fuzz_host_binary", "libressl_boring", b"LibreSSL 3.8.2 \x00BoringSSL\x00")
    write("fuzz_host_binary", "go_elf", elf_go(b"go1.22.5"))
    write("fuzz_host_binary", "go_elf_new", elf_go(b"go1.24.1"))
    write("fuzz_host_binary", "go_header_only", b"\xff Go buildinf:\x08\x02" + b"\x00" * 16 + b"\x08go1.21.0")


if __name__ == "__main__":
    lines()
    cnf()
    binary()
