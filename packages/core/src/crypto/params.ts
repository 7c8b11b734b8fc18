/** Sizes in bytes of every supported algorithm (FIPS 203 Table 3, FIPS 204 Table 2, FIPS 205 Table 2, Falcon spec). */
import type { KemAlg, SigAlg } from './types.js';

export interface SigParams {
  publicKey: number;
  secretKey: number;
  /** Exact, or the maximum for Falcon. */
  signature: number;
  seed: number;
  /** Length of explicit signing randomness. */
  signRand: number;
  /** True when signatures may be shorter than `signature`. */
  variableLength: boolean;
  /** FIPS 204/205 context strings; Falcon (round 3, pre-FIPS 206) has none. */
  context: boolean;
}

export interface KemParams {
  publicKey: number;
  secretKey: number;
  cipherText: number;
  seed: number;
  encapsRandom: number;
  /** ML-KEM rank k (0 for X-Wing, whose ML-KEM part is k = 3). */
  k: number;
}

const mldsa = (publicKey: number, secretKey: number, signature: number): SigParams => ({
  publicKey,
  secretKey,
  signature,
  seed: 32,
  signRand: 32,
  variableLength: false,
  context: true,
});
const slh = (signature: number): SigParams => ({
  publicKey: 32,
  secretKey: 64,
  signature,
  seed: 48,
  signRand: 16,
  variableLength: false,
  context: true,
});

export const SIG_PARAMS: Record<SigAlg, SigParams> = {
  'ml-dsa-44': mldsa(1312, 2560, 2420),
  'ml-dsa-65': mldsa(1952, 4032, 3309),
  'ml-dsa-87': mldsa(2592, 4896, 4627),
  'slh-dsa-sha2-128f': slh(17088),
  'slh-dsa-sha2-128s': slh(7856),
  'slh-dsa-shake-128f': slh(17088),
  'slh-dsa-shake-128s': slh(7856),
  'falcon-512': {
    publicKey: 897,
    secretKey: 1281,
    signature: 752,
    seed: 48,
    signRand: 48,
    variableLength: true,
    context: false,
  },
  'falcon-1024': {
    publicKey: 1793,
    secretKey: 2305,
    signature: 1462,
    seed: 48,
    signRand: 48,
    variableLength: true,
    context: false,
  },
};

const mlkem = (k: number, cipherText: number): KemParams => ({
  publicKey: 384 * k + 32,
  secretKey: 768 * k + 96,
  cipherText,
  seed: 64,
  encapsRandom: 32,
  k,
});

export const KEM_PARAMS: Record<KemAlg, KemParams> = {
  'ml-kem-512': mlkem(2, 768),
  'ml-kem-768': mlkem(3, 1088),
  'ml-kem-1024': mlkem(4, 1568),
  'x-wing': { publicKey: 1216, secretKey: 32, cipherText: 1120, seed: 32, encapsRandom: 64, k: 0 },
};
