#!/usr/bin/python3
"""Validate a `pqtls scan --format cbom` document and check what it says.

usage: check_cbom.py SCHEMA_DIR BOM.json [JSONL] [--expect KIND=TARGET ...]

SCHEMA_DIR holds the official CycloneDX schemas (../shared/schemas/cyclonedx:
bom-1.7.schema.json and the spdx, jsf and cryptography-defs schemas it
refers to by relative $ref). They are resolved from that folder by their
$id, never from the network (PROVENANCE.md). Run with Debian's
/usr/bin/python3 and python3-jsonschema.

Before the document is judged, the validator must reject four broken
copies of it (a primitive outside the enum, tlsGroups as a string, a bad
serialNumber, and an algorithmFamily outside cryptography-defs: the last
proves the external $ref is resolved), so a validator that accepts
anything fails the test.

Then: bom-refs are unique and every reference points at one; with JSONL
(the same scan as JSON Lines) each target's pqtls:stage and pqtls:flag
equal the JSON Lines record's; each --expect KIND=TARGET holds:
  hybrid      X25519MLKEM768 in a cipher suite's tlsGroups, the combiner
              depends on ML-KEM-768 (kem, level 3, OID, "768") and x25519
              (key-agree), stage not none
  classical   no ML-KEM anywhere below the endpoint, stage none
  unreachable flag unreachable, no cipher suites
  ec-cert     certificate signed ECDSA-SHA-256, ECDSA-P-256 key of 256 bits
  rsa-cert    certificate signed RSA-PKCS1-1.5-SHA-256, RSA-2048 key
  no-mlkem    (TARGET ignored) no kem component in the whole BOM
and for the synthetic results of test_cbom.c:
  preferred   pqtls:group.preferred and pqtls:hrr.group X25519MLKEM768, stage
              preferred, ML-DSA-65 certificate known by its OID (level 3)
  kyber       flag legacy-kyber, X25519Kyber768Draft00 in tlsGroups, a combiner
              of x25519 and Kyber768-round3 (kem, no family); TLS 1.2 suite
              with secp384r1; RSA-3072 key, a signature OID with no asset
  duplicate   the target listed twice: two protocol components, bom-refs
              apart ("#index"), an unknown group as 0x1234
"""
import copy
import json
import os
import re
import sys
import warnings

import jsonschema

warnings.simplefilter("ignore", DeprecationWarning)


