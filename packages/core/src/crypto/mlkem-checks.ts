/**
 * FIPS 203 input checks, applied in front of every backend so that all of them reject the
 * same keys (liboqs' WASM build does not perform them itself).
 */
import { equalBytes } from '../bytes.js';
import type { HashSuite } from './types.js';

const Q = 3329;

/** §7.2 encapsulation-key check: every 12-bit coefficient of ByteDecode12(ek[0:384k]) is < q. */
export function mlKemEncapsKeyOk(ek: Uint8Array, k: number): boolean {
  if (ek.length !== 384 * k + 32) return false;
  const end = 384 * k;
  for (let i = 0; i < end; i += 3) {
    const b0 = ek[i]!;
    const b1 = ek[i + 1]!;
    const b2 = ek[i + 2]!;
    if ((b0 | ((b1 & 0x0f) << 8)) >= Q || ((b1 >> 4) | (b2 << 4)) >= Q) return false;
  }
  return true;
}

/** §7.3 decapsulation-key check: H(ek) stored in dk matches the ek embedded in dk. */
export function mlKemDecapsKeyOk(dk: Uint8Array, k: number, hashes: HashSuite): boolean {
  if (dk.length !== 768 * k + 96) return false;
  const ek = dk.subarray(384 * k, 768 * k + 32);
  const h = dk.subarray(768 * k + 32, 768 * k + 64);
  return equalBytes(hashes.sha3_256(ek), h);
}
