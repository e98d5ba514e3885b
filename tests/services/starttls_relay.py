#!/usr/bin/env python3
"""A broken middlebox in front of an SMTP server (tests/services).

usage: starttls_relay.py UPSTREAM_PORT [--lifetime SECONDS]

Listens on a free port of 127.0.0.1 and prints "PORT N" once it does. Every
connection is relayed to 127.0.0.1:UPSTREAM_PORT. While the dialogue is
plaintext SMTP the relay passes it through and watches it; once the client
has sent STARTTLS and the server has answered 220, the client's next read
is the ClientHello, and the relay drops the connection (both sides closed,
nothing forwarded) unless the first TLS record came in one TCP segment
(counted by the kernel: TCP_INFO tcpi_data_segs_in). That is
how broken inspecting middleboxes treat a ClientHello split across TCP
segments; what pqtls scan's split-* probes look for (flag
segmentation-intolerant). After the ClientHello the relay is a plain pipe.

Logs one line per connection on stderr ("dropped", "passed"). Exits after
the lifetime (default 170 s) even if nobody stops it.
"""
import os
import select
import socket
import struct
import sys
import threading


def log(msg):
    sys.stderr.write(f"starttls_relay: {msg}\n")
    sys.stderr.flush()


# struct tcp_info (linux/tcp.h): tcpi_data_segs_in is the u32 at byte 152.
TCPI_DATA_SEGS_IN = 152


def data_segs_in(sock):
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", info, TCPI_DATA_SEGS_IN)[0]


def relay(client, upstream_port, n):
    try:
        server = socket.create_connection(("127.0.0.1", upstream_port), timeout=10)
    except OSError as e:
        log(f"conn {n}: upstream: {e}")
        client.close()
        return
    server.settimeout(None)
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    said_starttls = False  # the client sent STARTTLS, no answer yet
    tls_next = False  # the server said 220 to it: the next read is TLS
    piping = False
    from_client = b""  # plaintext command bytes not yet seen as lines
    from_server = b""
    hello = b""  # the ClientHello record so far
    segs_at_220 = 0  # the client's data segments before its ClientHello
    try:
        while True:
            readable, _, _ = select.select([client, server], [], [], 60)
            if not readable:
                log(f"conn {n}: idle for 60 s, closed")
                return
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                if s is client:
                    if tls_next and not piping:
                        # RFC 8446 5.1: the record header is type(1)
                        # version(2) length(2); the ClientHello record must
                        # have come in one TCP segment, as the kernel counts
                        # them (a read can hold several segments when the
                        # relay is slow to read on a loaded machine).
                        hello += data
                        if len(hello) < 5 or len(hello) < 5 + int.from_bytes(hello[3:5], "big"):
                            if len(hello) == len(data):
                                # the first segment does not hold the record
                                log(f"conn {n}: dropped: the ClientHello record did not fit "
                                    f"its first segment ({len(data)} bytes)")
                                return
                            continue
                        segs = data_segs_in(client) - segs_at_220
                        if segs > 1:
                            log(f"conn {n}: dropped: the ClientHello record ({len(hello)} bytes) "
                                f"came in {segs} TCP segments")
                            return
                        log(f"conn {n}: passed: ClientHello in one segment ({len(hello)} bytes)")
                        piping = True
                        data = hello
                    elif not piping:
                        from_client += data
                        *lines, from_client = from_client.split(b"\n")
                        if any(line.strip().upper() == b"STARTTLS" for line in lines):
                            said_starttls = True
                    server.sendall(data)
                else:
                    if said_starttls and not tls_next:
                        from_server += data
                        *lines, from_server = from_server.split(b"\n")
                        for line in lines:
                            # The last line of a reply has a space after the code.
                            if line[3:4] == b" ":
                                tls_next = line.startswith(b"220")
                                said_starttls = False
                                segs_at_220 = data_segs_in(client)
                    client.sendall(data)
    except OSError as e:
        log(f"conn {n}: {e}")
    finally:
        client.close()
        server.close()


def main():
    args = sys.argv[1:]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    upstream = int(args[0])
    lifetime = 170.0
    if "--lifetime" in args:
        lifetime = float(args[args.index("--lifetime") + 1])
    def expire():
        log("lifetime over")
        os._exit(0)

    threading.Timer(lifetime, expire).start()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    print(f"PORT {lsock.getsockname()[1]}", flush=True)
    n = 0
    while True:
        client, _ = lsock.accept()
        n += 1
        threading.Thread(target=relay, args=(client, upstream, n), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
