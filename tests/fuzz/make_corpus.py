#!/usr/bin/env python3
"""Write the small seed corpus of the ML-KEM fuzz targets.

Keys and ciphertexts come from the NIST ACVP vectors in the shared data
directory, so the seeds start from real, valid inputs; the fuzzer mutates
from there. Run once and commit the output:

    python3 tests/fuzz/make_corpus.py [SHARED_DIR]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared")
ACVP = os.path.join(SHARED, "vectors", "nist-acvp")
ALGS = {"ML-KEM-512": 0, "ML-KEM-768": 1, "ML-KEM-1024": 2}
AVX2 = 4    # byte 0, bit 2: use the AVX2 backend when available
SEEDED = 8  # fuzz_mlkem_decaps byte 0, bit 3: seeded round-trip mode


def load(name):
    with open(os.path.join(ACVP, name, "internalProjection.json")) as f:
        return json.load(f)["testGroups"]


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    keygen = {g["parameterSet"]: g["tests"][0] for g in load("ML-KEM-keyGen-FIPS203")}
    for ps, alg in ALGS.items():
        ek = bytes.fromhex(keygen[ps]["ek"])
        short = ps.split("-")[-1]
        write("fuzz_mlkem_encaps", f"valid-{short}", bytes([alg | (AVX2 if alg == 1 else 0)]) + ek)
        if alg == 1:
            # coefficient 0 = 0xFFF >= q: FIPS 203 §7.2 check must reject
            write("fuzz_mlkem_encaps", "modulus-768", bytes([alg]) + b"\xff\xff" + ek[2:])
        t = keygen[ps]
        seed = bytes.fromhex(t["d"]) + bytes.fromhex(t["z"])
        m = bytes(range(32))
        flips = bytes([5, 0, 1]) if alg != 2 else b""
        write("fuzz_mlkem_decaps", f"seeded-{short}",
              bytes([alg | SEEDED | (AVX2 if alg == 1 else 0)]) + seed + m + flips)
    write("fuzz_mlkem_encaps", "short-768", bytes([1]) + bytes(10))

    # Raw mode: a real expanded dk and a valid ciphertext for ML-KEM-512.
    for g in load("ML-KEM-encapDecap-FIPS203"):
        if g["parameterSet"] == "ML-KEM-512" and g["function"] == "decapsulation" \
                and g.get("keyFormat") == "expanded":
            t = g["tests"][0]
            dk, c = bytes.fromhex(t["dk"]), bytes.fromhex(t["c"])
            hdr = bytes([0]) + len(dk).to_bytes(2, "little")
            write("fuzz_mlkem_decaps", "raw-512", hdr + dk + c)
            bad = bytearray(dk)
            bad[len(dk) - 40] ^= 1  # inside H(ek): FIPS 203 §7.3 hash check fails
            write("fuzz_mlkem_decaps", "raw-512-badhash", hdr + bytes(bad) + c)
            break
    write("fuzz_mlkem_decaps", "raw-short", bytes([1, 3, 0]) + bytes(7))


if __name__ == "__main__":
    main()
