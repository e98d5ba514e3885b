#!/usr/bin/env python3
"""`pqtls bench tls` end to end: sizes, segments and HRR against real servers.

Modes:
  local     the in-process libssl server (no TARGET)
  s_server  Debian's `openssl s_server` with pqtls.so loaded through an
            openssl.cnf, on a port the kernel picks (Ed25519 certificate,
            so that the server's flight has one size)

What is asserted, for every entry against the X25519 one of the same run,
from the key share sizes (ML-KEM's from keys `pqtls kem` makes, the
elliptic-curve ones from RFC 7748 / RFC 8446 §4.2.8.2) and the structure of
the hellos, never from totals written down here:
  - client_key_share_bytes / server_key_share_bytes (read from the wire by
    bench tls) are the group's client and server shares;
  - the ServerHello grows by exactly the server share's growth;
  - the ClientHello by the client share's growth, plus 2 bytes for every
    further group in supported_groups, minus the 8-byte ec_point_formats
    extension that OpenSSL 3.0 sends only when a classical EC group is
    offered;
  - bytes sent grow as the ClientHello; bytes received as the ServerHello,
    plus the supported_groups extension (RFC 8446 §4.2.7) the server puts
    in EncryptedExtensions when the negotiated group is not its first;
  - with --mss 500 the kernel's segment count for the ClientHello is
    ceil((ClientHello + 5-byte record header) / MSS);
  - hrr is false, or true when the server wants the group of which the
    client sent no share, and the retried ClientHello carries the new share;
  - every JSON line parses; the table names every entry and the difference.
No timing is asserted.

Usage: test_bench_tls.py PQTLS_BIN PQTLS_SO WORK_DIR local|s_server
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

PQTLS, PQTLS_SO, WORK, MODE = sys.argv[1:5]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAILS = []

FIELDS = ["group", "client_hello_bytes", "server_hello_bytes", "bytes_sent", "bytes_received",
          "client_hello_segments", "latency_ms_p50", "latency_ms_p90", "latency_ms_p99",
          "client_cpu_us", "hrr"]
DELTAS = ["client_hello_bytes_delta", "server_hello_bytes_delta", "bytes_sent_delta",
          "bytes_received_delta", "client_hello_segments_delta", "latency_ms_p50_delta",
          "latency_ms_p90_delta", "latency_ms_p99_delta", "client_cpu_us_delta"]


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        FAILS.append(what)


def kem_sizes():
    """ML-KEM-768's encapsulation key and ciphertext, from real ones."""
    out = subprocess.run([PQTLS, "kem", "keygen", "--alg", "ML-KEM-768"], check=True,
                         capture_output=True, text=True).stdout
    ek = re.search(r"^ek=([0-9a-f]+)$", out, re.M).group(1)
    out = subprocess.run([PQTLS, "kem", "encaps", "--alg", "ML-KEM-768", "--ek", ek],
                         check=True, capture_output=True, text=True).stdout
    ct = re.search(r"^ct=([0-9a-f]+)$", out, re.M).group(1)
    return len(ek) // 2, len(ct) // 2


EK, CT = kem_sizes()
X25519 = 32  # RFC 7748 §6.1
P256 = 65  # RFC 8446 §4.2.8.2: uncompressed point, 1 + 2 * 32
# (client share, server share) per group; RFC 10024: the hybrids
# concatenate the two parts.
SHARES = {
    "x25519": (X25519, X25519),
    "x25519mlkem768": (EK + X25519, CT + X25519),
    "secp256r1mlkem768": (P256 + EK, P256 + CT),
    "mlkem768": (EK, CT),
}
# Groups for which OpenSSL 3.0 counts a ClientHello as using ECC and sends
# ec_point_formats (type 2 + length 2 + list length 1 + three formats).
CLASSICAL_EC = {"x25519", "x448", "secp256r1", "p-256", "secp384r1", "p-384"}
EC_POINT_FORMATS = 2 + 2 + 1 + 3


