/**
 * Backend on Open Quantum Safe's liboqs compiled to WebAssembly (@oqs/liboqs-js): several
 * times faster than pure JS, Node's default. liboqs' WASM API covers random keygen, hedged
 * signing and verification with an empty context, and ML-KEM; for the rest — keygen from a
 * seed, deterministic or caller-randomised signing, non-empty FIPS 204/205 contexts and
 * derandomised encapsulation — it delegates to noble, which computes the same functions
 * (the differential tests check that the two agree). X-Wing is composed here from liboqs
 * ML-KEM-768, node:crypto X25519 and SHA3-256 (draft-connolly-cfrg-xwing-kem).
 */
import {
  createFalcon512,
  createFalcon1024,
  createMLDSA44,
  createMLDSA65,
  createMLDSA87,
  createMLKEM512,
  createMLKEM768,
  createMLKEM1024,
  createSlhDsaSha2128f,
  createSlhDsaSha2128s,
  createSlhDsaShake128f,
  createSlhDsaShake128s,
} from '@oqs/liboqs-js';
import {
  type CryptoBackend,
  concatBytes,
  type Kem,
  type KemAlg,
  type KeyPair,
  NOBLE_KEMS,
  nobleRawKem,
  nobleRawSigner,
  type RawKem,
  type RawSigner,
  randomBytes,
  type SigAlg,
  type Signer,
  wipe,
  wrapKem,
  wrapSigner,
} from '@qledger/core';
import { nativeHashes } from './hash-native.js';
import { x25519, x25519PublicKey } from './x25519.js';

interface OqsSig {
  generateKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array };
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
  destroy(): void;
}
interface OqsKem {
  generateKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array };
  encapsulate(publicKey: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
  destroy(): void;
}

const SIG_FACTORIES: Record<SigAlg, () => Promise<OqsSig>> = {
  'ml-dsa-44': createMLDSA44,
  'ml-dsa-65': createMLDSA65,
  'ml-dsa-87': createMLDSA87,
  'slh-dsa-sha2-128f': createSlhDsaSha2128f,
  'slh-dsa-sha2-128s': createSlhDsaSha2128s,
  'slh-dsa-shake-128f': createSlhDsaShake128f,
  'slh-dsa-shake-128s': createSlhDsaShake128s,
  'falcon-512': createFalcon512,
  'falcon-1024': createFalcon1024,
};
const KEM_FACTORIES: Record<Exclude<KemAlg, 'x-wing'>, () => Promise<OqsKem>> = {
  'ml-kem-512': createMLKEM512,
  'ml-kem-768': createMLKEM768,
  'ml-kem-1024': createMLKEM1024,
};

function oqsRawSigner(alg: SigAlg, oqs: OqsSig): RawSigner {
  const noble = nobleRawSigner(alg);
  return {
    keygen: (seed) => (seed === undefined ? oqs.generateKeyPair() : noble.keygen(seed)),
    sign(msg, sk, opts) {
      if (opts.context.length > 0 || opts.random !== undefined) return noble.sign(msg, sk, opts);
      return oqs.sign(msg, sk);
    },
    verify(sig, msg, pk, context) {
      if (context.length > 0) return noble.verify(sig, msg, pk, context);
      return oqs.verify(msg, sig, pk);
    },
  };
}

function oqsRawKem(alg: KemAlg, oqs: OqsKem): RawKem {
  const noble = nobleRawKem(alg);
  return {
    keygen: (seed) => (seed === undefined ? oqs.generateKeyPair() : noble.keygen(seed)),
    encapsulate(pk, random) {
      if (random !== undefined) return noble.encapsulate(pk, random);
      const r = oqs.encapsulate(pk);
      return { cipherText: r.ciphertext, sharedSecret: r.sharedSecret };
    },
    decapsulate: (ct, sk) => oqs.decapsulate(ct, sk),
  };
}

/** X-Wing label "\.//^\" (draft-connolly-cfrg-xwing-kem §5.3). */
const XWING_LABEL = new Uint8Array([0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c]);

