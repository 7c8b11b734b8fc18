/**
 * The two backends against each other on random inputs: sign with one, verify with the other;
 * encapsulate with one, decapsulate with the other; mutated signatures and ciphertexts are
 * rejected by both. Also node:crypto hashes and AEAD against noble.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEM_ALGS, nobleAead, nobleHashes, randomBytes, SIG_ALGS, SIG_PARAMS } from '@qledger/core';
import fc from 'fast-check';
import { nativeAead } from '../src/crypto/aead-native.js';
import { nativeHashes } from '../src/crypto/hash-native.js';
import { backends } from './helpers/backends.js';

const [noble, oqs] = await backends();
const pairs = [
  [noble!, oqs!],
  [oqs!, noble!],
] as const;
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const SLOW = new Set(['slh-dsa-sha2-128s', 'slh-dsa-shake-128s']); // ~1 s per signature in pure JS

for (const alg of SIG_ALGS) {
  test(`${alg}: signatures cross-verify between backends; mutations rejected by both`, () => {
    const runs = SLOW.has(alg) ? 1 : alg.startsWith('slh') ? 2 : 6;
    for (let i = 0; i < runs; i++) {
      for (const [a, b] of pairs) {
        const sa = a.signer(alg);
        const sb = b.signer(alg);
        const kp = sa.keygen();
        const msg = randomBytes(randomBytes(1)[0]! * 4);
        const withContext = SIG_PARAMS[alg].context;
        const context = withContext && i % 2 === 1 ? randomBytes(1 + (randomBytes(1)[0]! % 255)) : undefined;
        const opts = context ? { context } : {};
        const sig = sa.sign(msg, kp.secretKey, opts);
        assert.ok(sb.verify(sig, msg, kp.publicKey, opts), `${b.name} verifies ${a.name}'s signature`);
        assert.ok(sa.verify(sig, msg, kp.publicKey, opts));
        // one flipped bit in signature, message or context: rejected by both
        const badSig = sig.slice();
        badSig[randomBytes(2).reduce((x, y) => x * 256 + y) % badSig.length]! ^=
          1 << (randomBytes(1)[0]! & 7);
        const badMsg = new Uint8Array([...msg, 0]);
        for (const s of [sa, sb]) {
          assert.equal(
            s.verify(badSig, msg, kp.publicKey, opts),
            false,
            `${s.backend} rejects a mutated signature`,
          );
          assert.equal(
            s.verify(sig, badMsg, kp.publicKey, opts),
            false,
            `${s.backend} rejects another message`,
          );
          assert.equal(
            s.verify(sig.subarray(0, sig.length - 1), msg, kp.publicKey, opts),
            false,
            'truncated',
          );
          if (withContext) {
            assert.equal(
              s.verify(sig, msg, kp.publicKey, { context: new Uint8Array([7]) }),
              false,
              'other context',
            );
          } else {
            assert.throws(
              () => s.verify(sig, msg, kp.publicKey, { context: new Uint8Array([7]) }),
              RangeError,
            );
          }
        }
      }
    }
  });
}

for (const alg of KEM_ALGS) {
  test(`${alg}: encapsulations cross-decapsulate between backends; mutated ciphertexts give other secrets`, () => {
    for (let i = 0; i < 10; i++) {
      for (const [a, b] of pairs) {
        const kp = b.kem(alg).keygen();
        const enc = a.kem(alg).encapsulate(kp.publicKey);
        assert.ok(
          eq(b.kem(alg).decapsulate(enc.cipherText, kp.secretKey), enc.sharedSecret),
          `${a.name} → ${b.name}`,
        );
        const bad = enc.cipherText.slice();
        bad[randomBytes(2).reduce((x, y) => x * 256 + y) % bad.length]! ^= 1 << (randomBytes(1)[0]! & 7);
        const ra = a.kem(alg).decapsulate(bad, kp.secretKey);
        const rb = b.kem(alg).decapsulate(bad, kp.secretKey);
        assert.ok(!eq(ra, enc.sharedSecret) && !eq(rb, enc.sharedSecret), 'mutated ciphertext rejected');
        // implicit rejection is itself deterministic: both backends derive the same pseudorandom secret
        assert.ok(eq(ra, rb), 'both backends agree on the implicit-rejection secret');
      }
    }
  });

  test(`${alg}: seeded keygen is identical across backends`, () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: noble!.kem(alg).seedLength, maxLength: noble!.kem(alg).seedLength }),
        (seed) => {
          const x = noble!.kem(alg).keygen(seed);
          const y = oqs!.kem(alg).keygen(seed);
          return eq(x.publicKey, y.publicKey) && eq(x.secretKey, y.secretKey);
        },
      ),
      { numRuns: 10 },
    );
  });
}

test('node:crypto hashes equal noble on random inputs', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 300 }), (d, outLen) => {
      assert.ok(eq(nativeHashes.sha256(d), nobleHashes.sha256(d)));
      assert.ok(eq(nativeHashes.sha3_256(d), nobleHashes.sha3_256(d)));
      assert.ok(eq(nativeHashes.sha3_512(d), nobleHashes.sha3_512(d)));
      assert.ok(eq(nativeHashes.shake256(d, outLen), nobleHashes.shake256(d, outLen)));
      const s1 = nativeHashes.sha3_512Stream();
      s1.update(d.subarray(0, d.length >> 1));
      s1.update(d.subarray(d.length >> 1));
      assert.ok(eq(s1.digest(), nobleHashes.sha3_512(d)), 'streaming equals one-shot');
      const parts = [d.subarray(0, d.length / 3), d.subarray(d.length / 3)];
      assert.ok(eq(nativeHashes.sha3_256Parts(parts), nobleHashes.sha3_256(d)), 'parts equal the whole');
    }),
    { numRuns: 200 },
  );
  // Parts past the one-shot size take the incremental path: the same answer.
  const big = new Uint8Array(70_000).map((_, i) => i * 7);
  const parts = [big.subarray(0, 40_000), big.subarray(40_000)];
  assert.ok(eq(nativeHashes.sha3_256Parts(parts), nobleHashes.sha3_256(big)));
});

test('node:crypto HKDF equals noble for every hash, including info longer than 1024 bytes', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 80 }),
      fc.uint8Array({ maxLength: 80 }),
      fc.uint8Array({ maxLength: 1500 }),
      fc.constantFrom('sha256', 'sha512', 'sha3-256', 'sha3-512' as const),
      fc.integer({ min: 1, max: 255 }),
      (ikm, salt, info, hash, len) => {
        assert.ok(
          eq(nativeHashes.hkdf(hash, ikm, salt, info, len), nobleHashes.hkdf(hash, ikm, salt, info, len)),
        );
      },
    ),
    { numRuns: 150 },
  );
});

test('node:crypto AEAD equals noble; any bit flip fails authentication on both', () => {
  for (const alg of ['chacha20-poly1305', 'aes-256-gcm'] as const) {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.nat(),
        (pt, aad, flip) => {
          const key = randomBytes(32);
          const nonce = randomBytes(12);
          const a = nativeAead[alg].seal(key, nonce, pt, aad);
          assert.ok(eq(a, nobleAead[alg].seal(key, nonce, pt, aad)));
          assert.ok(eq(nobleAead[alg].open(key, nonce, a, aad), pt));
          const bad = a.slice();
          bad[flip % bad.length]! ^= 1 << (flip % 8);
          for (const impl of [nativeAead[alg], nobleAead[alg]]) {
            assert.throws(() => impl.open(key, nonce, bad, aad), { code: 'CRYPTO_AEAD_AUTH' });
          }
        },
      ),
      { numRuns: 100 },
    );
  }
});