def fail(msg):
    print("check_cbom: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def validator(schema_dir):
    store = {}
    for name in os.listdir(schema_dir):
        if name.endswith(".schema.json"):
            with open(os.path.join(schema_dir, name)) as f:
                s = json.load(f)
            store[s["$id"]] = s
    bom = store["http://cyclonedx.org/schema/bom-1.7.schema.json"]
    resolver = jsonschema.RefResolver(bom["$id"], bom, store=store)
    return jsonschema.Draft7Validator(bom, resolver=resolver)


def errors(v, doc):
    return [e.message for e in v.iter_errors(doc)]


def components(doc):
    return {c["bom-ref"]: c for c in doc.get("components", [])}


def props(c, name):
    return [p.get("value") for p in c.get("properties", []) if p["name"] == name]


def algorithm(comps, ref):
    c = comps.get(ref)
    if c is None or c["cryptoProperties"]["assetType"] != "algorithm":
        fail(f"{ref}: no algorithm component")
    return c["cryptoProperties"]["algorithmProperties"]


def self_test(v, doc):
    """The validator must reject broken copies of a valid document."""
    algs = [c for c in doc["components"] if c["cryptoProperties"]["assetType"] == "algorithm"]
    protos = [c for c in doc["components"]
              if c["cryptoProperties"]["assetType"] == "protocol"
              and c["cryptoProperties"]["protocolProperties"]["cipherSuites"]]
    if not algs or not protos:
        fail("the BOM has no algorithm or no negotiated protocol to break")
    broken = []
    d = copy.deepcopy(doc)
    d["components"][doc["components"].index(algs[0])]["cryptoProperties"][
        "algorithmProperties"]["primitive"] = "quantum-kem"
    broken.append(("primitive outside the enum", d))
    d = copy.deepcopy(doc)
    cs = d["components"][doc["components"].index(protos[0])]["cryptoProperties"][
        "protocolProperties"]["cipherSuites"][0]
    cs["tlsGroups"] = "X25519MLKEM768"
    broken.append(("tlsGroups as a string", d))
    d = copy.deepcopy(doc)
    d["serialNumber"] = "urn:uuid:not-a-uuid"
    broken.append(("bad serialNumber", d))
    d = copy.deepcopy(doc)
    d["components"][doc["components"].index(algs[0])]["cryptoProperties"][
        "algorithmProperties"]["algorithmFamily"] = "MLKEM"
    broken.append(("algorithmFamily outside cryptography-defs", d))
    for what, d in broken:
        if not errors(v, d):
            fail(f"the validator accepted a broken BOM ({what})")
    print(f"check_cbom: the validator rejects {len(broken)} broken copies")


def check_refs(doc):
    comps = components(doc)
    if len(comps) != len(doc["components"]):
        fail("bom-refs are not unique")
    refs = []
    for c in doc["components"]:
        cp = c["cryptoProperties"]
        for k in ("protocolProperties", "certificateProperties",
                  "relatedCryptoMaterialProperties"):
            for rel in cp.get(k, {}).get("relatedCryptographicAssets", []):
                refs.append(rel["ref"])
        for cs in cp.get("protocolProperties", {}).get("cipherSuites", []):
            refs += cs.get("algorithms", [])
    deps = {}
    for d in doc["dependencies"]:
        if d["ref"] in deps:
            fail(f"{d['ref']} twice in dependencies")
        deps[d["ref"]] = d.get("dependsOn", [])
        refs.append(d["ref"])
        refs += d.get("dependsOn", [])
    for r in refs:
        if r not in comps:
            fail(f"reference {r!r} names no component")
    for r in comps:
        if r not in deps:
            fail(f"{r} is missing from dependencies")
    return comps, deps


def closure(deps, ref):
    seen, todo = set(), [ref]
    while todo:
        r = todo.pop()
        if r not in seen:
            seen.add(r)
            todo += deps.get(r, [])
    return seen


def endpoint(comps, target):
    hits = [c for c in comps.values()
            if c["cryptoProperties"]["assetType"] == "protocol" and c["name"] == target]
    if not hits:
        fail(f"no protocol component for {target}")
    return hits[0]


def check_expect(comps, deps, kind, target):
    if kind == "no-mlkem":
        kems = [r for r, c in comps.items() if c["cryptoProperties"]["assetType"] == "algorithm"
                and c["cryptoProperties"]["algorithmProperties"].get("primitive") == "kem"]
        if kems:
            fail(f"a classical-only BOM has kem components: {kems}")
        return
    p = endpoint(comps, target)
    pp = p["cryptoProperties"]["protocolProperties"]
    if pp["type"] != "tls":
        fail(f"{target}: protocol type {pp['type']}")
    below = closure(deps, p["bom-ref"])
    stage = props(p, "pqtls:stage")
    groups = [g for cs in pp["cipherSuites"] for g in cs.get("tlsGroups", [])]
    if kind == "hybrid":
        if "X25519MLKEM768" not in groups or pp.get("version") != "1.3":
            fail(f"{target}: X25519MLKEM768 not in tlsGroups {groups} of TLS 1.3")
        if stage == ["none"] or len(stage) != 1:
            fail(f"{target}: stage {stage}")
        if "algorithm/X25519MLKEM768" not in deps[p["bom-ref"]]:
            fail(f"{target}: the protocol does not depend on the hybrid")
        h = algorithm(comps, "algorithm/X25519MLKEM768")
        if h["primitive"] != "combiner" or h["nistQuantumSecurityLevel"] != 3:
            fail(f"X25519MLKEM768: {h}")
        if sorted(deps["algorithm/X25519MLKEM768"]) != ["algorithm/ML-KEM-768",
                                                         "algorithm/x25519"]:
            fail(f"X25519MLKEM768 depends on {deps['algorithm/X25519MLKEM768']}")
        k = algorithm(comps, "algorithm/ML-KEM-768")
        want = {"primitive": "kem", "algorithmFamily": "ML-KEM", "parameterSetIdentifier": "768",
                "nistQuantumSecurityLevel": 3}
        if any(k.get(a) != b for a, b in want.items()):
            fail(f"ML-KEM-768: {k}")
        if comps["algorithm/ML-KEM-768"]["cryptoProperties"].get("oid") != \
                "2.16.840.1.101.3.4.4.2":
            fail("ML-KEM-768: OID")
        x = algorithm(comps, "algorithm/x25519")
        if x["primitive"] != "key-agree" or x.get("ellipticCurve") != "other/Curve25519" or \
                x["nistQuantumSecurityLevel"] != 0:
            fail(f"x25519: {x}")
        if not props(p, "pqtls:probe.browser"):
            fail(f"{target}: no pqtls:probe.browser")
    elif kind == "classical":
        if stage != ["none"]:
            fail(f"{target}: stage {stage}")
        if not groups or any("MLKEM" in g for g in groups):
            fail(f"{target}: tlsGroups {groups}")
        for r in below:
            c = comps[r]
            if c["cryptoProperties"]["assetType"] == "algorithm" and \
                    c["cryptoProperties"]["algorithmProperties"].get("primitive") == "kem":
                fail(f"{target}: a classical endpoint depends on {r}")
    elif kind == "unreachable":
        if "unreachable" not in props(p, "pqtls:flag") or pp["cipherSuites"]:
            fail(f"{target}: {p}")
    elif kind in ("ec-cert", "rsa-cert"):
        certs = [r for r in deps[p["bom-ref"]]
                 if comps[r]["cryptoProperties"]["assetType"] == "certificate"]
        if len(certs) != 1:
            fail(f"{target}: certificates {certs}")
        cert = comps[certs[0]]["cryptoProperties"]["certificateProperties"]
        rel = {a["type"]: a["ref"] for a in cert["relatedCryptographicAssets"]}
        key = comps[rel["publicKey"]]["cryptoProperties"]["relatedCryptoMaterialProperties"]
        key_alg = key["relatedCryptographicAssets"][0]["ref"]
        if kind == "ec-cert":
            want = ("algorithm/ECDSA-SHA-256", "algorithm/ECDSA-P-256", 256)
        else:
            want = ("algorithm/RSA-PKCS1-1.5-SHA-256", "algorithm/RSA-2048", 2048)
        if (rel["algorithm"], key_alg, key["size"]) != want:
            fail(f"{target}: certificate {rel['algorithm']}, key {key_alg} {key['size']}")
        s = algorithm(comps, rel["algorithm"])
        if s["primitive"] != "signature" or not comps[rel["algorithm"]]["cryptoProperties"].get(
                "oid"):
            fail(f"{rel['algorithm']}: {s}")
        if kind == "ec-cert" and algorithm(comps, key_alg).get("ellipticCurve") != "nist/P-256":
            fail(f"{key_alg}: curve")
    elif kind == "preferred":
        if stage != ["preferred"] or props(p, "pqtls:group.preferred") != ["X25519MLKEM768"] \
                or props(p, "pqtls:hrr.group") != ["X25519MLKEM768"] \
                or props(p, "pqtls:hrr.verified") != ["true"]:
            fail(f"{target}: {p['properties']}")
        cert = comps[f"certificate/{target}"]["cryptoProperties"]["certificateProperties"]
        sig = [a["ref"] for a in cert["relatedCryptographicAssets"] if a["type"] == "algorithm"]
        m = algorithm(comps, "algorithm/ML-DSA-65")
        if sig != ["algorithm/ML-DSA-65"] or m["nistQuantumSecurityLevel"] != 3 or \
                m.get("algorithmFamily") != "ML-DSA" or m.get("parameterSetIdentifier") != "65":
            fail(f"{target}: certificate signature {sig}, {m}")
        if [cs.get("tlsSignatureSchemes") for cs in pp["cipherSuites"]][0] != ["mldsa65"]:
            fail(f"{target}: tlsSignatureSchemes")
    elif kind == "kyber":
        if "legacy-kyber" not in props(p, "pqtls:flag") or \
                "X25519Kyber768Draft00" not in groups:
            fail(f"{target}: {groups} {props(p, 'pqtls:flag')}")
        if sorted(deps["algorithm/X25519Kyber768Draft00"]) != ["algorithm/Kyber768-round3",
                                                                "algorithm/x25519"]:
            fail("X25519Kyber768Draft00 parts")
        k = algorithm(comps, "algorithm/Kyber768-round3")
        if k["primitive"] != "kem" or "algorithmFamily" in k:
            fail(f"Kyber768-round3: {k}")
        tls12 = [cs for cs in pp["cipherSuites"]
                 if cs["name"] == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]
        if not tls12 or tls12[0]["tlsGroups"] != ["secp384r1"] or tls12[0]["algorithms"] != [
                "algorithm/AES-256-GCM", "algorithm/SHA-384"] or pp.get("version") != "1.3":
            fail(f"{target}: TLS 1.2 suite {tls12}")
        rsa = algorithm(comps, "algorithm/RSA-3072")
        if rsa.get("classicalSecurityLevel") != 128 or rsa.get("parameterSetIdentifier") != "3072":
            fail(f"RSA-3072: {rsa}")
        odd = comps.get("algorithm/1.3.6.1.4.1.99999.1")
        if odd is None or odd["cryptoProperties"].get("oid") != "1.3.6.1.4.1.99999.1":
            fail("the unknown signature algorithm is not kept by its OID")
    elif kind == "duplicate":
        twins = [c for c in comps.values() if c["cryptoProperties"]["assetType"] == "protocol"
                 and c["name"] == target]
        if len(twins) != 2 or twins[0]["bom-ref"] == twins[1]["bom-ref"]:
            fail(f"{target}: {[t['bom-ref'] for t in twins]}")
        if groups != ["0x1234"]:
            fail(f"{target}: tlsGroups {groups}")
    else:
        fail(f"unknown --expect kind {kind}")
    print(f"check_cbom: {kind} {target}: ok")


def main():
    args = sys.argv[1:]
    expects = []
    while "--expect" in args:
        i = args.index("--expect")
        expects.append(args[i + 1].split("=", 1))
        del args[i:i + 2]
    schema_dir, bom_path = args[0], args[1]
    jsonl = args[2] if len(args) > 2 else None
    with open(bom_path) as f:
        text = f.read()
    if text.count("\n") != 1 or not text.endswith("\n"):
        fail("the BOM is not one JSON document on one line")
    doc = json.loads(text)
    v = validator(schema_dir)
    errs = errors(v, doc)
    if errs:
        fail(f"{bom_path} does not validate against CycloneDX 1.7: {errs[:5]}")
    print(f"check_cbom: {bom_path} validates against bom-1.7.schema.json")
    if doc["specVersion"] != "1.7" or not re.fullmatch(
            r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            doc["serialNumber"]):
        fail(f"specVersion {doc['specVersion']}, serialNumber {doc['serialNumber']} (not v4)")
    md = doc["metadata"]
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", md["timestamp"]):
        fail(f"timestamp {md['timestamp']}")
    tool = md["tools"]["components"][0]
    if tool["name"] != "pqtls" or not tool.get("version"):
        fail(f"tools: {tool}")
    comps, deps = check_refs(doc)
    if jsonl is not None:
        with open(jsonl) as f:
            recs = [json.loads(line) for line in f]
        protos = [c for c in doc["components"] if c["cryptoProperties"]["assetType"] == "protocol"]
        if [c["name"] for c in protos] != [r["target"] for r in recs]:
            fail("the protocol components are not the JSON Lines targets in input order")
        for c, r in zip(protos, recs):
            if props(c, "pqtls:stage") != [r["stage"]] or props(c, "pqtls:flag") != r["flags"]:
                fail(f"{r['target']}: stage/flags {props(c, 'pqtls:stage')} "
                     f"{props(c, 'pqtls:flag')} vs JSON Lines {r['stage']} {r['flags']}")
        print(f"check_cbom: stages and flags of {len(recs)} targets equal the JSON Lines")
    for kind, target in expects:
        check_expect(comps, deps, kind, target)
    if any(c["cryptoProperties"]["assetType"] == "protocol" and
           c["cryptoProperties"]["protocolProperties"]["cipherSuites"] for c in comps.values()):
        self_test(v, doc)


if __name__ == "__main__":
    main()
