/**
 * `npm run bench -- crypto`: post-quantum operations per backend (µs/op) and Toeplitz MAC
 * throughput (MB/s) with SHA3-512 measured in the same run as the baseline for `digest`.
 */
import {
  type CryptoBackend,
  nobleBackend,
  nobleHashes,
  PadStream,
  randomBytes,
  ToeplitzMac,
} from '@qledger/core';
import { createOqsBackend, nativeHashes } from '@qledger/node';
import { emit, envInt, microsPerOp, summarize } from './format.js';

const RUNS = envInt('BENCH_RUNS', 7, 1, 1000);

function pq(be: CryptoBackend): void {
  const dsa44 = be.signer('ml-dsa-44');
  const dsa65 = be.signer('ml-dsa-65');
  const msg = randomBytes(256);
  const k44 = dsa44.keygen();
  const k65 = dsa65.keygen();
  const s44 = dsa44.sign(msg, k44.secretKey);
  const s65 = dsa65.sign(msg, k65.secretKey);
  const figures: [string, () => void][] = [
    ['ml-dsa-44.sign', () => dsa44.sign(msg, k44.secretKey)],
    ['ml-dsa-44.verify', () => dsa44.verify(s44, msg, k44.publicKey)],
    ['ml-dsa-65.verify', () => dsa65.verify(s65, msg, k65.publicKey)],
  ];
  for (const alg of ['ml-kem-768', 'ml-kem-1024', 'x-wing'] as const) {
    const kem = be.kem(alg);
    const kp = kem.keygen();
    const enc = kem.encapsulate(kp.publicKey);
    figures.push([`${alg}.encaps`, () => kem.encapsulate(kp.publicKey)]);
    if (alg !== 'ml-kem-1024')
      figures.push([`${alg}.decaps`, () => kem.decapsulate(enc.cipherText, kp.secretKey)]);
  }
  for (const [name, fn] of figures) {
    emit({ bench: 'crypto', name, unit: 'us/op', ...summarize(microsPerOp(fn, RUNS)), backend: be.name });
  }
}

function mbps(bytes: number, fn: () => void): number[] {
  return microsPerOp(fn, RUNS, 300).map((us) => bytes / us); // bytes/µs = MB/s
}

function toeplitz(): void {
  const KiB = randomBytes(1024);
  const MiB = randomBytes(1 << 20);
  // its mode: one Toeplitz key sized for the message, a fresh 128-bit pad per tag
  const pads = () => new PadStream(randomBytes(16 * 100_000));
  const its1k = new ToeplitzMac(randomBytes(ToeplitzMac.keyBits('its', 128, 1024) / 8 + 1), { mode: 'its' });
  const its1m = new ToeplitzMac(randomBytes(ToeplitzMac.keyBits('its', 128, 1 << 20) / 8 + 1), {
    mode: 'its',
  });
  const dig = new ToeplitzMac(randomBytes(80), { mode: 'digest', hashes: nativeHashes });
  let p = pads();
  const run = (mac: ToeplitzMac, m: Uint8Array) => () => {
    if (p.remaining < 16) p = pads();
    mac.tag(m, p);
  };
  emit({
    bench: 'crypto',
    name: 'toeplitz.its.1KiB',
    unit: 'MB/s',
    ...summarize(mbps(1024, run(its1k, KiB))),
    t: 128,
  });
  emit({
    bench: 'crypto',
    name: 'toeplitz.its.1MiB',
    unit: 'MB/s',
    ...summarize(mbps(1 << 20, run(its1m, MiB))),
    t: 128,
  });
  // interleave digest MAC and plain SHA3-512 runs so both see the same machine load
  const d: number[] = [];
  const h: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    d.push(...mbps(1 << 20, run(dig, MiB)).slice(0, 1));
    h.push(...mbps(1 << 20, () => nativeHashes.sha3_512(MiB)).slice(0, 1));
  }
  const sd = summarize(d);
  const sh = summarize(h);
  emit({
    bench: 'crypto',
    name: 'toeplitz.digest.1MiB',
    unit: 'MB/s',
    ...sd,
    t: 128,
    ratio_vs_sha3_512: Math.round((sh.median / sd.median) * 1000) / 1000,
  });
  emit({ bench: 'crypto', name: 'sha3-512.1MiB', unit: 'MB/s', ...sh, backend: 'node' });
  emit({
    bench: 'crypto',
    name: 'sha3-512.1MiB',
    unit: 'MB/s',
    ...summarize(mbps(1 << 20, () => nobleHashes.sha3_512(MiB))),
    backend: 'noble',
  });
}

export async function benchCrypto(): Promise<void> {
  const oqs = await createOqsBackend();
  pq(oqs);
  pq(nobleBackend);
  toeplitz();
  oqs.destroy();
}
