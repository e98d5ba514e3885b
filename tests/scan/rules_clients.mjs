// The Node.js 24 (OpenSSL 3.5) client of rules_clients.sh: one TLS
// connection to 127.0.0.1:PORT offering GROUPS (ecdhCurve, OpenSSL's group
// list syntax), and ALPN protocols when given (comma-separated), and one
// JSON line on stdout with what Node itself reports:
//
//   {"connected":true,"protocol":"TLSv1.3","group":"X25519MLKEM768",
//    "cipher":"TLS_AES_128_GCM_SHA256","alpn":false,"data":"ok\n"}
//   {"connected":false,"code":"ERR_SSL_...","error":"..."}
//
// group is tls.TLSSocket#getEphemeralKeyInfo().name (Node 24 names KEM
// groups: {type: 'TLSGroup', name: 'X25519MLKEM768'}). "connected" means
// the handshake completed (secureConnect); data is what the server sent
// after it. Exit 0 in both cases (the caller records, it does not judge),
// 2 on a timeout or bad usage.
//
//   node rules_clients.mjs PORT GROUPS [ALPN]
import tls from 'node:tls';

const TIMEOUT_MS = 10000;
const [port, groups, alpn] = process.argv.slice(2);
if (!port || !groups) {
    process.stderr.write('usage: rules_clients.mjs PORT GROUPS [ALPN,...]\n');
    process.exit(2);
}

let done = false;
function report(obj) {
    if (done) {
        return;
    }
    done = true;
    console.log(JSON.stringify(obj));
    process.exit(0);
}
setTimeout(() => {
    report({ connected: false, code: 'TIMEOUT', error: `no result after ${TIMEOUT_MS} ms` });
}, TIMEOUT_MS).unref();

const opts = {
    host: '127.0.0.1',
    port: Number(port),
    servername: 'localhost',
    ecdhCurve: groups,
    rejectUnauthorized: false, // the server's throwaway self-signed certificate
};
if (alpn) {
    opts.ALPNProtocols = alpn.split(',');
}
const sock = tls.connect(opts);
let result = null;
let data = '';
sock.on('secureConnect', () => {
    const key = sock.getEphemeralKeyInfo();
    result = {
        connected: true,
        protocol: sock.getProtocol(),
        group: key && key.name ? key.name : null,
        cipher: sock.getCipher().standardName,
        alpn: sock.alpnProtocol,
    };
});
sock.on('data', (d) => {
    data += d.toString();
});
sock.on('error', (e) => {
    if (result !== null) {
        // After the handshake: keep the handshake's result, note the error.
        report({ ...result, data, after: `${e.code || ''} ${e.message}`.trim() });
    }
    report({ connected: false, code: e.code || null, error: e.message });
});
sock.on('close', () => {
    if (result !== null) {
        report({ ...result, data });
    }
    report({ connected: false, code: 'CLOSED', error: 'connection closed before the handshake completed' });
});
