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
import { concatBytes, equalBytes } from '../bytes.js';
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

/**
 * The expansions of recently added entries, by key, so that the block which next changes a key
 * does not expand its old value again: a sender's sequence number changes in every block it
 * has a transaction in, and each change removes the old entry and adds the new one (two
 * 2,048-byte SHAKE256 expansions; with this, one). A hit needs the very bytes the expansion was
 * made of, so a stale or foreign entry (another candidate block's, an evicted key's) is
 * expanded afresh: the cache changes no result, only its cost. Least recently added entries
 * are dropped beyond `max` (each holds about 2 KiB).
 */
export class LtHashElements {
  readonly #byKey = new Map<string, { readonly value: Uint8Array; readonly element: Uint8Array }>();
  /** Expansions served from the cache, and made (for tests and benchmarks). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(readonly max = 8192) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`max must be a whole number ≥ 0, got ${max}`);
  }

  /** lthashElement(hashes, key, value), from the cache when it holds this key with these bytes. */
  element(hashes: HashSuite, key: string, value: Uint8Array): Uint8Array {
    const hit = this.#byKey.get(key);
    if (hit && equalBytes(hit.value, value)) {
      this.stats.hits++;
      return hit.element;
    }
    this.stats.misses++;
    return lthashElement(hashes, key, value);
  }

  /** The expansion of `key` = `value` being added: remembered for when it is removed. */
  added(hashes: HashSuite, key: string, value: Uint8Array): Uint8Array {
    const element = this.element(hashes, key, value);
    if (this.max === 0) return element;
    this.#byKey.delete(key);
    // A copy: the caller's array could be written to later; the cache must not follow it.
    this.#byKey.set(key, { value: value.slice(), element });
    if (this.#byKey.size > this.max) this.#byKey.delete(this.#byKey.keys().next().value!);
    return element;
  }

  get size(): number {
    return this.#byKey.size;
  }
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
