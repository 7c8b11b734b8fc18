/**
 * Synchronous byte streams that samplers and the circuit simulator draw from. A stream is
 * either the platform CSPRNG or a deterministic SHAKE256 expansion of a seed (used where
 * every validator must derive the same choices, e.g. the leader order from the beacon seed).
 */
import { shake256 } from '@noble/hashes/sha3.js';
import { assertBytes, assertInt, concatBytes } from '../bytes.js';
import { DOMAIN, labelPrefix } from '../crypto/domain.js';
import { randomBytes } from '../crypto/random.js';

export interface RandomStream {
  /** Returns `length` fresh bytes; never the same bytes twice. */
  bytes(length: number): Uint8Array;
}

/** The platform CSPRNG as a stream. */
export const osStream: RandomStream = { bytes: randomBytes };

/**
 * Deterministic stream: SHAKE256(len‖"qledger/v1/qrng-stream" ‖ seed) read as an XOF.
 * Identical on every platform for the same seed; the seed must carry ≥ 256 bits of entropy
 * when the output must be unpredictable.
 */
export function seededStream(seed: Uint8Array): RandomStream {
  assertBytes('seed', seed);
  const xof = shake256.create({}).update(concatBytes(labelPrefix(DOMAIN.QRNG_STREAM), seed));
  return {
    bytes(length: number): Uint8Array {
      assertInt('length', length, 0, 2 ** 30);
      return length === 0 ? new Uint8Array(0) : xof.xof(length);
    },
  };
}
