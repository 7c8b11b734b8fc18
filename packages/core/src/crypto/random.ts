/** The platform CSPRNG (Web Crypto `getRandomValues`, present in browsers and Node ≥ 19). */
import { assertInt } from '../bytes.js';

const MAX_CHUNK = 65536; // getRandomValues refuses more per call

export function randomBytes(length: number): Uint8Array {
  assertInt('length', length, 0, 2 ** 31 - 1);
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += MAX_CHUNK) {
    globalThis.crypto.getRandomValues(out.subarray(off, Math.min(length, off + MAX_CHUNK)));
  }
  return out;
}
