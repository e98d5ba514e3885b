#!/usr/bin/env python3
"""Misbehaving and many clients of `pqtls observe --metrics-listen`, for
live.sh. Every socket has a timeout; every mode ends by itself.

  metrics_clients.py reset HOST PORT N
      N connections closed with a TCP RST (SO_LINGER 0): every third right
      after connecting, every third right after sending GET /metrics, every
      third after reading the first bytes of the answer. Exit 0 once done.
  metrics_clients.py slow HOST PORT SECONDS [INTERVAL]
      One connection that sends "GET /metrics ..." one byte every INTERVAL
      seconds (default 1) for at most SECONDS seconds; prints
      {"closed_after": s, "answer_bytes": n, "sent": n} where closed_after
      is when the server closed it (null if it did not).
  metrics_clients.py parallel HOST PORT N
      N connections opened together (a barrier), each GET /metrics read to
      the end; prints {"status": {code: count}, "bad": [...]} and exits 1
      unless every answer is a 200 whose body has the Content-Length it
      announced and is a Prometheus exposition of pqtls observe.
"""
import json
import socket
import struct
import sys
import threading
import time

REQUEST = b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nUser-Agent: live.sh\r\n\r\n"


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def reset(host, port, n):
    for i in range(n):
        s = socket.create_connection((host, port), timeout=5)
        if i % 3 >= 1:
            s.sendall(REQUEST)
        if i % 3 == 2:
            try:
                s.recv(16)
            except OSError:
                pass
        rst_close(s)
        time.sleep(0.02)
    return 0


def slow(host, port, seconds, interval=1.0):
    s = socket.create_connection((host, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.monotonic()
    closed_after, got, sent = None, 0, 0
    while closed_after is None and time.monotonic() - start < seconds:
        if sent < len(REQUEST):
            try:
                s.send(REQUEST[sent:sent + 1])
                sent += 1
            except OSError:
                closed_after = time.monotonic() - start
                break
        # The next byte goes INTERVAL seconds after this one.
        tick = start + sent * interval if sent < len(REQUEST) else start + seconds
        while closed_after is None and time.monotonic() < min(tick, start + seconds):
            s.settimeout(max(0.001, min(tick, start + seconds) - time.monotonic()))
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                closed_after = time.monotonic() - start
            got += len(data)
    s.close()
    print(json.dumps({"closed_after": closed_after, "answer_bytes": got, "sent": sent}))
    return 0


def one_scrape(host, port, barrier, out, idx):
    try:
        barrier.wait(timeout=20)
        s = socket.create_connection((host, port), timeout=15)
        s.sendall(REQUEST)
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
        head, sep, body = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        code = parts[1] if len(parts) > 1 else "?"
        length = None
        for h in lines[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        problem = None
        if not sep:
            problem = "no end of the response head"
        elif code == "200":
            if length != len(body):
                problem = f"Content-Length {length}, body {len(body)} bytes"
            elif b"\npqtls_observe_flows_active " not in body:
                problem = "body is not the observer's exposition"
        out[idx] = (code, problem)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        out[idx] = ("error", f"{type(e).__name__}: {e}")


def parallel(host, port, n):
    barrier = threading.Barrier(n)
    out = [None] * n
    threads = [threading.Thread(target=one_scrape, args=(host, port, barrier, out, i))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=40)
    status, bad = {}, []
    for i, r in enumerate(out):
        code, problem = r if r is not None else ("error", "did not finish in 40 s")
        status[code] = status.get(code, 0) + 1
        if code != "200" or problem:
            bad.append(f"#{i}: {code} {problem or ''}".strip())
    print(json.dumps({"status": status, "bad": bad[:20]}))
    return 0 if not bad else 1


def main():
    if len(sys.argv) not in (5, 6) or sys.argv[1] not in ("reset", "slow", "parallel") or (
            len(sys.argv) == 6 and sys.argv[1] != "slow"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if mode == "slow":
        return slow(host, port, n, float(sys.argv[5]) if len(sys.argv) == 6 else 1.0)
    return {"reset": reset, "parallel": parallel}[mode](host, port, n)


if __name__ == "__main__":
    sys.exit(main())
