#!/usr/bin/env python3
"""A middlebox that drops ClientHellos split across TCP segments.

split_relay.py UPSTREAM_PORT [--lifetime SECONDS]

Listens on a free port of 127.0.0.1, prints it on one line, and relays each
connection to 127.0.0.1:UPSTREAM_PORT, except a connection whose first TLS
record arrived in more than one TCP segment: that one is closed, the way a
middlebox that inspects the ClientHello per packet gives up on a hybrid
hello larger than one packet.

The segments are counted by the kernel (TCP_INFO tcpi_data_segs_in), not
guessed from how reads happened to fall: the relay Node.js ran before told
split hellos apart by its first read, and on a loaded machine both segments
were sometimes already queued when it read (store.suite failed that way).
"""
import socket
import struct
import sys
import threading
import time

# struct tcp_info (linux/tcp.h): tcpi_data_segs_in is the u32 at byte 152
# (after segs_out/segs_in at 136/140, notsent_bytes 144, min_rtt 148).
TCPI_DATA_SEGS_IN = 152


def data_segs_in(sock):
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    if len(info) < TCPI_DATA_SEGS_IN + 4:
        raise SystemExit("split_relay: TCP_INFO lacks tcpi_data_segs_in (Linux 4.6+)")
    return struct.unpack_from("I", info, TCPI_DATA_SEGS_IN)[0]


def pipe(src, dst):
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def handle(conn, upstream_port):
    conn.settimeout(10)
    buf = b""
    try:
        while len(buf) < 5 or len(buf) < 5 + int.from_bytes(buf[3:5], "big"):
            d = conn.recv(65536)
            if not d or buf == b"" and len(d) >= 5 and d[0] == 22 and \
                    len(d) < 5 + int.from_bytes(d[3:5], "big"):
                # the first segment does not hold the record: dropped there,
                # as a middlebox that inspects the first packet does
                conn.close()
                return
            buf += d
            if len(buf) >= 5 and buf[0] != 22:
                break  # not a handshake record: nothing to inspect
        if data_segs_in(conn) > 1:
            # both segments were queued before the read (a loaded machine)
            conn.close()  # the first record took more than one segment
            return
        up = socket.create_connection(("127.0.0.1", upstream_port), timeout=10)
    except OSError:
        conn.close()
        return
    conn.settimeout(None)
    up.settimeout(None)
    up.sendall(buf)
    threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
    pipe(conn, up)
    conn.close()
    up.close()


def main():
    if len(sys.argv) < 2:
        raise SystemExit("usage: split_relay.py UPSTREAM_PORT [--lifetime SECONDS]")
    upstream = int(sys.argv[1])
    lifetime = 600.0
    if len(sys.argv) == 4 and sys.argv[2] == "--lifetime":
        lifetime = float(sys.argv[3])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)
    deadline = time.monotonic() + lifetime
    ls.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn, upstream), daemon=True).start()


if __name__ == "__main__":
    main()
