#!/usr/bin/env python3
"""`pqtls observe` under flow pressure, on captures the suite generates
(pressure_gen: thousands of connections left open, each holding a hybrid
ClientHello; see tests/observe/pressure_gen.c).

  - hellos whole in one segment are parsed in place: with a buffer budget of
    one byte (--max-buffer 0) every record has its SNI, JA4 and groups, no
    anomaly, no give-up; the same fields as when the hellos span segments
    and are buffered;
  - hellos that span segments and do not fit the budget are reported as
    buffer_budget (never hello_too_big), with their size, and the summary
    counts each as a budget give-up;
  - a header claiming 16,777,215 bytes that never completes is truncated,
    with that size and hello_too_big;
  - the memory limit holds by the observer's own accounting (the Prometheus
    gauges), the oldest flows are evicted at it, each record says evicted
    and memory_limit, and the summary and metrics count them; with room for
    all, a flow holding a parsed hello costs under 1 KiB.

Usage: test_pressure.py PQTLS PRESSURE_GEN SCRATCH_DIR
"""
import json
import os
import re
import subprocess
import sys

PQTLS, GEN, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(SCRATCH, exist_ok=True)
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def capture(mode, n):
    path = os.path.join(SCRATCH, "%s-%d.pcap" % (mode, n))
    p = subprocess.run([GEN, path, mode, str(n)], capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, "pressure_gen %s %d: %s" % (mode, n, p.stderr))
    m = re.search(r"hello (\d+)", p.stdout)
    return path, int(m.group(1)) if m else 0


def observe(args):
    p = subprocess.run([PQTLS, "observe"] + args, capture_output=True, timeout=600)
    if p.returncode < 0:
        failures.append("crash (signal %d): observe %s" % (-p.returncode, args))
    check(p.returncode == 0, "exit %d: observe %s: %s" % (p.returncode, args, p.stderr.decode()))
    return p.stdout.decode(), p.stderr.decode()


def records(args):
    out, err = observe(args)
    return [json.loads(line) for line in out.splitlines()], err


def summary(err, name):
    m = re.search(name + r" (\d+)", err)
    return int(m.group(1)) if m else -1


def metrics(args):
    out, _ = observe(["-q", "--format", "prom"] + args)
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^([a-z_]+) (\d+)$", out, re.M)}


def parsed(r):
    return (r["client_hello"]["complete"] and r["sni"] is not None and r["ja4"] is not None
            and len(r["offered_groups"]) > 0 and "X25519MLKEM768" in r["key_share_groups"])


HELLO_FIELDS = ["sni", "ja4", "ja4_r", "alpn", "offered_versions", "cipher_suites",
                "offered_groups", "key_share_groups", "key_shares", "signature_algorithms",
                "extensions"]


def hello_fields(r):
    return tuple(json.dumps(r[k]) for k in HELLO_FIELDS) + (r["client_hello"]["size"],)


# ---------------------------------------------------------------- whole in one segment
N = 2000
whole, hello = capture("whole", N)
split, _ = capture("split", N)
recs, err = records(["--max-buffer", "0", whole])
check(len(recs) == N and all(parsed(r) for r in recs),
      "whole, --max-buffer 0: %d of %d hellos parsed" % (sum(parsed(r) for r in recs), N))
check(all(r["anomalies"] == [] and r["client_hello"]["segments"] == 1 for r in recs),
      "whole, --max-buffer 0: no anomalies, one segment each")
check(summary(err, "budget give-ups") == 0 and summary(err, "hellos too big") == 0,
      "whole, --max-buffer 0: summary: %s" % err.strip())
check(all(r["client_hello"]["size"] == hello - 4 for r in recs), "whole: hello size %d" % (hello - 4))
# Read in place or buffered, the same hello gives the same fields.
buffered, err = records([split])
check(len(buffered) == N and all(parsed(r) for r in buffered)
      and all(r["client_hello"]["segments"] == 2 for r in buffered),
      "split, default budget: every hello buffered and parsed")
check(sorted(map(hello_fields, recs)) == sorted(map(hello_fields, buffered)),
      "the fields of a hello read in place equal those of the same hello buffered")

