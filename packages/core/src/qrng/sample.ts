/**
 * Unbiased sampling from a byte stream: integers in a range by rejection sampling, floats in
 * [0, 1) with 53 random bits, and a Fisher–Yates shuffle that always returns a full
 * permutation. (The reference ledger drew 15 values in [0, 3] from a QRNG and de-duplicated
 * them, so a peer went missing from the vote queue with probability ≈ 4·(3/4)^15 ≈ 5 %.)
 */
import { assertInt } from '../bytes.js';
import { QledgerError } from '../errors.js';
import type { RandomStream } from './stream.js';

/**
 * Rejection rounds before a stream is declared stuck. Each round rejects with probability
 * < 1/2, so a healthy stream reaches this with probability < 2^-128.
 */
export const MAX_REJECTIONS = 128;

/** Number of bits needed to write `v` (0 for 0). */
function bitLength(v: number): number {
  let bits = 0;
  while (v >= 1) {
    v = Math.floor(v / 2);
    bits++;
  }
  return bits;
}

/**
 * A uniform integer in [0, bound), bound ≤ 2^53. Draws ⌈k/8⌉ bytes per attempt (k bits of
 * bound − 1), keeps the low k bits big-endian, and rejects values ≥ bound: no modulo bias.
 * Throws QRNG_STREAM_STUCK after MAX_REJECTIONS rejections in a row.
 */
export function uniformInt(stream: RandomStream, bound: number): number {
  assertInt('bound', bound, 1, 2 ** 53);
  const bits = bitLength(bound - 1);
  const nBytes = Math.ceil(bits / 8);
  const topMask = bits % 8 === 0 ? 0xff : (1 << (bits % 8)) - 1;
  for (let attempt = 0; attempt < MAX_REJECTIONS; attempt++) {
    const b = stream.bytes(nBytes);
    let v = 0;
    for (let i = 0; i < nBytes; i++) v = v * 256 + (i === 0 ? b[0]! & topMask : b[i]!);
    if (v < bound) return v;
  }
  throw new QledgerError(
    'QRNG_STREAM_STUCK',
    `random stream rejected ${MAX_REJECTIONS} times in a row while drawing below ${bound}`,
    { bound },
  );
}

/** The float in [0, 1) that 7 bytes at `offset` encode: 53 bits, big-endian, top 3 bits dropped. */
export function floatFromBytes(b: Uint8Array, offset = 0): number {
  let v = b[offset]! & 0x1f;
  for (let i = 1; i < 7; i++) v = v * 256 + b[offset + i]!;
  return v / 2 ** 53;
}

/** A uniform float in [0, 1) with 53 random bits (7 bytes from the stream). */
export function uniformFloat(stream: RandomStream): number {
  return floatFromBytes(stream.bytes(7));
}

/**
 * Fisher–Yates (Durstenfeld) shuffle: a new array holding every element of `items` exactly
 * once, each of the n! orders equally likely. Never drops or repeats an element.
 */
export function shuffle<T>(items: readonly T[], stream: RandomStream): T[] {
  if (!Array.isArray(items)) throw new TypeError('items must be an array');
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = uniformInt(stream, i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}
