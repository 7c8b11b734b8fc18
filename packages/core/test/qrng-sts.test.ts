import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  approximateEntropyTest,
  bitsFromString,
  blockFrequencyTest,
  cumulativeSumsTest,
  erfc,
  frequencyTest,
  igamc,
  longestRunTest,
  runStatisticalTests,
  runsTest,
  seededStream,
  unpackBits,
} from '../src/index.js';

const near = (got: number, want: number, tol: number, what: string) =>
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);

// The worked examples of SP 800-22 rev. 1a §2: ε is the first 100 bits of the binary
// expansion of π's fraction as printed there.
const EPS100 =
  '1100100100001111110110101010001000100001011010001100001000110100110001001100011001100010100010111000';

test('special functions: erfc and igamc at known values', () => {
  near(erfc(0), 1, 1e-15, 'erfc(0)');
  near(erfc(1), 0.15729920705028513, 1e-14, 'erfc(1)');
  near(erfc(3), 2.209049699858544e-5, 1e-17, 'erfc(3)');
  near(erfc(-1), 1.8427007929497148, 1e-14, 'erfc(-1)');
  near(igamc(1, 2), Math.exp(-2), 1e-15, 'Q(1,2) = e^-2');
  near(igamc(3, 2.5), Math.exp(-2.5) * (1 + 2.5 + 2.5 ** 2 / 2), 1e-14, 'Q(3,2.5)');
  // integer a: Q(a, x) = e^-x Σ_{k<a} x^k/k!, summed directly
  for (const [a, x] of [
    [50, 40],
    [5, 12],
    [128, 100],
    [2, 0.3],
  ] as const) {
    let term = Math.exp(-x);
    let sum = 0;
    for (let k = 0; k < a; k++) {
      sum += term;
      term *= x / (k + 1);
    }
    near(igamc(a, x), sum, 1e-12, `Q(${a},${x})`);
  }
});

test('SP 800-22 §2 worked examples', () => {
  near(frequencyTest(bitsFromString('1011010101')).pValue, 0.527089, 1e-6, '§2.1.4');
  near(frequencyTest(bitsFromString(EPS100)).pValue, 0.109599, 1e-6, '§2.1.8');
  near(blockFrequencyTest(bitsFromString('0110011010'), 3).pValue, 0.801252, 1e-6, '§2.2.4');
  near(blockFrequencyTest(bitsFromString(EPS100), 10).pValue, 0.706438, 1e-6, '§2.2.8');
  near(runsTest(bitsFromString('1001101011')).pValue, 0.147232, 1e-6, '§2.3.4');
  near(runsTest(bitsFromString(EPS100)).pValue, 0.500798, 1e-6, '§2.3.8');
  const lr128 =
    '11001100000101010110110001001100111000000000001001001101010100010001001111010110100000001101011111001100111001101101100010110010';
  near(longestRunTest(bitsFromString(lr128)).pValue, 0.180598, 2e-5, '§2.4.8'); // spec rounds π_i
  near(approximateEntropyTest(bitsFromString('0100110101'), 3).pValue, 0.261961, 1e-6, '§2.12.4');
  near(approximateEntropyTest(bitsFromString(EPS100), 2).pValue, 0.235301, 1e-6, '§2.12.8');
  near(cumulativeSumsTest(bitsFromString('1011010111')).pValue, 0.4116588, 1e-6, '§2.13.4');
  near(cumulativeSumsTest(bitsFromString(EPS100)).pValue, 0.219194, 1e-6, '§2.13.8 forward');
  near(cumulativeSumsTest(bitsFromString(EPS100), true).pValue, 0.114866, 1e-6, '§2.13.8 backward');
});

/** The first n bits after the binary point of e, exactly: ⌊(e − 2)·2^n⌋ by binary splitting of Σ 1/k!. */
function eBits(n: number): Uint8Array {
  const split = (a: bigint, b: bigint): [bigint, bigint] => {
    if (b - a === 1n) return [1n, b];
    const m = (a + b) / 2n;
    const [p1, q1] = split(a, m);
    const [p2, q2] = split(m, b);
    return [p1 * q2 + p2, q1 * q2];
  };
  let k = 1;
  for (let lg = 0; lg < n + 64; ) lg += Math.log2(++k);
  const [p, q] = split(0n, BigInt(k)); // Σ_{j=1..k} 1/j! = p/q = e − 1 − tail
  const s = (((p + q) << BigInt(n)) / q).toString(2); // e·2^n in binary: "10" then the fraction
  return bitsFromString(s.slice(0, n)); // SP 800-22's file starts with e's leading "1"
}

test('SP 800-22 Appendix B: the binary expansion of e (10^6 bits) gives the published p-values', () => {
  const bits = eBits(1_000_000);
  const got = Object.fromEntries(runStatisticalTests(bits).map((r) => [r.test, r.pValue]));
  const published = {
    frequency: 0.953749,
    'block-frequency': 0.211072,
    runs: 0.561917,
    'longest-run': 0.718945,
    'approximate-entropy': 0.700073,
    'cusum-forward': 0.669887,
    'cusum-backward': 0.724266,
  };
  for (const [name, p] of Object.entries(published)) near(got[name]!, p, 2e-6, name);
});

const MILLION = 1_000_000;

test('a good source passes every test at α = 0.01 on 10^6 bits (SHAKE256 stream, fixed seed)', () => {
  const bits = unpackBits(seededStream(new TextEncoder().encode('good source')).bytes(MILLION / 8));
  for (const r of runStatisticalTests(bits)) assert.ok(r.pValue >= 0.01, `${r.test}: p = ${r.pValue}`);
});

test('biased, stuck and repeating sources fail on 10^6 bits', () => {
  const rng = seededStream(new TextEncoder().encode('bad sources'));
  // biased: each bit is 1 with probability 0.52
  const u = rng.bytes(MILLION);
  const biased = u.map((b) => (b < 0.52 * 256 ? 1 : 0));
  const fails = (bits: Uint8Array) =>
    runStatisticalTests(bits)
      .filter((r) => r.pValue < 0.01)
      .map((r) => r.test);
  const fb = fails(biased);
  for (const t of ['frequency', 'cusum-forward', 'cusum-backward', 'runs'])
    assert.ok(fb.includes(t), `biased: ${t}`);
  // stuck at one
  assert.deepEqual(fails(new Uint8Array(MILLION).fill(1)).length, 7);
  // repeating: a 16-byte random block over and over — balanced, but patterns repeat
  const block = rng.bytes(16);
  const rep = unpackBits(new Uint8Array(MILLION / 8).map((_, i) => block[i % 16]!));
  const fr = fails(rep);
  assert.ok(fr.includes('approximate-entropy'), `repeating: ${fr.join(',')}`);
  // a source that never repeats a bit (0101…) is balanced but fails the runs test
  assert.ok(fails(new Uint8Array(MILLION).map((_, i) => i & 1)).includes('runs'));
});

test('inputs are validated', () => {
  assert.throws(() => frequencyTest(new Uint8Array([0, 2])), /bits\[1\] must be 0 or 1/);
  assert.throws(() => longestRunTest(new Uint8Array(100)), /at least 128 bits/);
  assert.throws(() => blockFrequencyTest(new Uint8Array(10), 11), /blockSize must be in \[1, 10\]/);
  assert.throws(() => bitsFromString('01x'), /"x" at 2/);
  assert.throws(() => approximateEntropyTest(new Uint8Array(10), 0), /m must be in \[1, 20\]/);
});
