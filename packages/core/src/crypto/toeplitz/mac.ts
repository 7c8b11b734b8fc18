/**
 * Wegman–Carter MAC with a Toeplitz hash: tag = T_K(m̃) ⊕ pad.
 *
 * - The Toeplitz key K may serve many messages; each tag consumes a fresh t-bit pad from a
 *   PadStream, so a pad can never be reused through this API.
 * - `its` mode: m̃ = m ‖ 1 ‖ 0…0, padded to the fixed width n = |K| − t + 1 that the key
 *   allows. A fixed n keeps the family ε-AXU (ε = 2^−t) across message lengths: hashing
 *   each message at its own length would let m and 0‖m collide. Security is information-
 *   theoretic: forgery probability ≤ 2^−t per attempt.
 * - `digest` mode: m̃ = SHA3-512(len ‖ label ‖ m), n = 512; the key is 639 bits for t = 128.
 *   Security additionally rests on SHA3-512 collision resistance.
 * Tags are compared in constant time; a tag of the wrong length fails verification.
 */
import { assertBytes, assertInt, equalBytes } from '../../bytes.js';
import { QledgerError } from '../../errors.js';
import { DOMAIN, labelPrefix } from '../domain.js';
import type { HashSuite } from '../types.js';
import {
  bytesToWords,
  toeplitzAccumulate,
  toeplitzKeyBits,
  toeplitzXorWindow,
  wordsToBytes,
} from './hash.js';
import type { PadStream } from './pad-stream.js';

export type MacMode = 'its' | 'digest';

export const MAC_ERRORS = {
  MESSAGE_TOO_LONG: 'MAC_MESSAGE_TOO_LONG',
  DESTROYED: 'MAC_KEY_DESTROYED',
} as const;

export interface ToeplitzMacOptions {
  mode: MacMode;
  /** Tag length in bits, a multiple of 8 (default 128). */
  tagBits?: number;
  /** Needed in `digest` mode. */
  hashes?: HashSuite;
}

const DIGEST_BITS = 512;

export interface MacTag {
  /** Position of the pad in the link's key stream; sent beside the tag. */
  position: number;
  tag: Uint8Array;
}

/**
 * m̃ of `digest` mode for `message`. It does not depend on the key and is no secret (a hash of
 * the message), so a message tagged on several links may be hashed once and the result passed
 * to each link's `tag`.
 */
export function macDigest(hashes: HashSuite, message: Uint8Array): Uint8Array {
  assertBytes('message', message);
  const st = hashes.sha3_512Stream();
  st.update(labelPrefix(DOMAIN.MAC_DIGEST));
  st.update(message);
  return st.digest();
}

export class ToeplitzMac {
  readonly mode: MacMode;
  readonly tagBits: number;
  /** Hash width n: the padded message length in `its` mode, 512 in `digest` mode. */
  readonly width: number;
  #key: Uint32Array | undefined;
  readonly #hashes: HashSuite | undefined;

  /** Key bits a MAC of this mode needs for messages up to `maxMessageBytes` (its) or any (digest). */
  static keyBits(mode: MacMode, tagBits = 128, maxMessageBytes = 0): number {
    return toeplitzKeyBits(mode === 'digest' ? DIGEST_BITS : 8 * maxMessageBytes + 1, tagBits);
  }

