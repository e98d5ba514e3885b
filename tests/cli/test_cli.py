#!/usr/bin/env python3
"""End-to-end tests of the `pqtls` command: ACVP known answers through the
CLI, encaps/decaps round trips, @file input, every documented exit code
with a message that names the problem, the benchmark's JSON lines, and
the option parsing of scan and observe (whole stderr and exit code of
some 600 command lines, as the hand-written parsers gave them).

usage: test_cli.py PQTLS SHARED_DIR SCRATCH_DIR
"""
import json
import os
import shutil
import subprocess
import sys

PQTLS, SHARED, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
ACVP = os.path.join(SHARED, "vectors", "nist-acvp")
failures = []


def run(*args):
    p = subprocess.run([PQTLS, *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def fields(out):
    return dict(line.split("=", 1) for line in out.split())


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def expect(args, code, *needles):
    """Run, and check the exit code and that stderr names the problem."""
    rc, out, err = run(*args)
    low = err.lower()
    ok = rc == code and all(n.lower() in low for n in needles)
    check(ok, f"{' '.join(args)[:90]}: want exit {code} and {needles!r} in stderr, "
              f"got exit {rc}, stderr {err.strip()[:300]!r}")
    return rc, out, err


def acvp(name):
    with open(os.path.join(ACVP, name, "internalProjection.json")) as f:
        return json.load(f)["testGroups"]


def scratch(name, text):
    path = os.path.join(SCRATCH, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_keygen_known_answers():
    # One vector per parameter set (tcId 1, 26 = the ML-KEM-768 one, 51).
    for g in acvp("ML-KEM-keyGen-FIPS203"):
        t = g["tests"][0]
        rc, out, err = run("kem", "keygen", "--alg", g["parameterSet"], "--seed", t["d"] + t["z"])
        check(rc == 0, f"keygen {g['parameterSet']} exit {rc}: {err}")
        if rc == 0:
            f = fields(out)
            check(f["ek"] == t["ek"].lower(), f"keygen tcId {t['tcId']}: ek differs from ACVP")
            check(f["dk"] == t["dk"].lower(), f"keygen tcId {t['tcId']}: dk differs from ACVP")
        # Stable: the same seed gives the same key again.
        rc2, out2, _ = run("kem", "keygen", "--alg", g["parameterSet"], "--seed", t["d"] + t["z"])
        check(rc2 == 0 and out2 == out, f"keygen {g['parameterSet']} is not deterministic")


def test_encaps_decaps_known_answers():
    for g in acvp("ML-KEM-encapDecap-FIPS203"):
        t = g["tests"][0]
        ps = g["parameterSet"]
        if g["function"] == "encapsulation":
            rc, out, err = run("kem", "encaps", "--alg", ps, "--ek", t["ek"], "--m", t["m"])
            check(rc == 0, f"encaps {ps} exit {rc}: {err}")
            if rc == 0:
                f = fields(out)
                check(f["ct"] == t["c"].lower() and f["ss"] == t["k"].lower(),
                      f"encaps tcId {t['tcId']} differs from ACVP")
        elif g["function"] == "decapsulation" and g.get("keyFormat") == "expanded":
            rc, out, err = run("kem", "decaps", "--alg", ps, "--dk", t["dk"], "--ct", t["c"])
            check(rc == 0 and fields(out).get("ss") == t["k"].lower(),
                  f"decaps tcId {t['tcId']} ({t['reason']}) differs from ACVP: {rc} {err}")


def test_round_trip_and_files():
    backends = ["auto", "portable"]
    rc, out, _ = run("--version")
    check(rc == 0 and "ML-KEM backend:" in out, "--version does not print the backend")
    if "avx2" in out.split("available:")[-1]:
        backends.append("avx2")
    for alg in ["ML-KEM-512", "mlkem768", "1024"]:
        for b in backends:
            rc, out, err = run("kem", "keygen", "--alg", alg, "--backend", b)
            check(rc == 0, f"keygen {alg}/{b}: {rc} {err}")
            if rc != 0:
                continue
            kp = fields(out)
            # @file input, with wrapped lines and surrounding whitespace.
            ek = kp["ek"]
            wrapped = "\n".join(ek[i:i + 64] for i in range(0, len(ek), 64))
            ek_path = scratch("ek.hex", "\n  " + wrapped + "\n\n")
            dk_path = scratch("dk.hex", kp["dk"] + "\n")
            rc, out, err = run("kem", "encaps", "--alg", alg, "--ek", "@" + ek_path, "--backend", b)
            check(rc == 0, f"encaps {alg}/{b} from @file: {rc} {err}")
            if rc != 0:
                continue
            enc = fields(out)
            rc, out, err = run("kem", "decaps", "--alg", alg, "--dk", "@" + dk_path,
                               "--ct", enc["ct"], "--backend", b)
            check(rc == 0 and fields(out)["ss"] == enc["ss"],
                  f"decaps(encaps) {alg}/{b}: secrets differ ({rc} {err})")
            # A modified ciphertext decapsulates (implicit rejection) to another secret.
            bad_ct = ("1" if enc["ct"][0] == "0" else "0") + enc["ct"][1:]
            rc, out, err = run("kem", "decaps", "--alg", alg, "--dk", kp["dk"], "--ct", bad_ct)
            check(rc == 0 and fields(out)["ss"] != enc["ss"],
                  f"{alg}/{b}: a modified ct was not implicitly rejected")


def test_errors():
    t = acvp("ML-KEM-keyGen-FIPS203")[1]["tests"][0]  # ML-KEM-768
    ek, dk = t["ek"], t["dk"]
    seed = t["d"] + t["z"]
    # 2: usage and syntax
    expect(["kem", "encaps", "--alg", "768", "--ek", ek[:10] + "zz" + ek[12:]], 2,
           "--ek", "invalid hex character 'z'", "position 11")
    expect(["kem", "encaps", "--alg", "768", "--ek", ek[:-1]], 2, "--ek", "odd number of hex")
    expect(["kem", "encaps", "--alg", "768", "--ek", ek[:-2]], 2,
           "--ek", "must be 1184 bytes", "got 1183 bytes")
    expect(["kem", "encaps", "--alg", "1024", "--ek", ek], 2, "must be 1568 bytes", "got 1184")
    expect(["kem", "keygen", "--alg", "768", "--seed", seed[:-4]], 2,
           "--seed", "must be 64 bytes", "got 62 bytes")
    expect(["kem", "encaps", "--alg", "ML-KEM-769", "--ek", ek], 2,
           "unknown algorithm 'ML-KEM-769'", "ML-KEM-512", "ML-KEM-768", "ML-KEM-1024")
    expect(["kem", "encaps", "--alg", "768"], 2, "missing required option --ek")
    expect(["kem", "keygen"], 2, "missing required option --alg")
    expect(["kem", "decaps", "--alg", "768", "--dk", dk], 2, "missing required option --ct")
    expect(["kem", "encaps", "--alg", "768", "--ek", ek, "--bogus"], 2, "unknown option '--bogus'")
    expect(["kem", "encaps", "--alg", "768", "--ek", ek, "--backend", "sse9"], 2,
           "unknown backend 'sse9'")
    expect(["kem", "frobnicate"], 2, "unknown subcommand 'frobnicate'")
    expect(["frobnicate"], 2, "unknown command 'frobnicate'")
    bad_file = scratch("bad.hex", "abcd\nab#d\n")
    expect(["kem", "encaps", "--alg", "768", "--ek", "@" + bad_file], 2,
           "invalid hex character '#'", "line 2, column 3")
    # 1: well-formed input that the operation rejects
    bad_ek = "ffff" + ek[4:]  # coefficient 0 becomes 0xFFF >= q
    expect(["kem", "encaps", "--alg", "768", "--ek", bad_ek], 1,
           "ek fails the FIPS 203 modulus check")
    h = 2 * (1152 + 1184)  # hex offset of H(ek) inside the ML-KEM-768 dk
    bad_dk = dk[:h] + ("0" if dk[h] != "0" else "1") + dk[h + 1:]
    ct = acvp("ML-KEM-encapDecap-FIPS203")[1]["tests"][0]["c"]
    expect(["kem", "decaps", "--alg", "768", "--dk", bad_dk, "--ct", ct], 1,
           "dk fails the FIPS 203 hash check")
    # 3: an @file that cannot be read
    expect(["kem", "encaps", "--alg", "768", "--ek", "@" + os.path.join(SCRATCH, "missing.hex")],
           3, "--ek", "cannot open", "missing.hex")
    # 4: a backend this CPU/build cannot run (only testable without AVX2)
    rc, out, _ = run("--version")
    if "avx2" not in out.split("available:")[-1]:
        expect(["kem", "keygen", "--alg", "768", "--backend", "avx2"], 4, "not available")
    # Help documents the exit codes.
    rc, out, _ = run("--help")
    check(rc == 0 and "Exit codes:" in out and "  4  " in out, "--help lacks the exit codes")
    rc, out, _ = run("help", "kem")
    check(rc == 0 and "kem encaps" in out, "help kem does not describe encaps")


def test_bench_jsonl():
    rc, out, err = run("bench", "kem", "--iterations", "50", "--format", "jsonl")
    check(rc == 0, f"bench exit {rc}: {err}")
    lines = [line for line in out.splitlines() if line.strip()]
    seen = set()
    for line in lines:
        try:
            o = json.loads(line)
        except ValueError:
            check(False, f"bench line is not JSON: {line[:120]!r}")
            continue
        for k in ("alg", "backend", "op", "median_ticks", "median_us", "iterations"):
            check(k in o, f"bench line lacks {k}: {line[:120]!r}")
        check(o.get("iterations") == 50, f"bench iterations {o.get('iterations')} != 50")
        check(isinstance(o.get("median_us"), (int, float)) and o["median_us"] > 0,
              f"bench median_us not a positive number: {line[:120]!r}")
        seen.add((o.get("alg"), o.get("backend"), o.get("op")))
    for alg in ("ML-KEM-512", "ML-KEM-768", "ML-KEM-1024"):
        for op in ("keygen", "encaps", "decaps"):
            check((alg, "portable", op) in seen, f"bench lacks {alg}/portable/{op}")
    expect(["bench", "kem", "--iterations", "0"], 2, "--iterations")
    expect(["bench", "kem", "--format", "xml"], 2, "unknown format 'xml'")


# ---- scan and observe option parsing -----------------------------------------
# Every line below was taken from the pqtls built before scan and observe
# moved to getopt_long tables (commit d4e8c4b); the expected stderr is
# compared whole. The paths under /nonexistent stop a run right after
# parsing, with a message that shows the command line was accepted.

NOPOLICY = ["-p", "/nonexistent/policy"]
NOPOLICY_ERR = ("pqtls scan: cannot open policy file '/nonexistent/policy': No such file or "
                "directory\n")
NOFILE = "/nonexistent/x.pcap"
NOFILE_ERR = "pqtls observe: cannot open '/nonexistent/x.pcap': No such file or directory\n"
OBS_SUMMARY = ("pqtls: observe: 0 handshakes from 0 packets (1 input); flows 0, evicted 0, "
               "idle-expired 0, not TLS 0; reassembly gaps 0, budget give-ups 0; hellos too big 0; "
               "undecodable frames 0\n")


def run_exact(args, env=None):
    """Run in SCRATCH (so '-o -' writes there) with stdin closed."""
    e = dict(os.environ)
    e.pop("POSIXLY_CORRECT", None)
    e.update(env or {})
    p = subprocess.run([PQTLS, *args], capture_output=True, text=True, timeout=60, env=e,
                       cwd=SCRATCH, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def exact(args, code, err, env=None):
    """Check the exit code and the whole of stderr."""
    rc, out, got = run_exact(args, env)
    check(rc == code and got == err,
          f"{args!r}{' ' + repr(env) if env else ''}: want exit {code} and stderr {err!r}, "
          f"got exit {rc} and {got!r}")
    return out


def unknown(cmd, opt):
    return f"pqtls {cmd}: unknown option '{opt}'; see 'pqtls {cmd} --help'\n"


def needs_value(cmd, opt):
    return f"pqtls {cmd}: {opt} needs a value; see 'pqtls {cmd} --help'\n"


def test_scan_options():
    def needs(opt, lo, hi, v):
        return f"pqtls scan: {opt} needs a whole number from {lo} to {hi}, got '{v}'\n"

    numbers = [("-c", 1, 10000), ("--concurrency", 1, 10000), ("--rate", 0, 1000000),
               ("--connect-timeout", 1, 600000), ("--first-byte-timeout", 1, 600000),
               ("--handshake-timeout", 1, 600000), ("--timeout", 1, 600000),
               ("--resolve-timeout", 1, 600000), ("--resolvers", 1, 16), ("--retries", 0, 10),
               ("--split-gap", 0, 10000)]
    for opt, lo, hi in numbers:
        # The bounds, and what strtoul lets through: '+', leading blanks, zeros.
        for v in [str(lo), str(hi), f"+{hi}", f" {hi}", f"00{lo}"]:
            exact(["scan", opt, v, "a.example", *NOPOLICY], 2, NOPOLICY_ERR)
        bad = [str(lo - 1) if lo > 0 else "-0", str(hi + 1), "", "-1", " -1", "1x", "x", "0x10",
               "1.5", "1 ", "99999999999999999999", "18446744073709551615",
               "18446744073709551616", "4294967297", "-", "-h", "--"]
        for v in bad:
            exact(["scan", opt, v, "a.example"], 2, needs(opt, lo, hi, v))
    # " -0" is 0 to strtoul, and the old check only refused a leading '-'.
    exact(["scan", "--rate", " -0", "a.example", *NOPOLICY], 2, NOPOLICY_ERR)
    exact(["scan", "-c", " -0", "a.example"], 2, needs("-c", 1, 10000, " -0"))

    for opt in ["-t", "--targets", "-f", "--format", "-o", "--output", "-p", "--policy",
                "--shard", "--probes"] + [n[0] for n in numbers]:
        exact(["scan", "a.example", opt], 2, needs_value("scan", opt))

    for v in ["classical", "x25519mlkem768,classical", "classical,,browser", "split-mss"]:
        exact(["scan", "--probes", v, "a.example", *NOPOLICY], 2, NOPOLICY_ERR)
    for v in ["", ","]:
        exact(["scan", "--probes", v, "a.example"], 2, "pqtls scan: --probes: the list is empty\n")
    for v, name in [("bogus", "bogus"), ("classical,bogus", "bogus"), ("Classical", "Classical")]:
        exact(["scan", "--probes", v, "a.example"], 2,
              f"pqtls scan: --probes: unknown probe '{name}'; see 'pqtls scan --help' for the "
              "list\n")

    for v in ["1/1", "2/4", "4/4"]:
        exact(["scan", "--shard", v, "a.example", *NOPOLICY], 2, NOPOLICY_ERR)
    for v in ["0/4", "5/4", "x", "1/0", "", "1", "-1/4", "2/4x"]:
        exact(["scan", "--shard", v, "a.example"], 2,
              f"pqtls scan: --shard '{v}': expected K/N with 1 <= K <= N, e.g. --shard 2/4\n")

    for v in ["jsonl", "json", "table", "csv", "html"]:
        for opt in ["-f", "--format"]:
            exact(["scan", opt, v, "a.example", *NOPOLICY], 2, NOPOLICY_ERR)
    for v in ["xml", "", "JSONL", "-"]:
        exact(["scan", "--format", v, "a.example"], 2,
              f"pqtls scan: --format '{v}': use jsonl, table, csv, html or cbom\n")
    exact(["scan", "-f", "xml", "-f", "table", "a.example", *NOPOLICY], 2, NOPOLICY_ERR)
    exact(["scan", "-f", "table", "-f", "xml", "a.example"], 2,
          "pqtls scan: --format 'xml': use jsonl, table, csv, html or cbom\n")
    for flags in [["--progress"], ["--no-progress"], ["--progress", "--no-progress"]]:
        exact(["scan", *flags, "a.example", *NOPOLICY], 2, NOPOLICY_ERR)

    # Exact spellings only: no abbreviations, --opt=value, -oVALUE or bundles; "--" is unknown.
    for u in ["--bogus", "-x", "--", "---", "--targets=x", "--concurrency=5", "-c5", "-tfile",
              "--targ", "--h", "--pro", "-hc", "-ch", "--progress=1", "--help=1", "-:", "-?",
              "-W", "-Wfoo", "--Help", "-H", "-f-", "--no-progres"]:
        exact(["scan", u, "a.example"], 2, unknown("scan", u))
        exact(["scan", "a.example", u, "b.example"], 2, unknown("scan", u))

    # Help goes to stdout, exit 0, whatever follows it; an error before it wins.
    help_text = exact(["scan", "--help"], 0, "")
    check(help_text.startswith("Usage: pqtls scan [OPTIONS] TARGET...\n"), "scan --help: usage")
    for args in [["-h"], ["-h", "--bogus"], ["a.example", "-h"], ["-h", "-c", "0"]]:
        out = exact(["scan", *args], 0, "")
        check(out == help_text, f"scan {args!r}: not the --help text")
    exact(["scan", "--bogus", "-h"], 2, unknown("scan", "--bogus"))
    exact(["scan", "-c", "0", "-h"], 2, needs("-c", 1, 10000, "0"))
    exact(["scan", "--concurrency", "-h"], 2, needs("--concurrency", 1, 10000, "-h"))
    exact(["scan", "-f", "-h"], 2,
          "pqtls scan: --format '-h': use jsonl, table, csv, html or cbom\n")

    # '-' and '' as values and operands.
    exact(["scan", "-o", "-h", "a.example", *NOPOLICY], 2, NOPOLICY_ERR)
    exact(["scan", "-o", "-", "a.example", *NOPOLICY], 2, NOPOLICY_ERR)
    exact(["scan", "-p", "-", "a.example"], 2,
          "pqtls scan: cannot open policy file '-': No such file or directory\n")
    exact(["scan", "-t", "-", "-f", "xml"], 2,
          "pqtls scan: --format 'xml': use jsonl, table, csv, html or cbom\n")
    exact(["scan", "-", *NOPOLICY], 2, NOPOLICY_ERR)
    exact(["scan", "", *NOPOLICY], 2, NOPOLICY_ERR)

    no_targets = ("pqtls scan: no targets; give TARGET arguments (host[:port][,sni]) or "
                  "--targets FILE\n")
    both = "pqtls scan: give targets either as arguments or with --targets, not both\n"
    for args in [[], ["-c", "5"], ["-f", "table"], ["--progress"]]:
        exact(["scan", *args], 2, no_targets)
    exact(["scan", "-t", "-", "a.example"], 2, both)
    exact(["scan", "--targets", "/nonexistent/targets", "a.example"], 2, both)
    exact(["scan", "-t", "x", "a.example", "-f", "table"], 2, both)
    exact(["scan", "-t", "/nonexistent/targets"], 2,
          "pqtls scan: cannot open targets file '/nonexistent/targets': No such file or "
          "directory\n")
    exact(["scan", "a.example", "-o", "/nonexistent/dir/out"], 3,
          "pqtls scan: cannot write '/nonexistent/dir/out': No such file or directory\n")
    exact(["scan", "a.example", *NOPOLICY, "-o", "/nonexistent/dir/out"], 2, NOPOLICY_ERR)

    # Values are judged in command-line order; the format and the targets after all options.
    exact(["scan", "-f", "xml", "-c", "0", "a.example"], 2, needs("-c", 1, 10000, "0"))
    exact(["scan", "-c", "0", "--bogus", "a.example"], 2, needs("-c", 1, 10000, "0"))
    exact(["scan", "--bogus", "-c", "0", "a.example"], 2, unknown("scan", "--bogus"))
    exact(["scan", "a.example", "-c", "0", "b.example"], 2, needs("-c", 1, 10000, "0"))
    exact(["scan", "-c", "5", "-c", "0", "a.example"], 2, needs("-c", 1, 10000, "0"))
    exact(["scan", "--shard", "9/4", "--probes", "bogus", "a.example"], 2,
          "pqtls scan: --shard '9/4': expected K/N with 1 <= K <= N, e.g. --shard 2/4\n")
    exact(["scan", "--probes", "bogus", "--shard", "9/4", "a.example"], 2,
          "pqtls scan: --probes: unknown probe 'bogus'; see 'pqtls scan --help' for the list\n")
    exact(["scan", "-f", "xml"], 2,
          "pqtls scan: --format 'xml': use jsonl, table, csv, html or cbom\n")
    exact(["scan", "-f", "xml", "-t", "x", "a.example"], 2,
          "pqtls scan: --format 'xml': use jsonl, table, csv, html or cbom\n")

    # Options after operands count even under POSIXLY_CORRECT.
    posix = {"POSIXLY_CORRECT": "1"}
    exact(["scan", "a.example", "-c", "0"], 2, needs("-c", 1, 10000, "0"), env=posix)
    exact(["scan", "a.example", "--bogus"], 2, unknown("scan", "--bogus"), env=posix)
    exact(["scan", "a.example", "-f", "table", *NOPOLICY], 2, NOPOLICY_ERR, env=posix)


def test_observe_options():
    def wants(opt, hi, v):
        return f"pqtls observe: {opt} wants a whole number from 0 to {hi}, got '{v}'\n"

    # Every observe number is read from 0; 0 is then refused by its own message where needed.
    numbers = [("--max-flows", 16777216), ("--max-buffer", 1048576), ("--timeout", 86400),
               ("--prefix-v4", 32), ("--prefix-v6", 128), ("--count", 18446744073709551615),
               ("--duration", 31536000), ("--metrics-interval", 86400)]
    for opt, hi in numbers:
        for v in ["1", str(hi), "+3", " 9", "007"]:
            exact(["observe", opt, v, "-q", NOFILE], 3, NOFILE_ERR)
        for v in ["-1", "-0", "", "x", "1x", "1e3", "0x10", "1 ", "-", "-h",
                  "99999999999999999999999"] + ([str(hi + 1)] if hi < 2**64 - 1 else
                                               ["18446744073709551616"]):
            # A --max-flows value that did not parse could also print "--max-flows must be
            # at least 1" before: the old code then read an uninitialized variable, and the
            # line came and went with the value and the options before it. Now: one line.
            exact(["observe", opt, v, NOFILE], 2, wants(opt, hi, v))
    for opt in ["--max-buffer", "--timeout", "--prefix-v4", "--prefix-v6", "--count",
                "--duration"]:
        exact(["observe", opt, "0", "-q", NOFILE], 3, NOFILE_ERR)
    for opt in ["--max-flows", "--metrics-interval"]:
        exact(["observe", opt, "0", NOFILE], 2, f"pqtls observe: {opt} must be at least 1\n")
        exact(["observe", opt, "00", NOFILE], 2, f"pqtls observe: {opt} must be at least 1\n")
    # --count takes all of unsigned 64-bit, so strtoull's wrap of " -1" gets through as before.
    exact(["observe", "--count", " -1", "-q", NOFILE], 3, NOFILE_ERR)
    # --prefix-v4 is the IPv4 prefix length, 0 to 32 (the hand-written parser
    # before getopt_long took it for --prefix-v6).
    exact(["observe", "--prefix-v4", "33", NOFILE], 2, wants("--prefix-v4", 32, "33"))
    exact(["observe", "--prefix-v6", "129", NOFILE], 2, wants("--prefix-v6", 128, "129"))
    exact(["observe", "--max-buffer", "0", "--max-flows", "x", NOFILE], 2,
          wants("--max-flows", 16777216, "x"))
    exact(["observe", "--metrics-interval", "5", "--metrics-interval", "x", NOFILE], 2,
          wants("--metrics-interval", 86400, "x"))

    for opt in ["--format", "-o", "--output", "-i", "--interface", "--families",
                "--pseudonym-key", "--metrics-listen"] + [n[0] for n in numbers]:
        exact(["observe", NOFILE, opt], 2, needs_value("observe", opt))

    for v in ["jsonl", "table", "prom"]:
        exact(["observe", "--format", v, "-q", NOFILE], 3, NOFILE_ERR)
    for v in ["xml", "", "JSONL", "-h"]:
        exact(["observe", "--format", v, NOFILE], 2,
              f"pqtls observe: unknown --format '{v}'; use jsonl, table or prom\n")
    for flags in [["-q"], ["--quiet"], ["-o", "-"], ["-o", "-h"]]:
        exact(["observe", *flags, "-q", NOFILE], 3, NOFILE_ERR)
    for flags in [["--promisc"], ["--pseudonymise"], ["--pseudonymize"]]:
        exact(["observe", *flags, NOFILE], 3, NOFILE_ERR + OBS_SUMMARY)
    for flags in [["-o", "/nonexistent/dir/out"],
                  ["--output", "/nonexistent/dir/out", "--format", "table"]]:
        exact(["observe", *flags, NOFILE], 3,
              "pqtls observe: cannot write '/nonexistent/dir/out': No such file or directory\n")
    exact(["observe", "--format", "prom", "-o", "/nonexistent/dir/out.prom", NOFILE], 3,
          NOFILE_ERR + "pqtls observe: cannot write metrics to '/nonexistent/dir/out.prom': "
          "No such file or directory\n" + OBS_SUMMARY)
    exact(["observe", "--pseudonym-key", "/nonexistent/key", NOFILE], 3,
          "pqtls observe: cannot open the pseudonym key '/nonexistent/key': No such file or "
          "directory\n")
    no_families = ("pqtls observe: cannot read --families '/nonexistent/fam': No such file or "
                   "directory\n")
    exact(["observe", "--families", "/nonexistent/fam", NOFILE], 3, no_families)

    for u in ["--bogus", "-x", "--", "--format=jsonl", "-qh", "-q1", "-hq", "--pseudonym",
              "--max=5", "-ofile", "-ifoo", "--prefix", "--quiet=1", "-f", "-c", "-t", "-p",
              "-:", "-?"]:
        exact(["observe", u, NOFILE], 2, unknown("observe", u))
        exact(["observe", NOFILE, u, NOFILE], 2, unknown("observe", u))

    help_text = exact(["observe", "--help"], 0, "")
    check(help_text.startswith("Usage: pqtls observe [OPTIONS] FILE...\n"), "observe --help: usage")
    for args in [["-h"], [NOFILE, "-h"], ["-q", "-h"], ["-h", "--bogus"]]:
        out = exact(["observe", *args], 0, "")
        check(out == help_text, f"observe {args!r}: not the --help text")
    exact(["observe", "--bogus", "-h"], 2, unknown("observe", "--bogus"))
    exact(["observe", "--max-flows", "0", "-h"], 2,
          "pqtls observe: --max-flows must be at least 1\n")
    exact(["observe", "--max-flows", "-h"], 2, wants("--max-flows", 16777216, "-h"))

    no_capture = ("pqtls observe: no capture given; name one or more pcap/pcapng files, '-' for "
                  "standard input, or -i IFACE for a live capture\n")
    for args in [[], ["-q"], ["--format", "table"], ["--max-flows", "5"],
                 ["--metrics-listen", "127.0.0.1:0"]]:
        exact(["observe", *args], 2, no_capture)
    exact(["observe", "--metrics-listen", "127.0.0.1:0", NOFILE], 2,
          "pqtls observe: --metrics-listen works with a live capture (-i IFACE); for files use "
          "--format prom\n")
    # With -i the operands are the BPF filter, options may sit between its words.
    for args in [["-i", "lo"], ["-i", "lo", "tcp", "port", "443"],
                 ["tcp", "-i", "lo", "port", "--promisc", "443"],
                 ["-i", "lo", "--metrics-listen", "x"]]:
        exact(["observe", *args, "--families", "/nonexistent/fam", "-q"], 3, no_families)
    exact(["observe", "-i", "lo", "tcp", "--bogus"], 2, unknown("observe", "--bogus"))
    exact(["observe", "-i", "lo", "--metrics-interval", "0"], 2,
          "pqtls observe: --metrics-interval must be at least 1\n")

    # '-' is standard input (closed here), '' a file name.
    rc, _, err = run_exact(["observe", "-", "-q"])
    check(rc == 1 and err.startswith("pqtls observe: 'standard input' is not a readable "
                                     "pcap/pcapng capture ("),
          f"observe - with empty stdin: exit {rc}, {err!r}")
    exact(["observe", "", "-q"], 3, "pqtls observe: cannot open '': No such file or directory\n")
    exact(["observe", "-q", NOFILE, NOFILE + "2"], 3,
          NOFILE_ERR + "pqtls observe: cannot open '/nonexistent/x.pcap2': No such file or "
          "directory\n")

    exact(["observe", NOFILE, "--max-flows", "0", "--bogus"], 2,
          "pqtls observe: --max-flows must be at least 1\n")
    exact(["observe", NOFILE, "--bogus", "--max-flows", "0"], 2, unknown("observe", "--bogus"))
    posix = {"POSIXLY_CORRECT": "1"}
    exact(["observe", NOFILE, "--max-flows", "0"], 2,
          "pqtls observe: --max-flows must be at least 1\n", env=posix)
    exact(["observe", NOFILE, "-q"], 3, NOFILE_ERR, env=posix)


def test_observe_prefixes():
    """--prefix-v4 and --prefix-v6 set the network-path prefixes of their own family."""
    pcaps = os.path.join(SHARED, "pcaps", "foxio-ja4", "pcap")
    cases = [("tls-sni.pcapng", "--prefix-v4", "16", "24"),
             ("tls-alpn-h2.pcap", "--prefix-v6", "64", "48")]
    for name, opt, want, default in cases:
        path = os.path.join(pcaps, name)
        if not os.path.exists(path):
            check(False, f"shared capture missing: {path}")
            continue
        for args, plen in (([], default), ([opt, want], want)):
            p = subprocess.run([PQTLS, "observe", "-q", *args, path], capture_output=True,
                               text=True)
            recs = [json.loads(line) for line in p.stdout.splitlines()]
            fam = [r for r in recs if (":" in r["client"]) == (opt == "--prefix-v6")]
            check(p.returncode == 0 and fam and
                  all(r["path"]["client_prefix"].endswith("/" + plen) for r in fam),
                  f"{name} {args}: client prefixes /{plen}, got "
                  f"{sorted({r['path']['client_prefix'] for r in fam})}")


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    for test in (test_keygen_known_answers, test_encaps_decaps_known_answers,
                 test_round_trip_and_files, test_errors, test_bench_jsonl, test_scan_options,
                 test_observe_options, test_observe_prefixes):
        before = len(failures)
        test()
        print(("ok   " if len(failures) == before else "FAIL ") + test.__name__)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
