#!/usr/bin/env python3
"""SMTP STARTTLS, then one ClientHello, whole or split in two TCP segments.

usage: smtp_split_hello.py PORT [--split N] [--gap MS]

Speaks SMTP to 127.0.0.1:PORT (banner, EHLO, STARTTLS, 220), then sends a
ClientHello made by Python's ssl module (Debian's OpenSSL 3.0, classical
groups): in one write, or with --split N as its first N bytes and the rest
MS milliseconds later (default 200) with TCP_NODELAY, so that they leave as
two segments. Prints what came back first: "server_hello", "alert",
"closed" (orderly close, nothing received), "reset" or "timeout"; exit 0
for any of them, 1 when the SMTP dialogue itself failed. The
split-ClientHello smoke check of the SMTP middlebox (starttls_relay.py),
and what pqtls scan's split-* probes do over STARTTLS.
"""
import socket
import ssl
import sys
import time


def reply(f):
    """Read one SMTP reply (RFC 5321 4.2: last line has a space after the code)."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed during the SMTP dialogue")
        lines.append(line)
        if line[3:4] == b" ":
            return lines


def client_hello():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def main():
    args = sys.argv[1:]
    port = int(args[0])
    split = int(args[args.index("--split") + 1]) if "--split" in args else 0
    gap = int(args[args.index("--gap") + 1]) if "--gap" in args else 200
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    try:
        if not reply(f)[0].startswith(b"220"):
            print("no 220 banner")
            return 1
        s.sendall(b"EHLO split.pqtls.test\r\n")
        if not any(b"STARTTLS" in line.upper() for line in reply(f)):
            print("STARTTLS not offered")
            return 1
        s.sendall(b"STARTTLS\r\n")
        if not reply(f)[0].startswith(b"220"):
            print("STARTTLS refused")
            return 1
    except (EOFError, OSError) as e:
        print(f"SMTP dialogue failed: {e}")
        return 1
    hello = client_hello()
    if split:
        s.sendall(hello[:split])
        time.sleep(gap / 1000)
        s.sendall(hello[split:])
    else:
        s.sendall(hello)
    try:
        first = s.recv(5)
    except socket.timeout:
        print("timeout")
        return 0
    except ConnectionResetError:
        print("reset")
        return 0
    if not first:
        print("closed")
    elif first[0] == 22:
        print("server_hello")
    elif first[0] == 21:
        print("alert")
    else:
        print(f"unexpected byte {first[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