# ---------------------------------------------------------------- spanning, over the budget
recs, err = records(["--max-buffer", "1", split])
budget = [r for r in recs if "buffer_budget" in r["anomalies"]]
ok = [r for r in recs if parsed(r)]
check(len(recs) == N and len(budget) > 0 and len(ok) > 0 and len(budget) + len(ok) == N,
      "split, --max-buffer 1: %d buffer_budget + %d parsed of %d" % (len(budget), len(ok), N))
check(not any("hello_too_big" in r["anomalies"] for r in recs),
      "split, --max-buffer 1: no hello called too big")
check(all(r["sni"] is None and not r["client_hello"]["complete"]
          and r["client_hello"]["size"] == hello - 4 for r in budget),
      "split, --max-buffer 1: a hello not buffered says its size and nothing else")
check(summary(err, "budget give-ups") == len(budget) and summary(err, "hellos too big") == 0,
      "split, --max-buffer 1: summary counts %d give-ups: %s" % (len(budget), err.strip()))
m = metrics(["--max-buffer", "1", split])
check(m.get("pqtls_observe_reassembly_giveups_total") == len(budget)
      and m.get("pqtls_observe_hellos_too_big_total") == 0,
      "split, --max-buffer 1: metrics count the give-ups")

# ---------------------------------------------------------------- a 16 MB claim
huge, _ = capture("huge", 3)
recs, err = records([huge])
check(len(recs) == 3 and all(r["outcome"] == "truncated" and r["client_hello"]["size"] == 0xFFFFFF
                             and not r["client_hello"]["complete"]
                             and "hello_too_big" in r["anomalies"] for r in recs),
      "huge: truncated, size 16777215, hello_too_big: %s" % [r["client_hello"] for r in recs])
check(summary(err, "hellos too big") == 3 and summary(err, "budget give-ups") == 0,
      "huge: summary: %s" % err.strip())

# ---------------------------------------------------------------- the memory limit
N = 20000
many, _ = capture("whole", N)
limit = 8 << 20
args = ["--max-flows", "16777216", "--max-memory", "8", many]
m = metrics(args)
evicted = m.get("pqtls_observe_flows_evicted_memory_total", -1)
check(m.get("pqtls_observe_memory_limit_bytes") == limit
      and 0 < m.get("pqtls_observe_memory_peak_bytes", limit + 1) <= limit,
      "--max-memory 8: accounted peak within the limit: %s" % m)
check(evicted > 0 and m.get("pqtls_observe_flows_evicted_total") == evicted,
      "--max-memory 8: %d flows evicted at the limit, counted" % evicted)
recs, err = records(args)
ev = [r for r in recs if r["outcome"] == "evicted"]
check(len(recs) == N and len(ev) == evicted and all("memory_limit" in r["anomalies"] for r in ev),
      "--max-memory 8: %d records evicted with memory_limit (metrics: %d)" % (len(ev), evicted))
check(all(parsed(r) for r in recs), "--max-memory 8: every hello parsed, evicted or not")
# The oldest go first: connections are opened in order, so the evicted are the first.
first = sorted(int(r["client"].split(".")[-1]) + 256 * int(r["client"].split(".")[-2])
               + 65536 * int(r["client"].split(".")[-3]) for r in ev)
check(first == list(range(1, evicted + 1)), "--max-memory 8: the least recently active evicted")
check(summary(err, "evicted") == evicted and summary(err, "evicted at the memory limit") == evicted,
      "--max-memory 8: summary: %s" % err.strip())

m = metrics(["--max-flows", "16777216", many])
per_flow = (m.get("pqtls_observe_memory_peak_bytes", 0) - m.get("pqtls_observe_memory_bytes", 0)) / N
check(m.get("pqtls_observe_flows_evicted_total") == 0 and 0 < per_flow < 1024,
      "default limit: no eviction, %.0f bytes per open flow holding a hello" % per_flow)

print("%d checks, %d failures" % (checks, len(failures)))
sys.exit(1 if failures else 0)
