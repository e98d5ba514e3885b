// The Node.js 24 (OpenSSL 3.5) side of the provider interop tests.
//
//   node node_peer.mjs client PORT GROUPS   connect to 127.0.0.1:PORT offering
//       only GROUPS (ecdhCurve), print one JSON line {protocol, keyInfo, data}
//   node node_peer.mjs server CERT KEY GROUPS   serve one TLS 1.3 connection on
//       127.0.0.1, a free port chosen by the kernel; print "PORT n" first,
//       then one JSON line {protocol, data} when the client is done
//
// keyInfo is tls.TLSSocket#getEphemeralKeyInfo(): Node 24 names KEM groups
// ({type: 'TLSGroup', name: 'X25519MLKEM768'}) and classical ones
// ({type: 'ECDH', name: 'X25519'}). Exit 0 on success, 1 on a TLS error,
// 2 on timeout; errors go to stderr.
import fs from 'node:fs';
import tls from 'node:tls';

const TIMEOUT_MS = 15000;
const [mode, ...args] = process.argv.slice(2);

function fail(code, msg) {
    process.stderr.write(`node_peer ${mode}: ${msg}\n`);
    process.exit(code);
}
setTimeout(() => fail(2, `no result after ${TIMEOUT_MS} ms`), TIMEOUT_MS).unref();

if (mode === 'client') {
    const [port, groups] = args;
    const sock = tls.connect({
        host: '127.0.0.1',
        port: Number(port),
        servername: 'localhost',
        ecdhCurve: groups,
        minVersion: 'TLSv1.3',
        rejectUnauthorized: false, // throwaway self-signed certificate
    });
    let data = '';
    let keyInfo = null;
    let protocol = null;
    sock.on('secureConnect', () => {
        keyInfo = sock.getEphemeralKeyInfo();
        protocol = sock.getProtocol();
        sock.write('ping from node\n');
    });
    sock.on('data', (d) => {
        data += d.toString();
        if (data.includes('\n')) {
            sock.end();
        }
    });
    sock.on('error', (e) => fail(1, `TLS error: ${e.code || ''} ${e.message}`));
    sock.on('close', () => {
        if (protocol === null) {
            fail(1, 'connection closed before the handshake completed');
        }
        console.log(JSON.stringify({ protocol, keyInfo, data }));
        process.exit(0);
    });
} else if (mode === 'server') {
    const [cert, key, groups] = args;
    const server = tls.createServer({
        cert: fs.readFileSync(cert),
        key: fs.readFileSync(key),
        ecdhCurve: groups,
        minVersion: 'TLSv1.3',
    });
    server.on('tlsClientError', (e) => fail(1, `TLS error: ${e.code || ''} ${e.message}`));
    server.on('secureConnection', (sock) => {
        const protocol = sock.getProtocol();
        sock.end('hello from node\n');
        sock.on('error', () => {});
        sock.on('close', () => {
            console.log(JSON.stringify({ protocol, data: 'sent' }));
            server.close();
            process.exit(0);
        });
    });
    server.listen(0, '127.0.0.1', () => {
        console.log(`PORT ${server.address().port}`);
    });
} else {
    fail(1, 'usage: node_peer.mjs client PORT GROUPS | server CERT KEY GROUPS');
}
