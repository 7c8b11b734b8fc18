/**
 * LtHash: a homomorphic multiset hash (Bellare–Micciancio 1997; the lattice-based lthash16
 * of Lewi, Kim, Maykov and Weis, "Securing update propagation with homomorphic hashing",
 * 2019). Each state entry (key, value) expands by SHAKE256 to 1,024 lanes of 16 bits; the
 * accumulator is their lane-wise sum mod 2¹⁶. Adding or removing an entry costs one
 * expansion, so the state root updates in O(changes) per block instead of rehashing all
 * state. Finding two different sets with one accumulator is as hard as a short-vector
 * problem in a 1,024-dimensional lattice (~200-bit security for these parameters; lattice
 * problems are believed hard for quantum computers too).
 */
import { concatBytes } from '../bytes.js';
import { DOMAIN, domainHash, labelPrefix } from '../crypto/domain.js';
import type { HashSuite } from '../crypto/types.js';

export const LTHASH_LANES = 1024;
export const LTHASH_BYTES = LTHASH_LANES * 2;

const u32 = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const textEncoder = new TextEncoder();

/** The 2,048-byte expansion of one entry: SHAKE256(label ‖ len(key) ‖ key ‖ value). */
export function lthashElement(hashes: HashSuite, key: string, value: Uint8Array): Uint8Array {
  const k = textEncoder.encode(key);
  return hashes.shake256(concatBytes(labelPrefix(DOMAIN.STATE_ENTRY), u32(k.length), k, value), LTHASH_BYTES);
}

export class LtHash {
  /** Lanes as little-endian 16-bit words. */
  readonly lanes: Uint16Array;

  constructor(lanes?: Uint16Array) {
    this.lanes = lanes ? lanes.slice() : new Uint16Array(LTHASH_LANES);
    if (this.lanes.length !== LTHASH_LANES) throw new RangeError(`lthash must have ${LTHASH_LANES} lanes`);
  }

  static fromBytes(b: Uint8Array): LtHash {
    if (b.length !== LTHASH_BYTES)
      throw new RangeError(`lthash must be ${LTHASH_BYTES} bytes, got ${b.length}`);
    const lanes = new Uint16Array(LTHASH_LANES);
    for (let i = 0; i < LTHASH_LANES; i++) lanes[i] = b[2 * i]! | (b[2 * i + 1]! << 8);
    return new LtHash(lanes);
  }

  toBytes(): Uint8Array {
    const b = new Uint8Array(LTHASH_BYTES);
    for (let i = 0; i < LTHASH_LANES; i++) {
      b[2 * i] = this.lanes[i]! & 255;
      b[2 * i + 1] = this.lanes[i]! >>> 8;
    }
    return b;
  }

  clone(): LtHash {
    return new LtHash(this.lanes);
  }

  /** Adds (sign +1) or removes (sign −1) an element produced by lthashElement. */
  mix(element: Uint8Array, sign: 1 | -1): void {
    const l = this.lanes;
    for (let i = 0; i < LTHASH_LANES; i++) {
      const w = element[2 * i]! | (element[2 * i + 1]! << 8);
      l[i] = sign === 1 ? l[i]! + w : l[i]! - w; // Uint16Array wraps mod 2¹⁶
    }
  }

  /** The 32-byte commitment: H(STATE_ROOT, accumulator bytes). */
  root(hashes: HashSuite): Uint8Array {
    return domainHash(hashes, DOMAIN.STATE_ROOT, this.toBytes());
  }
}
