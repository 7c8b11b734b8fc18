import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nobleBackend, SIG_ALGS, type SigCheck } from '@qledger/core';
import fc from 'fast-check';
import { packChecks, unpackChecks } from '../src/ledger/sig-pack.js';
import { SignaturePool } from '../src/ledger/sig-pool.js';

test('packed checks unpack to the same algorithms and bytes', () => {
  const arb = fc.array(
    fc.record({
      alg: fc.constantFrom(...SIG_ALGS),
      publicKey: fc.uint8Array({ maxLength: 64 }),
      message: fc.uint8Array({ maxLength: 64 }),
      signature: fc.uint8Array({ maxLength: 64 }),
    }),
    { maxLength: 20 },
  );
  fc.assert(
    fc.property(arb, (checks) => {
      const back = unpackChecks(packChecks(checks.map((c, index) => ({ ...c, index }))));
      assert.equal(back.length, checks.length);
      back.forEach((b, i) => {
        const c = checks[i]!;
        assert.equal(b.alg, c.alg);
        assert.deepEqual(
          [...b.publicKey, -1, ...b.message, -1, ...b.signature],
          [...c.publicKey, -1, ...c.message, -1, ...c.signature],
        );
      });
    }),
  );
});

test('the worker pool answers the first invalid index of a batch, across slices and algorithms', async () => {
  const pool = await SignaturePool.create(2);
  try {
    const checks: SigCheck[] = [];
    for (let i = 0; i < 24; i++) {
      const alg = i % 3 === 0 ? 'ml-dsa-65' : 'ml-dsa-44';
      const kp = nobleBackend.signer(alg).keygen(new Uint8Array(32).fill(i));
      const message = new Uint8Array([i, 1, 2]);
      checks.push({
        alg,
        publicKey: kp.publicKey,
        message,
        signature: nobleBackend.signer(alg).sign(message, kp.secretKey),
        index: i,
      });
    }
    assert.equal(await pool.check(checks), -1);
    assert.equal(await pool.check([]), -1);
    for (const bad of [0, 11, 12, 23]) {
      const broken = checks.map((c, i) =>
        i === bad || i === 20 ? { ...c, message: new Uint8Array([9]) } : c,
      );
      assert.equal(await pool.check(broken), Math.min(bad, 20));
    }
  } finally {
    await pool.close();
  }
});

test('inline verification of small batches answers as the workers do, and only small batches go inline', async () => {
  const pool = await SignaturePool.create(2, { crypto: nobleBackend, max: 3 });
  try {
    const checks: SigCheck[] = [];
    for (let i = 0; i < 6; i++) {
      const kp = nobleBackend.signer('ml-dsa-44').keygen(new Uint8Array(32).fill(40 + i));
      const message = new Uint8Array([i, 7]);
      const signature = nobleBackend.signer('ml-dsa-44').sign(message, kp.secretKey);
      checks.push({ alg: 'ml-dsa-44', publicKey: kp.publicKey, message, signature, index: i });
    }
    // Every subset of bad positions, in batches of 1…6 (1…3 inline, 4…6 in the workers).
    for (let len = 1; len <= checks.length; len++)
      for (let mask = 0; mask < 1 << len; mask++) {
        const batch = checks
          .slice(0, len)
          .map((c, i) =>
            mask & (1 << i) ? { ...c, signature: c.signature.map((b, k) => (k === 5 ? b ^ 1 : b)) } : c,
          );
        const want = mask === 0 ? -1 : Math.log2(mask & -mask);
        assert.equal(await pool.check(batch), want, `len ${len} mask ${mask}`);
      }
    const inline = [1, 2, 3].reduce((s, len) => s + len * (1 << len), 0);
    const workers = [4, 5, 6].reduce((s, len) => s + len * (1 << len), 0);
    assert.deepEqual(pool.counts, { inline, workers });
  } finally {
    await pool.close();
  }
});
