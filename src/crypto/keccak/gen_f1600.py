#!/usr/bin/env python3
"""Generate keccak_f1600_impl.h: the Keccak-f[1600] round code (FIPS 202 §3.2)
in two forms, plain chi (for CPUs with AND-NOT) and lane-complemented chi (for
the rest). Run from this directory:
    python3 gen_f1600.py > keccak_f1600_impl.h

Lane complementing (Bertoni, Daemen, Peeters, Van Assche, Van Keer, "Keccak
implementation overview" §2.2): some lanes are stored complemented between
rounds, so that by De Morgan most chi terms ~p & q become a plain AND or OR
of stored values. This script derives, for a given set of complemented
lanes, which form each output lane takes and where a NOT is still needed,
minimising the NOTs per plane; it does not copy anyone's round code.
"""
import itertools

# Rotation offsets of rho, ROT[x][y] (FIPS 202 §3.2.2, Table 2).
ROT = [
    [0, 36, 3, 41, 18],
    [1, 44, 10, 45, 2],
    [62, 6, 43, 15, 61],
    [28, 55, 25, 21, 56],
    [27, 20, 39, 8, 14],
]
# Lanes (index x + 5y) held complemented: (1,0) (2,0) (3,1) (2,2) (2,3) (0,4).
COMPLEMENTED = (1, 2, 8, 12, 17, 20)


def pi_source(x, y):
    """Lane (x', y') that pi moves to (x, y): x = y', y = 2x' + 3y' mod 5."""
    return ((y - 3 * x) * 3) % 5, x


def plane_forms(mask, y):
    """For output plane y: complement flags of the chi inputs b0..b4 and the
    cheapest form of each output lane, as (form, negated input, flip)."""
    colpar = [sum(mask[x + 5 * yy] for yy in range(5)) & 1 for x in range(5)]
    # d[x] = c[x-1] ^ rot(c[x+1], 1): complemented iff exactly one c is.
    dflag = [colpar[(x - 1) % 5] ^ colpar[(x + 1) % 5] for x in range(5)]
    fb = []
    for x in range(5):
        xs, ys = pi_source(x, y)
        fb.append(mask[xs + 5 * ys] ^ dflag[xs])
    options = []
    for x in range(5):
        p, q = (x + 1) % 5, (x + 2) % 5
        # The chi term t = ~p & q; stored P, Q may be complemented.
        want = mask[x + 5 * y] ^ fb[x]  # 0: need t, 1: need ~t
        o = []
        if (fb[p], fb[q]) == (1, 0):
            o.append(("P & Q", None, 0))
        elif (fb[p], fb[q]) == (0, 1):
            o.append(("P | Q", None, 1))
        elif (fb[p], fb[q]) == (0, 0):
            o += [("~P & Q", p, 0), ("P | ~Q", q, 1)]
        else:
            o += [("P & ~Q", q, 0), ("~P | Q", p, 1)]
        options.append([(f, n, tf != want) for (f, n, tf) in o])
    best = None
    for choice in itertools.product(*options):
        cost = len({c[1] for c in choice if c[1] is not None}) + sum(c[2] for c in choice)
        if best is None or cost < best[0]:
            best = (cost, choice)
    return best


def emit_round(a, e, rc, mask, lc):
    out = []
    for x in range(5):
        out.append(f"c{x} = " + " ^ ".join(f"{a}{x + 5 * y:02d}" for y in range(5)) + ";")
    for x in range(5):
        out.append(f"d{x} = c{(x - 1) % 5} ^ ROL64(c{(x + 1) % 5}, 1);")
    for y in range(5):
        for x in range(5):
            xs, ys = pi_source(x, y)
            lane = f"{a}{xs + 5 * ys:02d} ^ d{xs}"
            r = ROT[xs][ys]
            out.append(f"b{x} = ROL64({lane}, {r});" if r else f"b{x} = {lane};")
        if lc:
            _, choice = plane_forms(mask, y)
            for n in sorted({c[1] for c in choice if c[1] is not None}):
                out.append(f"n{n} = ~b{n};")
        for x in range(5):
            p, q = (x + 1) % 5, (x + 2) % 5
            if lc:
                form, _, flip = choice[x]
                term = form.replace("~P", f"n{p}").replace("~Q", f"n{q}")
                term = term.replace("P", f"b{p}").replace("Q", f"b{q}")
            else:
                term, flip = f"~b{p} & b{q}", False
            rhs = f"b{x} ^ ({term})"
            if flip:
                rhs = f"~({rhs})"
            if (x, y) == (0, 0):
                rhs += f" ^ keccak_rc[{rc}]"
            out.append(f"{e}{x + 5 * y:02d} = {rhs};")
    return out


