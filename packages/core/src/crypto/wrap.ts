/**
 * Argument validation shared by every backend: a backend supplies raw operations, these
 * wrappers check every argument (TypeError for wrong types, RangeError naming the argument for
 * wrong lengths) and give all backends one behaviour at the edges.
 */
import { assertBytes } from '../bytes.js';
import { mlKemDecapsKeyOk, mlKemEncapsKeyOk } from './mlkem-checks.js';
import { KEM_PARAMS, SIG_PARAMS } from './params.js';
import type { Encapsulation, HashSuite, Kem, KemAlg, KeyPair, SigAlg, Signer } from './types.js';

export interface RawSignOpts {
  context: Uint8Array;
  /** undefined → hedged with fresh randomness; false → deterministic; bytes → these. */
  random: Uint8Array | false | undefined;
}

export interface RawSigner {
  keygen(seed: Uint8Array | undefined): KeyPair;
  sign(message: Uint8Array, secretKey: Uint8Array, opts: RawSignOpts): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, context: Uint8Array): boolean;
}

const EMPTY = new Uint8Array(0);

function checkContext(alg: SigAlg, ctx: unknown): Uint8Array {
  if (ctx === undefined) return EMPTY;
  assertBytes('context', ctx);
  if (ctx.length > 255) throw new RangeError(`context must be at most 255 bytes, got ${ctx.length}`);
  if (ctx.length > 0 && !SIG_PARAMS[alg].context) throw new RangeError(`context is not supported by ${alg}`);
  return ctx;
}

function checkOpts(opts: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) throw new TypeError('opts must be an object');
  for (const k of Object.keys(opts)) {
    // a typo such as { ctx } must not silently sign without domain separation
    if (!allowed.includes(k))
      throw new TypeError(`opts.${k} is not an option (allowed: ${allowed.join(', ')})`);
  }
  return opts as Record<string, unknown>;
}

export function wrapSigner(alg: SigAlg, backend: string, raw: RawSigner): Signer {
  const p = SIG_PARAMS[alg];
  return Object.freeze({
    alg,
    backend,
    publicKeyLength: p.publicKey,
    secretKeyLength: p.secretKey,
    signatureLength: p.signature,
    seedLength: p.seed,
    keygen(seed?: Uint8Array): KeyPair {
      if (seed !== undefined) assertBytes('seed', seed, p.seed);
      return raw.keygen(seed);
    },
    sign(
      message: Uint8Array,
      secretKey: Uint8Array,
      opts?: { context?: Uint8Array; random?: Uint8Array | false },
    ) {
      assertBytes('message', message);
      assertBytes('secretKey', secretKey, p.secretKey);
      const o = checkOpts(opts, ['context', 'random']);
      const context = checkContext(alg, o.context);
      const random = o.random;
      if (random !== undefined && random !== false) assertBytes('random', random, p.signRand);
      return raw.sign(message, secretKey, { context, random: random as Uint8Array | false | undefined });
    },
    verify(
      signature: Uint8Array,
      message: Uint8Array,
      publicKey: Uint8Array,
      opts?: { context?: Uint8Array },
    ) {
      assertBytes('signature', signature);
      assertBytes('message', message);
      assertBytes('publicKey', publicKey, p.publicKey);
      const context = checkContext(alg, checkOpts(opts, ['context']).context);
      // a signature of the wrong length is a bad signature, not a malformed argument
      if (
        p.variableLength
          ? signature.length === 0 || signature.length > p.signature
          : signature.length !== p.signature
      ) {
        return false;
      }
      try {
        return raw.verify(signature, message, publicKey, context) === true;
      } catch {
        return false; // malformed encodings inside a signature of the right length
      }
    },
  });
}

export interface RawKem {
  keygen(seed: Uint8Array | undefined): KeyPair;
  encapsulate(publicKey: Uint8Array, random: Uint8Array | undefined): Encapsulation;
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

export function wrapKem(alg: KemAlg, backend: string, raw: RawKem, hashes: HashSuite): Kem {
  const p = KEM_PARAMS[alg];
  const mlkemK = alg === 'x-wing' ? 3 : p.k;
  return Object.freeze({
    alg,
    backend,
    publicKeyLength: p.publicKey,
    secretKeyLength: p.secretKey,
    cipherTextLength: p.cipherText,
    sharedSecretLength: 32,
    seedLength: p.seed,
    encapsRandomLength: p.encapsRandom,
    keygen(seed?: Uint8Array): KeyPair {
      if (seed !== undefined) assertBytes('seed', seed, p.seed);
      return raw.keygen(seed);
    },
    encapsulate(publicKey: Uint8Array, random?: Uint8Array): Encapsulation {
      assertBytes('publicKey', publicKey, p.publicKey);
      if (random !== undefined) assertBytes('random', random, p.encapsRandom);
      // X-Wing's public key is ML-KEM-768's followed by 32 X25519 bytes
      const ek = alg === 'x-wing' ? publicKey.subarray(0, 1184) : publicKey;
      if (!mlKemEncapsKeyOk(ek, mlkemK)) {
        throw new RangeError('publicKey fails the FIPS 203 §7.2 encapsulation-key check');
      }
      return raw.encapsulate(publicKey, random);
    },
    decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
      assertBytes('cipherText', cipherText, p.cipherText);
      assertBytes('secretKey', secretKey, p.secretKey);
      if (alg !== 'x-wing' && !mlKemDecapsKeyOk(secretKey, mlkemK, hashes)) {
        throw new RangeError('secretKey fails the FIPS 203 §7.3 decapsulation-key check');
      }
      return raw.decapsulate(cipherText, secretKey);
    },
  });
}
