/**
 * Toeplitz hashing over GF(2).
 *
 * A t × n binary Toeplitz matrix is fixed by n + t − 1 key bits k_0 … k_{n+t−2}:
 *   T[i][j] = k[i − j + n − 1],   h = T·m,   h_i = ⊕_j T[i][j]·m_j.
 * Bits are numbered LSB-first within bytes (bit j of a byte string is (b[j>>3] >> (j&7)) & 1).
 * The family {h_T} is ε-almost-XOR-universal with ε = 2^−t for inputs of one length n,
 * which is what the Wegman–Carter MAC in mac.ts needs.
 *
 * Fast path: substituting s = n − 1 − j gives h = ⊕_{j : m_j = 1} W(n − 1 − j), where
 * W(s) = (k_s, …, k_{s+t−1}) is the t-bit key window starting at s. For each chunk of the
 * message the key segment it touches is copied in its 32 bit-shifts, so every window is
 * ⌈t/32⌉ aligned word loads; the work is one word-XOR group per set message bit.
 */
import { assertBytes, assertInt } from '../../bytes.js';

/** Number of key bits a t × n Toeplitz matrix needs. */
export function toeplitzKeyBits(n: number, t: number): number {
  return n + t - 1;
}

/** Little-endian 32-bit words of `b` (bit p of b is bit p&31 of word p>>5), zero-padded. */
export function bytesToWords(b: Uint8Array, minWords = 0): Uint32Array {
  const n = Math.max(minWords, (b.length + 3) >>> 2);
  const w = new Uint32Array(n);
  const full = b.length >>> 2;
  for (let i = 0; i < full; i++) {
    const o = i << 2;
    w[i] = b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
  }
  for (let o = full << 2; o < b.length; o++) w[o >>> 2]! |= b[o]! << ((o & 3) << 3);
  return w;
}

export function wordsToBytes(w: Uint32Array, byteLength: number): Uint8Array {
  const out = new Uint8Array(byteLength);
  for (let i = 0; i < byteLength; i++) out[i] = (w[i >>> 2]! >>> ((i & 3) << 3)) & 0xff;
  return out;
}

const CHUNK_WORDS = 2048; // message words per chunk: shifted key segment ≈ 32 × 2 k words = 256 KiB

/**
 * Core: XORs into `acc` (⌈t/32⌉ words, plus one spare) the Toeplitz hash of the first
 * `msgBits` bits of `msg` under a matrix with n columns. Bits of `msg` at or past msgBits
 * must already be zero. `keyWords` holds at least n + t − 1 bits (plus ⌈t/32⌉ + 1 spare zero words).
 */
export function toeplitzAccumulate(
  keyWords: Uint32Array,
  n: number,
  t: number,
  msg: Uint8Array,
  acc: Uint32Array,
): void {
  const tw = (t + 31) >>> 5;
  const msgWords = (msg.length + 3) >>> 2;
  const seg = new Uint32Array(32 * (Math.min(CHUNK_WORDS, msgWords) + tw + 3));
  for (let c0 = 0; c0 < msgWords; c0 += CHUNK_WORDS) {
    const c1 = Math.min(msgWords, c0 + CHUNK_WORDS);
    // s ranges over (n − 1 − 32·c1, n − 1 − 32·c0]; clamp at 0 (bits past n are zero)
    const sLo = Math.max(0, n - 32 * c1);
    const sw = sLo >>> 5;
    const sHi = n - 1 - 32 * c0;
    const L = (sHi >>> 5) - sw + tw + 1;
    // seg[o·L + q] = key bits [32(sw + q) + o, +32)
    for (let o = 0; o < 32; o++) {
      const base = o * L;
      if (o === 0) {
        for (let q = 0; q < L; q++) seg[base + q] = keyWords[sw + q] ?? 0;
      } else {
        const r = 32 - o;
        for (let q = 0; q < L; q++) {
          seg[base + q] = ((keyWords[sw + q] ?? 0) >>> o) | ((keyWords[sw + q + 1] ?? 0) << r);
        }
      }
    }
    const s0 = 32 * sw;
    if (tw <= 4) {
      let h0 = 0;
      let h1 = 0;
      let h2 = 0;
      let h3 = 0;
      for (let w = c0; w < c1; w++) {
        const o4 = w << 2;
        let x =
          (msg[o4] ?? 0) |
          ((msg[o4 + 1] ?? 0) << 8) |
          ((msg[o4 + 2] ?? 0) << 16) |
          ((msg[o4 + 3] ?? 0) << 24);
        const top = n - 1 - 32 * w - s0; // local s of bit 0 of this word
        while (x !== 0) {
          const lsb = x & -x;
          x ^= lsb;
          const s = top - (31 - Math.clz32(lsb));
          const i = (s & 31) * L + (s >>> 5);
          h0 ^= seg[i]!;
          h1 ^= seg[i + 1]!;
          h2 ^= seg[i + 2]!;
          h3 ^= seg[i + 3]!;
        }
      }
      acc[0]! ^= h0;
      if (tw > 1) acc[1]! ^= h1;
      if (tw > 2) acc[2]! ^= h2;
      if (tw > 3) acc[3]! ^= h3;
    } else {
      for (let w = c0; w < c1; w++) {
        const o4 = w << 2;
        let x =
          (msg[o4] ?? 0) |
          ((msg[o4 + 1] ?? 0) << 8) |
          ((msg[o4 + 2] ?? 0) << 16) |
          ((msg[o4 + 3] ?? 0) << 24);
        const top = n - 1 - 32 * w - s0;
        while (x !== 0) {
          const lsb = x & -x;
          x ^= lsb;
          const s = top - (31 - Math.clz32(lsb));
          const i = (s & 31) * L + (s >>> 5);
          for (let q = 0; q < tw; q++) acc[q]! ^= seg[i + q]!;
        }
      }
    }
  }
  seg.fill(0); // the shifted copies are key material
  maskTail(acc, t);
}

