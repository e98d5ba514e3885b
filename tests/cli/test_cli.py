#!/usr/bin/env python3
"""End-to-end tests of the `pqtls` command: ACVP known answers through the
CLI, encaps/decaps round trips, @file input, every documented exit code
with a message that names the problem, and the benchmark's JSON lines.

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


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    for test in (test_keygen_known_answers, test_encaps_decaps_known_answers,
                 test_round_trip_and_files, test_errors, test_bench_jsonl):
        before = len(failures)
        test()
        print(("ok   " if len(failures) == before else "FAIL ") + test.__name__)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
