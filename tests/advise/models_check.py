#!/usr/bin/env python3
"""advise.models: pqtls advise's prediction per handshake against what the
real server answered (models.sh). Each handshake has an SNI of its own
so each is a service of one handshake (SNI "<hello>.<stage>.<model>.test"):
what_if[stage] must be hybrid 1 exactly when the server chose or asked
for X25519MLKEM768, hrr 1 when it sent an HRR, refused 1 when it sent an
alert, as both the client and `pqtls observe` saw it."""
import json
import os
import sys

d = sys.argv[1]
client = {r["sni"]: r for r in map(json.loads, open(os.path.join(d, "client.jsonl")))}
observe = {r["sni"]: r for r in map(json.loads, open(os.path.join(d, "observe.jsonl")))}
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL", msg)


MODELS = ("openssl30", "openssl35", "openssl35-serverpref")
WANT = 8 * 3 * len(MODELS)
if len(client) != WANT:
    fail(f"{len(client)} client handshakes, want {WANT} (8 hellos x 3 stages x models)")
differ = 0
for model in MODELS:
    advise = {r["sni"]: r for r in map(json.loads, open(os.path.join(d, f"advise-{model}.jsonl")))}
    for sni, c in sorted(client.items()):
        hello, stage, m = sni.split(".")[:3]
        if m != model:
            continue
        o = observe.get(sni)
        a = advise.get(sni)
        if o is None or a is None:
            fail(f"{sni}: not in observe ({o is not None}) or advise ({a is not None})")
            continue
        # The client's reading (the server's first answer) and the
        # observer's agree.
        seen = {"serverhello": (c["group"], False, False), "hrr": (c["group"], True, False),
                "alert": (None, False, True)}.get(c["answer"])
        if seen is None:
            fail(f"{sni}: the server answered {c['answer']}")
            continue
        agree = {"serverhello": o["group"] == c["group"] and not o["hrr"],
                 "hrr": o["hrr"] and o["hrr_group"] == c["group"],
                 "alert": o["outcome"] == "alert" and not o["hrr"] and o["group"] is None}
        if not agree[c["answer"]]:
            fail(f"{sni}: client saw {c}, observe {o['group']}/{o['hrr']}/{o['hrr_group']}/"
                 f"{o['outcome']}")
        group, hrr, refused = seen
        want = {"hybrid": int(group == "X25519MLKEM768"), "hrr": int(hrr), "refused": int(refused)}
        w = next(x for x in a["what_if"] if x["stage"] == stage)
        got = {k: w[k] for k in want}
        verdict = "ok" if got == want else "WRONG"
        print(f"{model:20} {stage:9} {hello:14} server: {c['answer']:11} "
              f"{str(c['group']):15} advise: {got} {verdict}")
        if got != want:
            fail(f"{sni}: advise predicts {got}, the {model} server did {want}")
        differ += 1
if differ != WANT:
    fail(f"compared {differ} handshakes, want {WANT}")
print(f"advise.models: {differ} handshakes compared, {failures} failures")
sys.exit(1 if failures else 0)