def wrap_decl(names):
    lines, cur = [], "    uint64_t"
    for i, n in enumerate(names):
        piece = f" {n}" + ("," if i + 1 < len(names) else ";")
        if len(cur) + len(piece) > 100:
            lines.append(cur)
            cur = "        " + piece.lstrip()
        else:
            cur += piece
    lines.append(cur)
    return lines


def emit_function(name, mask, lc, comment):
    out = [comment, f"static inline void {name}(uint64_t s[25])", "{"]
    out += wrap_decl([f"a{i:02d}" for i in range(25)])
    out += wrap_decl([f"e{i:02d}" for i in range(25)])
    tmp = [f"b{i}" for i in range(5)] + [f"c{i}" for i in range(5)] + [f"d{i}" for i in range(5)]
    if lc:
        used = set()
        for y in range(5):
            used |= {c[1] for c in plane_forms(mask, y)[1] if c[1] is not None}
        tmp += [f"n{i}" for i in sorted(used)]
    out += wrap_decl(tmp)
    out.append("")
    for i in range(25):
        out.append(f"    a{i:02d} = {'~' if mask[i] else ''}s[{i}];")
    out.append("    for (int r = 0; r < 24; r += 2) {")
    out += ["        " + s for s in emit_round("a", "e", "r", mask, lc)]
    out += ["        " + s for s in emit_round("e", "a", "r + 1", mask, lc)]
    out.append("    }")
    for i in range(25):
        out.append(f"    s[{i}] = {'~' if mask[i] else ''}a{i:02d};")
    out.append("}")
    return out


def main():
    mask = [1 if i in COMPLEMENTED else 0 for i in range(25)]
    nots = sum(plane_forms(mask, y)[0] for y in range(5))
    lanes = ", ".join(str(i) for i in COMPLEMENTED)
    print("""/*
 * Keccak-f[1600] round code (FIPS 202 §3.2). Generated by gen_f1600.py; do
 * not edit by hand. keccak.c and keccak_bmi.c wrap these static inline bodies
 * in real functions compiled with different flags.
 *
 * Both forms keep the 25 lanes in named locals and compute the state plane by
 * plane: output plane y is chi of its five pi-preimage lanes b0..b4 after
 * theta and rho, and iota goes into lane 0. Two rounds per loop iteration swap
 * the roles of the a.. and e.. variables instead of copying. Nothing but the
 * values depends on the data: no branch, no table index.
 */
#ifndef PQT_CRYPTO_KECCAK_F1600_IMPL_H
#define PQT_CRYPTO_KECCAK_F1600_IMPL_H

#include <stdint.h>

#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

/* Round constants of iota (FIPS 202 §3.2.5). */
static const uint64_t keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};""")
    print("\n".join(emit_function("keccakf1600_andn", [0] * 25, False, """
/*
 * chi as FIPS 202 writes it, a ^ (~b & c): one AND-NOT per lane on CPUs that
 * have it (x86-64 BMI1 ANDN; keccak_bmi.c compiles this with -mbmi -mbmi2).
 */""")))
    print("\n".join(emit_function("keccakf1600_lanecomp", mask, True, f"""
/*
 * Lane complementing ("Keccak implementation overview" §2.2): lanes
 * {lanes} are held complemented between rounds, so most chi terms are a
 * plain AND or OR of stored values and {nots} NOTs per round remain instead of
 * 25. For CPUs without AND-NOT; the complement is applied on entry and
 * removed on exit.
 */""")))
    print("\n#endif")


if __name__ == "__main__":
    main()