function xwingExpand(seed: Uint8Array): { mlkem: KeyPair; skX: Uint8Array; pkX: Uint8Array } {
  const expanded = nativeHashes.shake256(seed, 96);
  const mlkem = NOBLE_KEMS['ml-kem-768'].keygen(expanded.subarray(0, 64));
  const skX = expanded.slice(64, 96);
  wipe(expanded);
  return { mlkem, skX, pkX: x25519PublicKey(skX) };
}

function xwingCombine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  const input = concatBytes(ssM, ssX, ctX, pkX, XWING_LABEL);
  const ss = nativeHashes.sha3_256(input);
  wipe(input, ssM, ssX);
  return ss;
}

function xwingRawKem(mlkem: OqsKem): RawKem {
  const noble = nobleRawKem('x-wing');
  return {
    keygen(seed) {
      const sk = seed === undefined ? randomBytes(32) : seed.slice();
      const { mlkem: m, skX, pkX } = xwingExpand(sk);
      wipe(m.secretKey, skX);
      return { publicKey: concatBytes(m.publicKey, pkX), secretKey: sk };
    },
    encapsulate(pk, random) {
      if (random !== undefined) return noble.encapsulate(pk, random);
      const pkM = pk.subarray(0, 1184);
      const pkX = pk.subarray(1184);
      const ekX = randomBytes(32);
      const ctX = x25519PublicKey(ekX);
      const ssX = x25519(ekX, pkX);
      wipe(ekX);
      const { ciphertext: ctM, sharedSecret: ssM } = mlkem.encapsulate(pkM);
      return { cipherText: concatBytes(ctM, ctX), sharedSecret: xwingCombine(ssM, ssX, ctX, pkX) };
    },
    decapsulate(ct, sk) {
      const { mlkem: m, skX, pkX } = xwingExpand(sk);
      const ctM = ct.subarray(0, 1088);
      const ctX = ct.subarray(1088);
      const ssM = mlkem.decapsulate(ctM, m.secretKey);
      const ssX = x25519(skX, ctX);
      wipe(m.secretKey, skX);
      return xwingCombine(ssM, ssX, ctX, pkX);
    },
  };
}

export interface OqsBackend extends CryptoBackend {
  /** Frees the WASM instances. */
  destroy(): void;
}

/** Loads liboqs' WASM modules for every algorithm (about half a second on the development machine). */
export async function createOqsBackend(): Promise<OqsBackend> {
  const sigAlgs = Object.keys(SIG_FACTORIES) as SigAlg[];
  const kemAlgs = Object.keys(KEM_FACTORIES) as Exclude<KemAlg, 'x-wing'>[];
  const sigImpls = await Promise.all(sigAlgs.map((a) => SIG_FACTORIES[a]()));
  const kemImpls = await Promise.all(kemAlgs.map((a) => KEM_FACTORIES[a]()));
  const signers = new Map<SigAlg, Signer>(
    sigAlgs.map((a, i) => [a, wrapSigner(a, 'liboqs', oqsRawSigner(a, sigImpls[i]!))]),
  );
  const kems = new Map<KemAlg, Kem>(
    kemAlgs.map((a, i) => [a, wrapKem(a, 'liboqs', oqsRawKem(a, kemImpls[i]!), nativeHashes)]),
  );
  const mlkem768 = kemImpls[kemAlgs.indexOf('ml-kem-768')]!;
  kems.set('x-wing', wrapKem('x-wing', 'liboqs', xwingRawKem(mlkem768), nativeHashes));
  return {
    name: 'liboqs',
    signer(alg) {
      const s = signers.get(alg);
      if (!s) throw new RangeError(`unknown signature algorithm ${JSON.stringify(alg)}`);
      return s;
    },
    kem(alg) {
      const k = kems.get(alg);
      if (!k) throw new RangeError(`unknown KEM algorithm ${JSON.stringify(alg)}`);
      return k;
    },
    destroy() {
      for (const s of sigImpls) s.destroy();
      for (const k of kemImpls) k.destroy();
    },
  };
}
