/**
 * The crypto interfaces every backend implements. Core ships the noble (pure JS) backend,
 * the only one usable in a browser; packages/node adds Open Quantum Safe's liboqs (WASM) and
 * node:crypto. Callers depend on these interfaces, never on a backend.
 */

/** NIST post-quantum signature algorithms (FIPS 204, FIPS 205, Falcon round 3). */
export const SIG_ALGS = [
  'ml-dsa-44',
  'ml-dsa-65',
  'ml-dsa-87',
  'slh-dsa-sha2-128f',
  'slh-dsa-sha2-128s',
  'slh-dsa-shake-128f',
  'slh-dsa-shake-128s',
  'falcon-512',
  'falcon-1024',
] as const;
export type SigAlg = (typeof SIG_ALGS)[number];

/** Key-encapsulation mechanisms: FIPS 203 ML-KEM and X-Wing (ML-KEM-768 + X25519). */
export const KEM_ALGS = ['ml-kem-512', 'ml-kem-768', 'ml-kem-1024', 'x-wing'] as const;
export type KemAlg = (typeof KEM_ALGS)[number];

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface SignOptions {
  /** FIPS 204/205 context string, at most 255 bytes (default empty). */
  context?: Uint8Array;
  /**
   * Signing randomness: omitted → hedged with fresh CSPRNG bytes; `false` → deterministic
   * variant; bytes → hedged with exactly these (for known-answer tests).
   */
  random?: Uint8Array | false;
}

export interface VerifyOptions {
  context?: Uint8Array;
}

/** A post-quantum signature scheme. */
export interface Signer {
  readonly alg: SigAlg;
  /** Which implementation answers: 'noble' or 'liboqs'. */
  readonly backend: string;
  readonly publicKeyLength: number;
  readonly secretKeyLength: number;
  /** Fixed length, or the maximum for Falcon's variable-length signatures. */
  readonly signatureLength: number;
  /** Length of the seed accepted by `keygen`. */
  readonly seedLength: number;
  /** Fresh key pair, or the one deterministically derived from `seed` (FIPS keygen input). */
  keygen(seed?: Uint8Array): KeyPair;
  sign(message: Uint8Array, secretKey: Uint8Array, opts?: SignOptions): Uint8Array;
  /** False for any invalid signature; throws only on malformed arguments (wrong types, key length). */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, opts?: VerifyOptions): boolean;
}

export interface Encapsulation {
  readonly cipherText: Uint8Array;
  readonly sharedSecret: Uint8Array;
}

/** A key-encapsulation mechanism. */
export interface Kem {
  readonly alg: KemAlg;
  readonly backend: string;
  readonly publicKeyLength: number;
  readonly secretKeyLength: number;
  readonly cipherTextLength: number;
  readonly sharedSecretLength: number;
  readonly seedLength: number;
  /** Length of the encapsulation randomness accepted by `encapsulate`. */
  readonly encapsRandomLength: number;
  keygen(seed?: Uint8Array): KeyPair;
  /** Throws RangeError for a public key that fails the FIPS 203 §7.2 input check. */
  encapsulate(publicKey: Uint8Array, random?: Uint8Array): Encapsulation;
  /**
   * Implicit rejection: a wrong ciphertext yields a pseudorandom secret, never an error.
   * Throws RangeError for a secret key that fails the FIPS 203 §7.3 check.
   */
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/** A set of implementations that answers for every algorithm. */
export interface CryptoBackend {
  readonly name: string;
  signer(alg: SigAlg): Signer;
  kem(alg: KemAlg): Kem;
}

export type HkdfHash = 'sha256' | 'sha512' | 'sha3-256' | 'sha3-512';

/** Hash functions and HKDF: node:crypto in Node, noble in the browser. */
export interface HashSuite {
  readonly name: string;
  sha256(data: Uint8Array): Uint8Array;
  sha3_256(data: Uint8Array): Uint8Array;
  /**
   * SHA3-256 of the concatenation of `parts`, without building it. For digests that are
   * public (ids, Merkle nodes, block hashes, commitments): a suite may return it in memory it
   * cannot wipe. The parts themselves may be secret.
   */
  sha3_256Parts(parts: readonly Uint8Array[]): Uint8Array;
  sha3_512(data: Uint8Array): Uint8Array;
  shake256(data: Uint8Array, outputLength: number): Uint8Array;
  /** RFC 5869 HKDF (extract + expand). */
  hkdf(hash: HkdfHash, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** Incremental SHA3-512, for messages that arrive in pieces. */
  sha3_512Stream(): { update(data: Uint8Array): void; digest(): Uint8Array };
}

export type AeadAlg = 'chacha20-poly1305' | 'aes-256-gcm';

/** Authenticated encryption with associated data; 32-byte key, 12-byte nonce, 16-byte tag. */
export interface Aead {
  readonly alg: AeadAlg;
  readonly backend: string;
  readonly keyLength: 32;
  readonly nonceLength: 12;
  readonly tagLength: 16;
  /** Returns ciphertext ‖ tag. */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /** Throws QledgerError CRYPTO_AEAD_AUTH when the tag does not verify; no plaintext escapes. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array;
}
