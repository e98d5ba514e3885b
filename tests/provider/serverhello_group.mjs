// Print the group of the key_share extension in the ServerHello that an
// `openssl s_server -msg` / `s_client -msg` log shows (sent ">>>" or
// received "<<<"), as 0xNNNN. It reads the ServerHello bytes themselves
// (RFC 8446 §4.1.3, §4.2.8), so it reports what went over the wire, not what
// either side believes. A HelloRetryRequest is skipped (its random is the
// fixed value of RFC 8446 §4.1.3); the last real ServerHello counts.
// Exit 1 with a message when there is none.
import fs from 'node:fs';

const HRR_RANDOM =
    'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';

const log = fs.readFileSync(process.argv[2], 'latin1').split('\n');
let found = null;
for (let i = 0; i < log.length; i++) {
    if (!/^(>>>|<<<) TLS 1\.3, Handshake \[length [0-9a-f]+\], ServerHello/.test(log[i])) {
        continue;
    }
    const hex = [];
    for (let j = i + 1; j < log.length && /^ {4}[0-9a-f]{2}( |$)/.test(log[j]); j++) {
        hex.push(...log[j].trim().split(/\s+/));
    }
    const b = Buffer.from(hex.join(''), 'hex');
    const group = keyShareGroup(b);
    if (group !== null && !group.hrr) {
        found = group.id;
    }
}
if (found === null) {
    process.stderr.write(`serverhello_group: no ServerHello with a key_share in ${process.argv[2]}\n`);
    process.exit(1);
}
console.log('0x' + found.toString(16).padStart(4, '0'));

function keyShareGroup(b) {
    let p = 0;
    const need = (n) => {
        if (p + n > b.length) throw new Error('truncated ServerHello');
    };
    try {
        need(4);
        if (b[0] !== 2) return null; // handshake type server_hello
        p = 4 + 2; // header, legacy_version
        need(32);
        const hrr = b.subarray(p, p + 32).toString('hex') === HRR_RANDOM;
        p += 32;
        need(1);
        p += 1 + b[p]; // legacy_session_id_echo
        p += 2 + 1; // cipher_suite, legacy_compression_method
        need(2);
        const end = p + 2 + b.readUInt16BE(p);
        p += 2;
        while (p + 4 <= end) {
            const type = b.readUInt16BE(p);
            const len = b.readUInt16BE(p + 2);
            p += 4;
            need(len);
            if (type === 0x0033) {
                return { id: b.readUInt16BE(p), hrr };
            }
            p += len;
        }
    } catch (e) {
        process.stderr.write(`serverhello_group: ${e.message}\n`);
    }
    return null;
}