def run(args, want_rc=0):
    p = subprocess.run([PQTLS, "bench", "tls"] + args, capture_output=True, text=True,
                       timeout=120)
    if p.returncode != want_rc:
        print(p.stdout + p.stderr)
    check(p.returncode == want_rc, "bench tls %s: exit %d (want %d)" %
          (" ".join(args), p.returncode, want_rc))
    return p


def jsonl(args):
    p = run(args + ["--format", "jsonl"])
    rows = {}
    for line in p.stdout.splitlines():
        try:
            r = json.loads(line)
        except ValueError as e:
            check(False, "JSON line parses: %s: %r" % (e, line))
            continue
        missing = [k for k in FIELDS + DELTAS + ["negotiated_group", "client_key_share_bytes",
                                                 "server_key_share_bytes", "mss", "baseline"]
                   if k not in r]
        check(not missing, "%s: every field present (missing %s)" % (r.get("group"), missing))
        check(isinstance(r.get("hrr"), bool), "%s: hrr is a boolean" % r.get("group"))
        rows[r["group"]] = r
    check(len(rows) == len(p.stdout.splitlines()), "one JSON line per entry")
    return rows


def ee_groups(negotiated, server_groups):
    """Bytes of supported_groups in EncryptedExtensions: sent (OpenSSL) when
    the negotiated group is not the server's first."""
    if negotiated.lower() == server_groups[0].lower():
        return 0
    return 2 + 2 + 2 + 2 * len(server_groups)


def check_sizes(rows, entries, server_groups, mss):
    base = rows.get("X25519")
    check(base is not None and base["baseline"] == "X25519", "X25519 is the baseline")
    if base is None:
        return
    for entry in entries:
        r = rows.get(entry)
        check(r is not None and "error" not in r, "%s: measured (%s)" %
              (entry, r and r.get("error")))
        if r is None or "error" in r:
            continue
        groups = [g.lower() for g in entry.split(":")]
        first = groups[0]
        neg = r["negotiated_group"].lower()
        check(neg == first, "%s: negotiated %s" % (entry, r["negotiated_group"]))
        check(r["hrr"] is False and r["hrr_handshakes"] == 0, "%s: no HRR" % entry)
        cs, ss = SHARES[first]
        check(r["client_key_share_bytes"] == cs,
              "%s: client key share %d bytes (want %d)" % (entry, r["client_key_share_bytes"], cs))
        check(r["server_key_share_bytes"] == ss,
              "%s: server key share %d bytes (want %d)" % (entry, r["server_key_share_bytes"], ss))
        want_sh = ss - X25519
        check(r["server_hello_bytes_delta"] == want_sh and
              r["server_hello_bytes"] - base["server_hello_bytes"] == want_sh,
              "%s: ServerHello %+d bytes against X25519 (want %+d)" %
              (entry, r["server_hello_bytes_delta"], want_sh))
        ec = any(g in CLASSICAL_EC for g in groups)
        want_ch = cs - X25519 + 2 * (len(groups) - 1) - (0 if ec else EC_POINT_FORMATS)
        check(r["client_hello_bytes_delta"] == want_ch and
              r["client_hello_bytes"] - base["client_hello_bytes"] == want_ch,
              "%s: ClientHello %+d bytes against X25519 (want %+d)" %
              (entry, r["client_hello_bytes_delta"], want_ch))
        check(r["bytes_sent_delta"] == want_ch,
              "%s: bytes sent %+d (want %+d, the ClientHello's)" %
              (entry, r["bytes_sent_delta"], want_ch))
        want_rx = want_sh + ee_groups(neg, server_groups) - ee_groups("x25519", server_groups)
        check(r["bytes_received_delta"] == want_rx,
              "%s: bytes received %+d (want %+d)" % (entry, r["bytes_received_delta"], want_rx))
        check(0 < r["mss"] <= mss, "%s: MSS %d is at most the --mss %d" % (entry, r["mss"], mss))
        want_segs = math.ceil((r["client_hello_bytes"] + 5) / r["mss"])
        check(r["client_hello_segments"] == want_segs,
              "%s: ClientHello of %d bytes in %d segments of %d (want %d)" %
              (entry, r["client_hello_bytes"], r["client_hello_segments"], r["mss"], want_segs))
        for k in ("latency_ms_p50", "latency_ms_p90", "latency_ms_p99", "client_cpu_us"):
            check(r[k] > 0, "%s: %s is positive" % (entry, k))
        check(r["latency_ms_p50"] <= r["latency_ms_p90"] <= r["latency_ms_p99"],
              "%s: p50 <= p90 <= p99" % entry)


