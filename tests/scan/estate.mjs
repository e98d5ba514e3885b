// A small TLS estate on loopback for `pqtls scan` tests and `make demo`.
//
// One Node.js 24 (OpenSSL 3.5) process serves, each on its own random port
// on 127.0.0.1:
//   node        node:tls with its defaults (prefers X25519MLKEM768 via HRR)
//   legacy      selects X25519Kyber768Draft00 (0x6399) in its ServerHello when
//               offered (it need not finish: accepting the code point is the
//               finding), handshake_failure otherwise
//   garbage, endless, hugelen, slow, midclose, wronggroup   hostile servers
//
// usage: node estate.mjs CERT.pem KEY.pem [--lifetime SECONDS]
// Prints one JSON line {"node": port, ...} when every server listens, and
// exits on SIGTERM or after the lifetime (default 600 s), so that nothing
// outlives the test that started it even if its trap never runs.
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import crypto from 'node:crypto';

const [certFile, keyFile] = process.argv.slice(2);
const lifeIdx = process.argv.indexOf('--lifetime');
const lifetime = lifeIdx > 0 ? Number(process.argv[lifeIdx + 1]) : 600;
if (!certFile || !keyFile) {
  console.error('usage: node estate.mjs CERT.pem KEY.pem [--lifetime SECONDS]');
  process.exit(2);
}
const cert = fs.readFileSync(certFile);
const key = fs.readFileSync(keyFile);
const HOST = '127.0.0.1';
const timers = new Set();

// Read one ClientHello (the first complete record) from a socket.
function onClientHello(sock, cb) {
  let buf = Buffer.alloc(0);
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    if (buf.length >= 5) {
      const len = buf.readUInt16BE(3);
      if (buf.length >= 5 + len) {
        sock.off('data', onData);
        cb(buf.subarray(5, 5 + len));
      } else if (buf.length > 70000) {
        sock.destroy();
      }
    }
  };
  sock.on('data', onData);
  sock.on('error', () => {});
}

// ClientHello handshake message -> {sessionId, shares: Map(group -> share)}.
function parseClientHello(hs) {
  let p = 4 + 2 + 32;
  const sidLen = hs[p];
  const sessionId = hs.subarray(p + 1, p + 1 + sidLen);
  p += 1 + sidLen;
  p += 2 + hs.readUInt16BE(p);
  p += 1 + hs[p];
  const extEnd = p + 2 + hs.readUInt16BE(p);
  p += 2;
  const shares = new Map();
  while (p + 4 <= extEnd) {
    const type = hs.readUInt16BE(p);
    const len = hs.readUInt16BE(p + 2);
    if (type === 51) {
      let q = p + 6;
      while (q + 4 <= p + 4 + len) {
        const g = hs.readUInt16BE(q);
        const l = hs.readUInt16BE(q + 2);
        shares.set(g, hs.subarray(q + 4, q + 4 + l));
        q += 4 + l;
      }
    }
    p += 4 + len;
  }
  return {sessionId, shares};
}

function u16(v) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function record(type, body) {
  return Buffer.concat([Buffer.from([type, 3, 3]), u16(body.length), body]);
}

// A TLS 1.3 ServerHello selecting `group` with `share`.
function serverHello(sessionId, group, share) {
  const ext = Buffer.concat([
    u16(43), u16(2), u16(0x0304),
    u16(51), u16(4 + share.length), u16(group), u16(share.length), share,
  ]);
  const body = Buffer.concat([
    u16(0x0303), crypto.randomBytes(32), Buffer.from([sessionId.length]), sessionId,
    u16(0x1301), Buffer.from([0]), u16(ext.length), ext,
  ]);
  const hdr = Buffer.from([2, body.length >> 16, (body.length >> 8) & 255, body.length & 255]);
  return record(22, Buffer.concat([hdr, body]));
}

const alert = (desc) => record(21, Buffer.from([2, desc]));

function tcpServer(handler) {
  const srv = net.createServer((sock) => {
    sock.on('error', () => {});
    handler(sock);
  });
  srv.maxConnections = 4096;
  return srv;
}

const servers = {};

servers.node = tls.createServer({key, cert}, (s) => {
  s.on('error', () => {});
  s.end('ok\n');
});
servers.node.on('tlsClientError', () => {});

servers.legacy = tcpServer((sock) => onClientHello(sock, (hs) => {
  const ch = parseClientHello(hs);
  if (ch.shares.has(0x6399)) {
    // X25519 (32) || Kyber768 ciphertext (1088): random bytes suffice.
    sock.end(serverHello(ch.sessionId, 0x6399, crypto.randomBytes(32 + 1088)));
  } else {
    sock.end(alert(40));
  }
}));

// Bytes that are not TLS: a fixed non-TLS first byte (random bytes start
// with a valid content type 20..24 about 2% of the time, which would make
// the expected verdict "not_tls" flaky), then random noise.
servers.garbage = tcpServer((sock) => onClientHello(sock, () => {
  sock.end(Buffer.concat([Buffer.from('GARBAGE '), crypto.randomBytes(292)]));
}));

// Endless handshake fragments of one ServerHello that never ends.
servers.endless = tcpServer((sock) => onClientHello(sock, () => {
  const frag = Buffer.alloc(16384);
  frag.set([2, 0xff, 0xff, 0xff]);
  let n = 0;
  const t = setInterval(() => {
    if (sock.destroyed || n++ > 2000) { clearInterval(t); timers.delete(t); sock.destroy(); return; }
    sock.write(record(22, frag));
    frag.fill(0, 0, 4);
  }, 2);
  timers.add(t);
}));

servers.hugelen = tcpServer((sock) => onClientHello(sock, () => {
  sock.write(Buffer.from([22, 3, 3, 0xff, 0xff]));
  sock.write(crypto.randomBytes(1000));
}));

// A valid-looking ServerHello, one byte per second.
servers.slow = tcpServer((sock) => onClientHello(sock, (hs) => {
  const sh = serverHello(parseClientHello(hs).sessionId, 0x001d, crypto.randomBytes(32));
  let i = 0;
  const t = setInterval(() => {
    if (sock.destroyed || i >= sh.length) { clearInterval(t); timers.delete(t); sock.destroy(); return; }
    sock.write(sh.subarray(i, i + 1));
    i++;
  }, 1000);
  timers.add(t);
}));

servers.midclose = tcpServer((sock) => onClientHello(sock, (hs) => {
  const sh = serverHello(parseClientHello(hs).sessionId, 0x001d, crypto.randomBytes(32));
  sock.end(sh.subarray(0, 30));
}));

// A ServerHello choosing secp521r1, which no probe offers.
servers.wronggroup = tcpServer((sock) => onClientHello(sock, (hs) => {
  const share = Buffer.concat([Buffer.from([4]), crypto.randomBytes(132)]);
  sock.end(serverHello(parseClientHello(hs).sessionId, 0x0019, share));
}));

const ports = {};
await Promise.all(Object.entries(servers).map(([name, srv]) => new Promise((resolve, reject) => {
  srv.on('error', reject);
  srv.listen(0, HOST, 1024, () => { ports[name] = srv.address().port; resolve(); });
})));
console.log(JSON.stringify(ports));

function shutdown() {
  for (const t of timers) clearInterval(t);
  for (const srv of Object.values(servers)) srv.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
setTimeout(shutdown, lifetime * 1000).unref();
