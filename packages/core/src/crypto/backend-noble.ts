/** The pure-JS backend on @noble/post-quantum: runs everywhere, the only one in a browser. */
import { falcon512, falcon1024 } from '@noble/post-quantum/falcon.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import {
  slh_dsa_sha2_128f,
  slh_dsa_sha2_128s,
  slh_dsa_shake_128f,
  slh_dsa_shake_128s,
} from '@noble/post-quantum/slh-dsa.js';
import { nobleHashes } from './hash-noble.js';
import type { CryptoBackend, Kem, KemAlg, KeyPair, SigAlg, Signer } from './types.js';
import { type RawKem, type RawSigner, wrapKem, wrapSigner } from './wrap.js';

interface NobleSig {
  keygen(seed?: Uint8Array): KeyPair;
  sign(
    msg: Uint8Array,
    sk: Uint8Array,
    opts?: { context?: Uint8Array; extraEntropy?: Uint8Array | false },
  ): Uint8Array;
  verify(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array, opts?: { context?: Uint8Array }): boolean;
}
interface NobleKem {
  keygen(seed?: Uint8Array): KeyPair;
  encapsulate(pk: Uint8Array, msg?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(ct: Uint8Array, sk: Uint8Array): Uint8Array;
}

export const NOBLE_SIGNERS: Record<SigAlg, NobleSig> = {
  'ml-dsa-44': ml_dsa44,
  'ml-dsa-65': ml_dsa65,
  'ml-dsa-87': ml_dsa87,
  'slh-dsa-sha2-128f': slh_dsa_sha2_128f,
  'slh-dsa-sha2-128s': slh_dsa_sha2_128s,
  'slh-dsa-shake-128f': slh_dsa_shake_128f,
  'slh-dsa-shake-128s': slh_dsa_shake_128s,
  'falcon-512': falcon512,
  'falcon-1024': falcon1024,
};

export const NOBLE_KEMS: Record<KemAlg, NobleKem> = {
  'ml-kem-512': ml_kem512,
  'ml-kem-768': ml_kem768,
  'ml-kem-1024': ml_kem1024,
  'x-wing': ml_kem768_x25519,
};

/** Raw noble signing operations; other backends delegate to these for what they lack. */
export function nobleRawSigner(alg: SigAlg): RawSigner {
  const impl = NOBLE_SIGNERS[alg];
  return {
    keygen: (seed) => impl.keygen(seed),
    sign(msg, sk, { context, random }) {
      const opts: { context?: Uint8Array; extraEntropy?: Uint8Array | false } = {};
      if (context.length > 0) opts.context = context;
      if (random !== undefined) opts.extraEntropy = random;
      return impl.sign(msg, sk, opts);
    },
    verify: (sig, msg, pk, context) => impl.verify(sig, msg, pk, context.length > 0 ? { context } : {}),
  };
}

export function nobleRawKem(alg: KemAlg): RawKem {
  const impl = NOBLE_KEMS[alg];
  return {
    keygen: (seed) => impl.keygen(seed),
    encapsulate: (pk, random) => impl.encapsulate(pk, random),
    decapsulate: (ct, sk) => impl.decapsulate(ct, sk),
  };
}

const signers = new Map<SigAlg, Signer>();
const kems = new Map<KemAlg, Kem>();

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  signer(alg) {
    if (!Object.hasOwn(NOBLE_SIGNERS, alg))
      throw new RangeError(`unknown signature algorithm ${JSON.stringify(alg)}`);
    let s = signers.get(alg);
    if (!s) {
      s = wrapSigner(alg, 'noble', nobleRawSigner(alg));
      signers.set(alg, s);
    }
    return s;
  },
  kem(alg) {
    if (!Object.hasOwn(NOBLE_KEMS, alg)) throw new RangeError(`unknown KEM algorithm ${JSON.stringify(alg)}`);
    let k = kems.get(alg);
    if (!k) {
      k = wrapKem(alg, 'noble', nobleRawKem(alg), nobleHashes);
      kems.set(alg, k);
    }
    return k;
  },
};
