// OpenSSL 3.5 servers for advise.models: Node.js 24 (OpenSSL 3.5) TLS
// servers, one per stage, whose groups are set with ecdhCurve, which is
// SSL_CTX_set1_groups_list: the 3.5 list syntax with " / " tuples.
//
// Usage: node models_node.mjs CERT KEY LIFETIME_S NAME=ORDER=GROUPS...
// ORDER "client": honorCipherOrder false (OpenSSL's own default, the
// client's order within a tuple); "server": Node.js's default
// (SSL_OP_CIPHER_SERVER_PREFERENCE). Prints {"NAME": port, ...} once all
// listen; exits after LIFETIME_S.
import fs from 'node:fs';
import tls from 'node:tls';

const [cert, key, lifetime, ...specs] = process.argv.slice(2);
const ports = {};
let pending = specs.length;
for (const spec of specs) {
  const [name, order, ...rest] = spec.split('=');
  const groups = rest.join('=');
  const server = tls.createServer({
    cert: fs.readFileSync(cert),
    key: fs.readFileSync(key),
    ecdhCurve: groups,
    minVersion: 'TLSv1.3',
    ...(order === 'client' ? {honorCipherOrder: false} : {}),
  }, (s) => s.end());
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1', () => {
    ports[name] = server.address().port;
    if (--pending === 0) {
      process.stdout.write(JSON.stringify(ports) + '\n');
    }
  });
}
setTimeout(() => process.exit(0), Number(lifetime) * 1000).unref();
setInterval(() => {}, 1000);
