// Prints OpenSSL 3.5 (inside Node.js 24) against pqtls ML-KEM, same process.
// Usage: node run.mjs ADDON.node [iterations]
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const addon = require(process.argv[2]);
const iters = Number(process.argv[3] || 3001);
const rows = [];
for (const alg of ['ML-KEM-512', 'ML-KEM-768', 'ML-KEM-1024']) {
  const r = JSON.parse(addon.measure(alg, iters));
  if (rows.length === 0) {
    console.log(`${r.openssl_version}; pqtls; rdtsc at ${r.tsc_ghz} GHz; ${iters} interleaved iterations; medians`);
    console.log('alg          op      ' + ['openssl-3.5', 'pqtls-portable', 'pqtls-avx2'].map((s) => s.padStart(16)).join('') + '   openssl/avx2');
  }
  for (const op of ['keygen', 'encaps', 'decaps']) {
    const get = (impl) => r.results.find((x) => x.impl === impl && x.op === op);
    const cells = ['openssl-3.5', 'pqtls-portable', 'pqtls-avx2'].map((impl) => {
      const x = get(impl);
      return (x ? `${x.median_ticks} (${x.median_us.toFixed(1)}us)` : '-').padStart(16);
    });
    const o = get('openssl-3.5'), a = get('pqtls-avx2') || get('pqtls-portable');
    console.log(`${alg.padEnd(12)} ${op.padEnd(7)}${cells.join('')}   ${(o.median_ticks / a.median_ticks).toFixed(2)}x`);
    rows.push({ alg, op, results: r.results.filter((x) => x.op === op) });
  }
}
