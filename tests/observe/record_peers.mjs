// Peers for the recorded-capture and live-mode tests of `pqtls observe`,
// run with the project's Node.js 24 (OpenSSL 3.5).
//
//   node record_peers.mjs servers CERT KEY RELAY_TARGET_PORT [--lifetime S]
//     Starts, each on a port the kernel picks on 127.0.0.1:
//       node    node:tls with its defaults. OpenSSL 3.5's default group list
//               puts X25519MLKEM768 in a tuple before X25519, so a client
//               that offers X25519MLKEM768 but sent only an X25519 share is
//               asked for X25519MLKEM768 in a HelloRetryRequest.
//       reset   reads the first bytes (the ClientHello) and answers with a
//               TCP RST (SO_LINGER 0 via socket.resetAndDestroy), the way
//               broken middleboxes kill hybrid handshakes.
//       split   a TCP relay to 127.0.0.1:RELAY_TARGET_PORT that forwards the
//               client's first bytes in two TCP segments (the first 200
//               bytes, then the rest 30 ms later, Nagle off), so the
//               ClientHello reaches the server split like a PQ hello on a
//               1500-byte path.
//     Prints {"node": port, "reset": port, "split": port} once all listen;
//     exits on SIGTERM or after the lifetime (default 120 s).
//
//   node record_peers.mjs client PORT PATH
//     One HTTPS GET https://localhost:PORT/PATH with Node's default TLS
//     settings (certificate not checked: the test's self-signed one); prints
//     the HTTP status. Exit 0 on any HTTP answer.
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

const HOST = '127.0.0.1';
const mode = process.argv[2];

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(server.address().port));
  });
}

async function servers(certFile, keyFile, target, lifetime) {
  const cert = fs.readFileSync(certFile);
  const key = fs.readFileSync(keyFile);

  const node = tls.createServer({cert, key}, (sock) => {
    sock.on('error', () => {});
    sock.once('data', () => {
      sock.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n');
    });
  });
  node.on('tlsClientError', () => {});

  const reset = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () => sock.resetAndDestroy());
  });

  const split = net.createServer((client) => {
    client.setNoDelay(true);
    client.on('error', () => {});
    const up = net.connect({host: HOST, port: target});
    up.setNoDelay(true);
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    let first = true;
    client.on('data', (d) => {
      if (!first) {
        up.write(d);
        return;
      }
      first = false;
      client.pause();
      const send = () => {
        up.write(d.subarray(0, 200));
        setTimeout(() => {
          up.write(d.subarray(200));
          client.resume();
        }, 30);
      };
      if (up.connecting) {
        up.once('connect', send);
      } else {
        send();
      }
    });
    up.on('data', (d) => client.write(d));
  });

  const ports = {node: await listen(node), reset: await listen(reset), split: await listen(split)};
  process.stdout.write(JSON.stringify(ports) + '\n');
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setTimeout(stop, lifetime * 1000).unref();
  // Keep the event loop alive for the lifetime.
  setInterval(() => {}, 1 << 30);
}

function client(port, path) {
  const req = https.get(
      {host: HOST, port: Number(port), path: '/' + path, servername: 'localhost',
       rejectUnauthorized: false, agent: false, timeout: 10000},
      (res) => {
        res.resume();
        res.on('end', () => {
          process.stdout.write(`${res.statusCode}\n`);
          process.exit(0);
        });
      });
  req.on('timeout', () => {
    console.error('record_peers client: timeout');
    process.exit(1);
  });
  req.on('error', (e) => {
    console.error(`record_peers client: ${e.message}`);
    process.exit(1);
  });
}

if (mode === 'servers' && process.argv.length >= 6) {
  const li = process.argv.indexOf('--lifetime');
  const lifetime = li > 0 ? Number(process.argv[li + 1]) : 120;
  servers(process.argv[3], process.argv[4], Number(process.argv[5]), lifetime).catch((e) => {
    console.error(`record_peers: ${e.message}`);
    process.exit(1);
  });
} else if (mode === 'client' && process.argv.length === 5) {
  client(process.argv[3], process.argv[4]);
} else {
  console.error('usage: node record_peers.mjs servers CERT KEY RELAY_TARGET_PORT [--lifetime S]\n' +
                '       node record_peers.mjs client PORT PATH');
  process.exit(2);
}
