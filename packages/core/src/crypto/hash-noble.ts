/** HashSuite on @noble/hashes: the browser implementation, and the reference for node:crypto. */

import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { sha3_256, sha3_512, shake256 } from '@noble/hashes/sha3.js';
import { assertBytes, assertInt } from '../bytes.js';
import type { HashSuite, HkdfHash } from './types.js';

const HKDF_HASHES = { sha256, sha512, 'sha3-256': sha3_256, 'sha3-512': sha3_512 } as const;
const HASH_LEN: Record<HkdfHash, number> = { sha256: 32, sha512: 64, 'sha3-256': 32, 'sha3-512': 64 };

/** Validates HKDF arguments identically for every suite (RFC 5869 §2.3: L ≤ 255·HashLen). */
export function checkHkdfArgs(
  hash: HkdfHash,
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): void {
  if (!Object.hasOwn(HASH_LEN, hash))
    throw new RangeError(`hash must be one of ${Object.keys(HASH_LEN).join(', ')}`);
  assertBytes('ikm', ikm);
  assertBytes('salt', salt);
  assertBytes('info', info);
  assertInt('length', length, 1, 255 * HASH_LEN[hash]);
}

export const nobleHashes: HashSuite = {
  name: 'noble',
  sha256(d) {
    assertBytes('data', d);
    return sha256(d);
  },
  sha3_256Parts(parts) {
    const h = sha3_256.create();
    for (const p of parts) {
      assertBytes('part', p);
      h.update(p);
    }
    return h.digest();
  },
  sha3_256(d) {
    assertBytes('data', d);
    return sha3_256(d);
  },
  sha3_512(d) {
    assertBytes('data', d);
    return sha3_512(d);
  },
  shake256(d, outputLength) {
    assertBytes('data', d);
    assertInt('outputLength', outputLength, 0, 2 ** 30);
    return shake256(d, { dkLen: outputLength });
  },
  hkdf(hash, ikm, salt, info, length) {
    checkHkdfArgs(hash, ikm, salt, info, length);
    return hkdf(HKDF_HASHES[hash], ikm, salt, info, length);
  },
  sha3_512Stream() {
    const h = sha3_512.create();
    return {
      update(d) {
        assertBytes('data', d);
        h.update(d);
      },
      digest: () => h.digest(),
    };
  },
};
