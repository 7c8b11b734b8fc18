import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SigCheck, TxEnvelope } from '@qledger/core';
import { SignaturePool } from '../src/ledger/sig-pool.js';
import { checkBlockSignatures } from '../src/validator/block-sigs.js';
import { signedBlock } from './helpers/blocks.js';

/** Four signed transactions of one client and their signature checks, as a block would need. */
function block(): { txs: TxEnvelope[]; checks: SigCheck[] } {
  const { client, txs } = signedBlock(4);
  const checks = txs.map(
    (t, index): SigCheck => ({
      alg: 'ml-dsa-44',
      publicKey: client.keys.publicKey,
      message: t.signingBytes,
      signature: t.tx.sig,
      index,
    }),
  );
  return { txs, checks };
}

const forged = (c: SigCheck): SigCheck => {
  const signature = c.signature.slice();
  signature[7]! ^= 1;
  return { ...c, signature };
};

test('a block waits for the admission checks under way instead of verifying those signatures again', async () => {
  const pool = await SignaturePool.create(1);
  try {
    const { txs, checks } = block();
    // tx 0 was verified on admission; txs 1 and 2 are still queued for their admission check;
    // tx 3 never reached this validator before the proposal.
    const verified = new Set<TxEnvelope>([txs[0]!]);
    let finish!: () => void;
    const admission = new Promise<void>((r) => (finish = r));
    const queued = new Set([txs[1]!, txs[2]!]);
    const seen: number[] = [];
    const run = checkBlockSignatures(txs, checks, {
      verified: (env) => verified.has(env),
      admission: (env) => (queued.has(env) ? admission : undefined),
      check: (cs) => {
        seen.push(...cs.map((c) => c.index));
        return pool.check(cs);
      },
    });
    // The block's own check runs at once; the queued ones are left to admission, which then
    // passes tx 1 and refuses (forgets) tx 2: only tx 2 is checked here after all.
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, [3]);
    verified.add(txs[1]!);
    finish();
    const r = await run;
    assert.deepEqual(seen, [3, 2]);
    assert.deepEqual(r, { bad: -1, checked: 2, waited: 1 });
  } finally {
    await pool.close();
  }
});

test('a bad signature is found whether it is checked by the block or left to a failed admission', async () => {
  const pool = await SignaturePool.create(1);
  try {
    const { txs, checks } = block();
    const deps = (queued: Set<TxEnvelope>) => ({
      verified: () => false,
      admission: (env: TxEnvelope) => (queued.has(env) ? Promise.resolve() : undefined),
      check: (cs: readonly SigCheck[]) => pool.check(cs),
    });
    // Checked by the block itself.
    const direct = checks.map((c, i) => (i === 2 ? forged(c) : c));
    assert.equal((await checkBlockSignatures(txs, direct, deps(new Set()))).bad, 2);
    // Queued for admission, which refused it (so it is not verified): the block still finds it.
    const queued = await checkBlockSignatures(txs, direct, deps(new Set([txs[2]!])));
    assert.equal(queued.bad, 2);
    assert.equal(queued.waited, 0);
    // All good: nothing bad, every signature checked once.
    assert.deepEqual(await checkBlockSignatures(txs, checks, deps(new Set([txs[0]!]))), {
      bad: -1,
      checked: 4,
      waited: 0,
    });
  } finally {
    await pool.close();
  }
});
