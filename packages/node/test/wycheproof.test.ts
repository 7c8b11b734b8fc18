/** Wycheproof: ML-KEM, ML-DSA verify on both backends; HKDF and AEAD on node:crypto and noble. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Aead, type HashSuite, nobleAead, nobleHashes } from '@qledger/core';
import { nativeAead } from '../src/crypto/aead-native.js';
import { nativeHashes } from '../src/crypto/hash-native.js';
import { backends } from './helpers/backends.js';
import { CaseCounter, hex, loadVectors, toHex } from './helpers/vectors.js';

const all = await backends();

const outcome = (f: () => unknown): unknown => {
  try {
    return f();
  } catch (e) {
    assert.ok(
      e instanceof RangeError || e instanceof TypeError || (e as { code?: string }).code,
      `unexpected ${e}`,
    );
    return 'threw';
  }
};

for (const be of all) {
  for (const [file, alg] of [
    ['mlkem_768_test.json.gz', 'ml-kem-768'],
    ['mlkem_1024_test.json.gz', 'ml-kem-1024'],
  ] as const) {
    test(`Wycheproof ${alg} [${be.name}]`, (t) => {
      const kem = be.kem(alg);
      const c = new CaseCounter();
      for (const g of loadVectors(`wycheproof/testvectors_v1/${file}`).testGroups) {
        for (const tc of g.tests) {
          const r = outcome(() => {
            const kp = kem.keygen(hex(tc.seed));
            if (tc.ek) assert.equal(toHex(kp.publicKey), tc.ek, `tc ${tc.tcId} ek`);
            return toHex(kem.decapsulate(hex(tc.c), kp.secretKey));
          });
          if (tc.result === 'valid') assert.equal(r, tc.K, `tc ${tc.tcId} (${tc.comment})`);
          else assert.notEqual(r, tc.K, `tc ${tc.tcId} must be rejected (${tc.comment})`);
          c.add(String(tc.result));
        }
      }
      t.diagnostic(`cases ${c.report(1)}`);
    });
  }

  for (const [file, alg] of [
    ['mldsa_44_verify_test.json.gz', 'ml-dsa-44'],
    ['mldsa_65_verify_test.json.gz', 'ml-dsa-65'],
  ] as const) {
    test(`Wycheproof ${alg} verify [${be.name}]`, (t) => {
      const signer = be.signer(alg);
      const c = new CaseCounter();
      for (const g of loadVectors(`wycheproof/testvectors_v1/${file}`).testGroups) {
        for (const tc of g.tests) {
          const opts = tc.ctx === undefined ? {} : { context: hex(tc.ctx) };
          const r = outcome(() => signer.verify(hex(tc.sig), hex(tc.msg), hex(g.publicKey), opts));
          // an invalid public key (wrong length) is a malformed argument: it throws
          assert.equal(r === true, tc.result === 'valid', `tc ${tc.tcId} (${tc.comment}) got ${r}`);
          c.add(String(tc.result));
        }
      }
      t.diagnostic(`cases ${c.report(1)}`);
    });
  }
}

for (const suite of [nobleHashes, nativeHashes] as HashSuite[]) {
  test(`Wycheproof HKDF-SHA256 [${suite.name}]`, (t) => {
    const c = new CaseCounter();
    for (const g of loadVectors('wycheproof/testvectors_v1/hkdf_sha256_test.json.gz').testGroups) {
      for (const tc of g.tests) {
        const r = outcome(() =>
          toHex(suite.hkdf('sha256', hex(tc.ikm), hex(tc.salt), hex(tc.info), Number(tc.size))),
        );
        if (tc.result === 'valid') assert.equal(r, tc.okm, `tc ${tc.tcId}`);
        else assert.equal(r, 'threw', `tc ${tc.tcId} (${tc.comment}) must be refused`);
        c.add(String(tc.result));
      }
    }
    t.diagnostic(`cases ${c.report(1)}`);
  });
}

for (const [file, alg] of [
  ['chacha20_poly1305_test.json.gz', 'chacha20-poly1305'],
  ['aes_gcm_test.json.gz', 'aes-256-gcm'],
] as const) {
  for (const aead of [nobleAead[alg], nativeAead[alg]] as Aead[]) {
    test(`Wycheproof ${alg} [${aead.backend}]`, (t) => {
      const c = new CaseCounter();
      let outside = 0;
      for (const g of loadVectors(`wycheproof/testvectors_v1/${file}`).testGroups) {
        // qledger's AEAD is fixed to 256-bit keys, 96-bit nonces and 128-bit tags
        if (g.keySize !== 256 || g.ivSize !== 96 || g.tagSize !== 128) {
          outside += g.tests.length;
          continue;
        }
        for (const tc of g.tests) {
          const key = hex(tc.key);
          const iv = hex(tc.iv);
          const aad = hex(tc.aad);
          const sealed = new Uint8Array([...hex(tc.ct), ...hex(tc.tag)]);
          const opened = outcome(() => toHex(aead.open(key, iv, sealed, aad)));
          if (tc.result === 'valid') {
            assert.equal(opened, tc.msg, `tc ${tc.tcId} open`);
            assert.equal(toHex(aead.seal(key, iv, hex(tc.msg), aad)), toHex(sealed), `tc ${tc.tcId} seal`);
          } else {
            assert.equal(opened, 'threw', `tc ${tc.tcId} (${tc.comment}) must be rejected`);
          }
          c.add(String(tc.result));
        }
      }
      t.diagnostic(`cases ${c.report(1)}; groups with other key/nonce/tag sizes: ${outside} cases`);
    });
  }
}
