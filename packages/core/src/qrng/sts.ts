/**
 * A subset of the NIST SP 800-22 rev. 1a statistical test suite: frequency (§2.1), block
 * frequency (§2.2), runs (§2.3), longest run of ones (§2.4), approximate entropy (§2.12) and
 * cumulative sums (§2.13). Each returns a p-value; a sequence passes a test at level α when
 * p ≥ α (SP 800-22 uses α = 0.01). These tests find gross defects (bias, stuck bits,
 * repetition); passing them proves nothing about unpredictability.
 *
 * Bits are a Uint8Array holding one 0/1 value per element (see unpackBits).
 */
import { assertBytes, assertInt } from '../bytes.js';
import { erfc, igamc, normalCdf } from './special.js';

export interface StsResult {
  readonly test: string;
  readonly pValue: number;
  /** The test statistic (χ², V_n, z…) as SP 800-22 names it. */
  readonly statistic: number;
  /** Set when a prerequisite failed and the test did not run (p-value 0). */
  readonly note?: string;
}

/** Unpacks bytes most-significant bit first into one 0/1 value per element. */
export function unpackBits(bytes: Uint8Array, nBits = bytes.length * 8): Uint8Array {
  assertBytes('bytes', bytes);
  assertInt('nBits', nBits, 0, bytes.length * 8);
  const out = new Uint8Array(nBits);
  for (let i = 0; i < nBits; i++) out[i] = (bytes[i >>> 3]! >>> (7 - (i & 7))) & 1;
  return out;
}

/** Parses a string of '0' and '1' characters (other characters are an error). */
export function bitsFromString(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c !== 0 && c !== 1) throw new RangeError(`bit string has ${JSON.stringify(s[i])} at ${i}`);
    out[i] = c;
  }
  return out;
}

function checkBits(bits: Uint8Array, min = 1): number {
  assertBytes('bits', bits);
  if (bits.length < min) throw new RangeError(`bits must hold at least ${min} bits, got ${bits.length}`);
  for (let i = 0; i < bits.length; i++) {
    if (bits[i]! > 1) throw new RangeError(`bits[${i}] must be 0 or 1, got ${bits[i]}`);
  }
  return bits.length;
}

/** §2.1 Frequency (monobit) test. */
export function frequencyTest(bits: Uint8Array): StsResult {
  const n = checkBits(bits);
  let s = 0;
  for (let i = 0; i < n; i++) s += 2 * bits[i]! - 1;
  const sObs = Math.abs(s) / Math.sqrt(n);
  return { test: 'frequency', statistic: sObs, pValue: erfc(sObs / Math.SQRT2) };
}

/** §2.2 Frequency test within blocks of M bits (default 128). */
export function blockFrequencyTest(bits: Uint8Array, blockSize = 128): StsResult {
  const n = checkBits(bits);
  assertInt('blockSize', blockSize, 1, n);
  const blocks = Math.floor(n / blockSize);
  let chi = 0;
  for (let b = 0; b < blocks; b++) {
    let ones = 0;
    for (let j = b * blockSize; j < (b + 1) * blockSize; j++) ones += bits[j]!;
    const d = ones / blockSize - 0.5;
    chi += d * d;
  }
  chi *= 4 * blockSize;
  return { test: 'block-frequency', statistic: chi, pValue: igamc(blocks / 2, chi / 2) };
}

/** §2.3 Runs test (needs the frequency prerequisite |π − ½| < 2/√n). */
export function runsTest(bits: Uint8Array): StsResult {
  const n = checkBits(bits, 2);
  let ones = 0;
  for (let i = 0; i < n; i++) ones += bits[i]!;
  const pi = ones / n;
  if (Math.abs(pi - 0.5) >= 2 / Math.sqrt(n)) {
    return { test: 'runs', statistic: 0, pValue: 0, note: 'frequency prerequisite failed' };
  }
  let v = 1;
  for (let i = 0; i < n - 1; i++) if (bits[i] !== bits[i + 1]) v++;
  const num = Math.abs(v - 2 * n * pi * (1 - pi));
  const den = 2 * Math.sqrt(2 * n) * pi * (1 - pi);
  return { test: 'runs', statistic: v, pValue: erfc(num / den) };
}

/** §2.4 table: block size M, class bounds, class probabilities (as in the NIST sts). */
const LONGEST_RUN = [
  { minN: 750_000, m: 10_000, lo: 10, hi: 16, pi: [0.0882, 0.2092, 0.2483, 0.1933, 0.1208, 0.0675, 0.0727] },
  {
    minN: 6272,
    m: 128,
    lo: 4,
    hi: 9,
    pi: [0.1174035788, 0.242955959, 0.249363483, 0.17517706, 0.102701071, 0.112398847],
  },
  { minN: 128, m: 8, lo: 1, hi: 4, pi: [0.21484375, 0.3671875, 0.23046875, 0.1875] },
] as const;

