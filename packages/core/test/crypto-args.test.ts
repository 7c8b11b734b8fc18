/** Every export validates its arguments: TypeError for types, RangeError naming the argument. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DOMAIN,
  domainHash,
  KEM_ALGS,
  nobleAead,
  nobleBackend,
  nobleHashes,
  SIG_ALGS,
  utf8,
} from '../src/index.js';

test('signers: wrong types throw TypeError, wrong lengths RangeError naming the argument', () => {
  for (const alg of SIG_ALGS.filter((a) => !a.startsWith('slh-dsa') || a.endsWith('128f'))) {
    const s = nobleBackend.signer(alg);
    assert.throws(() => s.keygen(new Uint8Array(s.seedLength + 1)), /seed must be \d+ bytes/);
    const kp = s.keygen();
    assert.throws(() => s.sign('msg' as unknown as Uint8Array, kp.secretKey), {
      name: 'TypeError',
      message: /message/,
    });
    assert.throws(() => s.sign(new Uint8Array(1), kp.secretKey.subarray(1)), {
      name: 'RangeError',
      message: /secretKey/,
    });
    assert.throws(() => s.sign(new Uint8Array(1), kp.secretKey, { context: new Uint8Array(256) }), /context/);
    assert.throws(
      () => s.sign(new Uint8Array(1), kp.secretKey, { ctx: new Uint8Array(1) } as object),
      /opts\.ctx/,
    );
    assert.throws(
      () => s.sign(new Uint8Array(1), kp.secretKey, { random: new Uint8Array(3) }),
      /random must be/,
    );
    const sig = s.sign(new Uint8Array(1), kp.secretKey);
    assert.throws(() => s.verify(sig, new Uint8Array(1), kp.publicKey.subarray(1)), {
      name: 'RangeError',
      message: /publicKey/,
    });
    assert.throws(() => s.verify(null as unknown as Uint8Array, new Uint8Array(1), kp.publicKey), TypeError);
    // bad signatures are not malformed arguments: false, never a throw
    assert.equal(s.verify(new Uint8Array(0), new Uint8Array(1), kp.publicKey), false);
    assert.equal(s.verify(new Uint8Array(s.signatureLength + 1), new Uint8Array(1), kp.publicKey), false);
    assert.equal(s.verify(new Uint8Array(sig.length), new Uint8Array(1), kp.publicKey), false);
  }
});

test('KEMs: argument lengths are checked and FIPS 203 key checks apply', () => {
  for (const alg of KEM_ALGS) {
    const k = nobleBackend.kem(alg);
    const kp = k.keygen();
    assert.throws(() => k.encapsulate(kp.publicKey.subarray(1)), {
      name: 'RangeError',
      message: /publicKey/,
    });
    assert.throws(() => k.encapsulate(kp.publicKey, new Uint8Array(5)), /random must be/);
    assert.throws(() => k.decapsulate(new Uint8Array(3), kp.secretKey), /cipherText must be/);
    const bad = kp.publicKey.slice();
    bad[0] = 0xff;
    bad[1] = 0xff; // first coefficient 4095 ≥ q
    assert.throws(() => k.encapsulate(bad), /§7\.2/);
    if (alg !== 'x-wing') {
      const badSk = kp.secretKey.slice();
      badSk[badSk.length - 40]! ^= 1; // inside H(ek)
      assert.throws(() => k.decapsulate(new Uint8Array(k.cipherTextLength), badSk), /§7\.3/);
    }
  }
});

test('unknown algorithms and hashes are refused by name', () => {
  assert.throws(() => nobleBackend.signer('rsa' as never), /unknown signature algorithm "rsa"/);
  assert.throws(() => nobleBackend.kem('toString' as never), /unknown KEM algorithm/);
  assert.throws(
    () => nobleHashes.hkdf('md5' as never, new Uint8Array(1), new Uint8Array(0), new Uint8Array(0), 32),
    /hash must be/,
  );
  assert.throws(
    () => nobleHashes.hkdf('sha256', new Uint8Array(1), new Uint8Array(0), new Uint8Array(0), 255 * 32 + 1),
    /length/,
  );
  assert.throws(
    () => nobleAead['aes-256-gcm'].seal(new Uint8Array(16), new Uint8Array(12), new Uint8Array(0)),
    /key must be 32/,
  );
  assert.throws(
    () => nobleAead['aes-256-gcm'].open(new Uint8Array(32), new Uint8Array(12), new Uint8Array(15)),
    /sealed/,
  );
});

test('domain separation: labels come from the registry and separate otherwise equal inputs', () => {
  const d = utf8('same bytes');
  const a = domainHash(nobleHashes, DOMAIN.TX_SIGN, d);
  const b = domainHash(nobleHashes, DOMAIN.BLOCK_HASH, d);
  assert.notDeepEqual(a, b);
  assert.throws(
    () => domainHash(nobleHashes, 'qledger/v1/made-up' as never, d),
    /not in the DOMAIN registry/,
  );
  const labels = Object.values(DOMAIN);
  assert.equal(new Set(labels).size, labels.length, 'labels are unique');
  for (const l of labels) assert.ok(l.length < 256 && /^qledger\/v1\/[a-z0-9/-]+$/.test(l), l);
});