def check_hrr(rows, hybrid, retry_entry, n):
    """hybrid: a single-group entry; retry_entry: 'X25519:<hybrid>' against
    a server that takes only the hybrid."""
    a, b = rows.get(hybrid), rows.get(retry_entry)
    check(a is not None and b is not None and "error" not in a and "error" not in b,
          "HRR run measured both entries")
    if a is None or b is None or "error" in a or "error" in b:
        return
    check(a["hrr"] is False and a["retry_client_hello_bytes"] == 0,
          "%s: no HRR when the key share fits" % hybrid)
    check(b["hrr"] is True and b["hrr_handshakes"] == n,
          "%s: HRR in all %d handshakes (%d)" % (retry_entry, n, b["hrr_handshakes"]))
    check(b["negotiated_group"].lower() == hybrid.lower(),
          "%s: negotiated %s after the HRR" % (retry_entry, b["negotiated_group"]))
    check(b["client_key_share_bytes"] == X25519,
          "%s: first ClientHello carries the X25519 share only" % retry_entry)
    cs, ss = SHARES[hybrid.lower()]
    want = b["client_hello_bytes"] - X25519 + cs
    check(b["retry_client_hello_bytes"] == want,
          "%s: retried ClientHello %d bytes (want %d: the X25519 share replaced by %d bytes)" %
          (retry_entry, b["retry_client_hello_bytes"], want, cs))
    check(b["hello_retry_request_bytes"] > 0, "%s: HelloRetryRequest seen" % retry_entry)
    check(b["server_key_share_bytes"] == ss and
          b["server_hello_bytes"] == a["server_hello_bytes"],
          "%s: the ServerHello after the HRR is the hybrid one" % retry_entry)
    # One more ClientHello record; the retried one differs from the plain
    # hybrid one only by its supported_groups and ec_point_formats.
    want_sent = (b["client_hello_bytes"] + 5 + b["retry_client_hello_bytes"] -
                 a["client_hello_bytes"])
    check(b["bytes_sent"] - a["bytes_sent"] == want_sent,
          "%s: %+d bytes sent against %s (want %+d)" %
          (retry_entry, b["bytes_sent"] - a["bytes_sent"], hybrid, want_sent))


def check_table(args, entries):
    p = run(args)
    for e in entries:
        check(re.search(r"^%s\s" % re.escape(e), p.stdout, re.M) is not None,
              "table has a row for %s" % e)
    check("difference to X25519 (same run):" in p.stdout, "table has the difference to X25519")