/** §2.4 Test for the longest run of ones in a block (n ≥ 128). */
export function longestRunTest(bits: Uint8Array): StsResult {
  const n = checkBits(bits, 128);
  const row = LONGEST_RUN.find((r) => n >= r.minN)!;
  const blocks = Math.floor(n / row.m);
  const counts = new Array<number>(row.pi.length).fill(0);
  for (let b = 0; b < blocks; b++) {
    let run = 0;
    let longest = 0;
    for (let j = b * row.m; j < (b + 1) * row.m; j++) {
      run = bits[j] ? run + 1 : 0;
      if (run > longest) longest = run;
    }
    const cls = Math.min(Math.max(longest, row.lo), row.hi) - row.lo;
    counts[cls]!++;
  }
  let chi = 0;
  for (let i = 0; i < row.pi.length; i++) {
    const e = blocks * row.pi[i]!;
    chi += (counts[i]! - e) ** 2 / e;
  }
  return { test: 'longest-run', statistic: chi, pValue: igamc((row.pi.length - 1) / 2, chi / 2) };
}

/** φ(m) = Σ πᵢ ln πᵢ over the overlapping m-bit patterns of the circularly extended sequence. */
function phi(bits: Uint8Array, m: number): number {
  const n = bits.length;
  if (m === 0) return 0;
  const counts = new Uint32Array(1 << m);
  const mask = (1 << m) - 1;
  let w = 0;
  for (let i = 0; i < m - 1; i++) w = (w << 1) | bits[i]!;
  for (let i = 0; i < n; i++) {
    w = ((w << 1) | bits[(i + m - 1) % n]!) & mask;
    counts[w]!++;
  }
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0) sum += (c / n) * Math.log(c / n);
  }
  return sum;
}

/** §2.12 Approximate entropy test with pattern length m (default 10). */
export function approximateEntropyTest(bits: Uint8Array, m = 10): StsResult {
  const n = checkBits(bits);
  assertInt('m', m, 1, 20);
  const apEn = phi(bits, m) - phi(bits, m + 1);
  const chi = 2 * n * (Math.LN2 - apEn);
  return { test: 'approximate-entropy', statistic: chi, pValue: igamc(2 ** (m - 1), chi / 2) };
}

/** §2.13 Cumulative sums test, forward (mode 0) or backward (mode 1). */
export function cumulativeSumsTest(bits: Uint8Array, reverse = false): StsResult {
  const n = checkBits(bits);
  let s = 0;
  let z = 0;
  for (let k = 0; k < n; k++) {
    s += 2 * bits[reverse ? n - 1 - k : k]! - 1;
    if (Math.abs(s) > z) z = Math.abs(s);
  }
  if (z === 0) return { test: reverse ? 'cusum-backward' : 'cusum-forward', statistic: 0, pValue: 1 };
  // The summation limits use C integer division, as the NIST sts reference code does; the
  // worked examples of SP 800-22 §2.13.4/§2.13.8 (p = 0.4116588) come from that convention.
  const t = Math.trunc;
  const sq = Math.sqrt(n);
  let sum1 = 0;
  for (let k = t((t(-n / z) + 1) / 4); k <= t((t(n / z) - 1) / 4); k++) {
    sum1 += normalCdf(((4 * k + 1) * z) / sq) - normalCdf(((4 * k - 1) * z) / sq);
  }
  let sum2 = 0;
  for (let k = t((t(-n / z) - 3) / 4); k <= t((t(n / z) - 1) / 4); k++) {
    sum2 += normalCdf(((4 * k + 3) * z) / sq) - normalCdf(((4 * k + 1) * z) / sq);
  }
  return {
    test: reverse ? 'cusum-backward' : 'cusum-forward',
    statistic: z,
    pValue: Math.min(1, Math.max(0, 1 - sum1 + sum2)),
  };
}

export interface StsOptions {
  readonly blockSize?: number;
  readonly apEnM?: number;
}

/** All the tests above with SP 800-22's recommended parameters. */
export function runStatisticalTests(bits: Uint8Array, opts: StsOptions = {}): StsResult[] {
  return [
    frequencyTest(bits),
    blockFrequencyTest(bits, opts.blockSize ?? 128),
    runsTest(bits),
    longestRunTest(bits),
    approximateEntropyTest(bits, opts.apEnM ?? 10),
    cumulativeSumsTest(bits, false),
    cumulativeSumsTest(bits, true),
  ];
}