/** XORs the single window W(s) into acc (used for the MAC's padding bit). */
export function toeplitzXorWindow(keyWords: Uint32Array, s: number, t: number, acc: Uint32Array): void {
  const tw = (t + 31) >>> 5;
  const o = s & 31;
  const i = s >>> 5;
  for (let q = 0; q < tw; q++) {
    const lo = keyWords[i + q] ?? 0;
    const hi = keyWords[i + q + 1] ?? 0;
    acc[q]! ^= o === 0 ? lo : (lo >>> o) | (hi << (32 - o));
  }
  maskTail(acc, t);
}

function maskTail(acc: Uint32Array, t: number): void {
  const tw = (t + 31) >>> 5;
  if (t & 31) acc[tw - 1]! &= (1 << (t & 31)) - 1;
  for (let q = tw; q < acc.length; q++) acc[q] = 0;
}

/**
 * Toeplitz hash of an n-bit message (default n = 8·message.length) into t bits,
 * returned in ⌈t/8⌉ bytes (unused high bits zero). `key` must hold ≥ n + t − 1 bits.
 */
export function toeplitzHash(
  key: Uint8Array,
  message: Uint8Array,
  t = 128,
  n = message.length * 8,
): Uint8Array {
  assertBytes('key', key);
  assertBytes('message', message);
  assertInt('t', t, 1, 4096);
  assertInt('n', n, 1, 2 ** 31 - 1);
  if (Math.ceil(n / 8) !== message.length) {
    throw new RangeError(
      `message must be ⌈n/8⌉ = ${Math.ceil(n / 8)} bytes for n = ${n}, got ${message.length}`,
    );
  }
  if (n & 7 && message[message.length - 1]! >>> (n & 7)) {
    throw new RangeError(`message has bits set past bit n = ${n}`);
  }
  const need = toeplitzKeyBits(n, t);
  if (key.length * 8 < need)
    throw new RangeError(
      `key must hold ≥ ${need} bits (${Math.ceil(need / 8)} bytes), got ${key.length} bytes`,
    );
  const kw = bytesToWords(key, ((need + 31) >>> 5) + ((t + 31) >>> 5) + 1);
  // only the first n + t − 1 key bits define the matrix: clear the rest
  const keep = need & 31;
  if (keep) kw[need >>> 5]! &= (1 << keep) - 1;
  for (let q = (need + 31) >>> 5; q < kw.length; q++) kw[q] = 0;
  const acc = new Uint32Array(((t + 31) >>> 5) + 1);
  toeplitzAccumulate(kw, n, t, message, acc);
  kw.fill(0);
  return wordsToBytes(acc, Math.ceil(t / 8));
}