def local():
    n = 4
    entries = ["X25519", "X25519MLKEM768", "SecP256r1MLKEM768", "MLKEM768",
               "X25519MLKEM768:X25519"]
    server = ["X25519MLKEM768", "SecP256r1MLKEM768", "MLKEM768", "X25519"]
    rows = jsonl(["--groups", ",".join(entries), "--server-groups", ":".join(server),
                  "--handshakes", str(n), "--mss", "500"])
    check_sizes(rows, entries, server, 500)
    # The default server list puts the ML-KEM groups first.
    rows = jsonl(["--groups", "X25519,X25519MLKEM768", "--handshakes", str(n), "--mss", "500"])
    check_sizes(rows, ["X25519", "X25519MLKEM768"], ["X25519MLKEM768", "X25519"], 500)
    rows = jsonl(["--groups", "X25519MLKEM768,X25519:X25519MLKEM768", "--server-groups",
                  "X25519MLKEM768", "--handshakes", str(n)])
    check_hrr(rows, "X25519MLKEM768", "X25519:X25519MLKEM768", n)
    check_table(["--handshakes", "2"], ["X25519", "X25519MLKEM768"])
    # Errors and their exit codes.
    run(["--groups", "X25519,NoSuchGroup", "--handshakes", "1"], want_rc=2)
    run(["--format", "xml"], want_rc=2)
    run(["smtp://mail.example"], want_rc=2)
    run(["--provider-path", os.path.join(WORK, "nowhere")], want_rc=4)
    # Only the X25519 entry fails (the server takes ML-KEM only): exit 1 and
    # an error line for it.
    p = run(["--groups", "X25519,X25519MLKEM768", "--server-groups", "X25519MLKEM768",
             "--handshakes", "1", "--format", "jsonl"], want_rc=1)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    check(len(rows) == 2 and "error" in rows[0] and "error" not in rows[1],
          "a refused entry is reported with its error, the other measured")


def start_s_server(tmp, cnf, groups):
    log = open(os.path.join(tmp, "s_server.%s.log" % groups.replace(":", "_")), "w+")
    env = dict(os.environ, OPENSSL_CONF=cnf)
    p = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:0", "-www", "-tls1_3",
                          "-cert", os.path.join(tmp, "cert.pem"),
                          "-key", os.path.join(tmp, "key.pem"), "-groups", groups],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True,
                         env=env)
    m = None
    for _ in range(20):  # "Using default temp DH parameters" and the like first
        line = p.stdout.readline()
        m = re.match(r"^ACCEPT 127\.0\.0\.1:(\d+)$", line.strip())
        if m or not line:
            break
    if not m:
        p.kill()
        p.wait()
        log.seek(0)
        sys.exit("s_server did not start (%r): %s" % (line, log.read()))
    return p, int(m.group(1))


def s_server():
    for c in ("openssl",):
        if shutil.which(c) is None:
            sys.exit("%s is not installed; run scripts/deps.sh (as root)" % c)
    os.makedirs(WORK, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=WORK)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes",
                    "-keyout", os.path.join(tmp, "key.pem"), "-out", os.path.join(tmp, "cert.pem"),
                    "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
    cnf = os.path.join(tmp, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(subprocess.run([os.path.join(ROOT, "scripts", "openssl-cnf.sh"), PQTLS_SO],
                               check=True, capture_output=True, text=True).stdout)
    procs = []
    try:
        n = 4
        server = ["X25519MLKEM768", "X25519"]
        p, port = start_s_server(tmp, cnf, ":".join(server))
        procs.append(p)
        target = "127.0.0.1:%d" % port
        entries = ["X25519", "X25519MLKEM768", "X25519MLKEM768:X25519"]
        rows = jsonl([target, "--groups", ",".join(entries), "--handshakes", str(n),
                      "--mss", "500"])
        check_sizes(rows, entries, server, 500)
        check_table([target, "--handshakes", "2"], ["X25519", "X25519MLKEM768"])
        # A server that takes only the hybrid: HRR for a client that sent
        # an X25519 share.
        p, port = start_s_server(tmp, cnf, "X25519MLKEM768")
        procs.append(p)
        rows = jsonl(["127.0.0.1:%d" % port, "--groups", "X25519MLKEM768,X25519:X25519MLKEM768",
                      "--handshakes", str(n)])
        check_hrr(rows, "X25519MLKEM768", "X25519:X25519MLKEM768", n)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    if not FAILS:
        shutil.rmtree(tmp, ignore_errors=True)


if MODE == "local":
    local()
elif MODE == "s_server":
    s_server()
else:
    sys.exit("mode is local or s_server")
if FAILS:
    print("\n%d checks failed" % len(FAILS))
    sys.exit(1)
print("bench tls (%s): all checks passed" % MODE)