  /** Copies `key` (the caller should wipe its own copy); its length fixes the hash width. */
  constructor(key: Uint8Array, opts: ToeplitzMacOptions) {
    assertBytes('key', key);
    if (opts.mode !== 'its' && opts.mode !== 'digest') throw new RangeError(`mode must be 'its' or 'digest'`);
    const t = opts.tagBits ?? 128;
    assertInt('tagBits', t, 8, 1024);
    if (t % 8 !== 0) throw new RangeError(`tagBits must be a multiple of 8, got ${t}`);
    this.mode = opts.mode;
    this.tagBits = t;
    if (opts.mode === 'digest') {
      if (!opts.hashes) throw new TypeError('hashes is required in digest mode');
      this.#hashes = opts.hashes;
      this.width = DIGEST_BITS;
      const need = toeplitzKeyBits(DIGEST_BITS, t);
      if (key.length * 8 < need)
        throw new RangeError(`key must hold ≥ ${need} bits for digest mode, got ${key.length * 8}`);
    } else {
      this.#hashes = undefined;
      this.width = key.length * 8 - t + 1;
      if (this.width < 9)
        throw new RangeError(`key must hold ≥ ${t + 8} bits for its mode, got ${key.length * 8}`);
    }
    const need = toeplitzKeyBits(this.width, t);
    const kw = bytesToWords(key, ((need + 31) >>> 5) + (t >>> 5) + 2);
    if (need & 31) kw[need >>> 5]! &= (1 << (need & 31)) - 1;
    this.#key = kw;
  }

  /** Longest message, in bytes, this key can tag in `its` mode (Infinity in `digest`). */
  get maxMessageBytes(): number {
    return this.mode === 'digest' ? Number.POSITIVE_INFINITY : Math.floor((this.width - 1) / 8);
  }

  /**
   * The tag for `message`, consuming the next pad of `pads`. In `digest` mode `digest` may
   * carry macDigest(hashes, message), computed once for several links; it must be exactly
   * that (a wrong one only makes a tag that fails to verify).
   */
  tag(message: Uint8Array, pads: PadStream, digest?: Uint8Array): MacTag {
    assertBytes('message', message);
    if (digest !== undefined) {
      if (this.mode !== 'digest') throw new TypeError('a precomputed digest needs digest mode');
      assertBytes('digest', digest);
      if (digest.length !== DIGEST_BITS / 8)
        throw new RangeError(`digest must be ${DIGEST_BITS / 8} bytes, got ${digest.length}`);
    }
    const h = this.#hash(message, digest);
    const { position, pad } = pads.next(this.tagBits / 8);
    for (let i = 0; i < h.length; i++) h[i]! ^= pad[i]!;
    pad.fill(0);
    return { position, tag: h };
  }

  /** Checks `tag` against the pad at `position` (consumed whatever the outcome). */
  verify(message: Uint8Array, tag: Uint8Array, position: number, pads: PadStream): boolean {
    assertBytes('message', message);
    assertBytes('tag', tag);
    const pad = pads.at(position, this.tagBits / 8);
    try {
      if (tag.length !== this.tagBits / 8) return false;
      const h = this.#hash(message);
      for (let i = 0; i < h.length; i++) h[i]! ^= pad[i]!;
      const ok = equalBytes(h, tag);
      h.fill(0);
      return ok;
    } finally {
      pad.fill(0);
    }
  }

  /** Zeroes the Toeplitz key; the MAC cannot be used afterwards. */
  destroy(): void {
    this.#key?.fill(0);
    this.#key = undefined;
  }

  #hash(message: Uint8Array, digest?: Uint8Array): Uint8Array {
    const key = this.#key;
    if (!key) throw new QledgerError(MAC_ERRORS.DESTROYED, 'the MAC key was destroyed');
    const t = this.tagBits;
    const acc = new Uint32Array((t >>> 5) + 2);
    if (this.mode === 'digest') {
      toeplitzAccumulate(key, this.width, t, digest ?? macDigest(this.#hashes!, message), acc);
    } else {
      const bits = message.length * 8;
      if (bits + 1 > this.width) {
        throw new QledgerError(
          MAC_ERRORS.MESSAGE_TOO_LONG,
          `message of ${message.length} bytes is longer than this its-mode key allows (${this.maxMessageBytes} bytes); use digest mode or a longer key`,
          { messageBytes: message.length, maxMessageBytes: this.maxMessageBytes },
        );
      }
      toeplitzAccumulate(key, this.width, t, message, acc);
      // the padding bit m̃_bits = 1 sits at column j = bits, window s = n − 1 − bits
      toeplitzXorWindow(key, this.width - 1 - bits, t, acc);
    }
    const out = wordsToBytes(acc, t / 8);
    acc.fill(0);
    return out;
  }
}
