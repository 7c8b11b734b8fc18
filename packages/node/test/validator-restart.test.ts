/**
 * A validator's first start against its restarts: a round-0 prevote leaves before any sync
 * (core/consensus, `vote`), so a restarted validator sits out round 0's prevote of the height
 * it starts at. A one-validator chain shows it in its certificates: it decides in round 0 on
 * its first run, and in round 1 at the first height after a restart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nobleBackend, nobleHashes, toHex } from '@qledger/core';
import { QledgerClient } from '@qledger/core/api';
import { registerTx } from '../src/validator/devnet-driver.js';
import { type Solo, startSolo } from './helpers/solo.js';

const fast = { consensus: { prevoteMs: 50, precommitMs: 50 } };

async function commitOne(solo: Solo, name: string): Promise<number> {
  const client = new QledgerClient(solo.base);
  const { env } = registerTx('devnet', name, nobleBackend, nobleHashes);
  const sub = await client.submitTx(env.bytes);
  assert.equal(sub.id, toHex(env.id));
  for (let i = 0; i < 300; i++) {
    const st = await client.tx(sub.id!).catch(() => null);
    if (st?.status === 'committed') return st.height!;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${name}'s registration did not commit`);
}

/** The round each block from `from` to `to` was decided in (its certificate's). */
async function rounds(solo: Solo, from: number, to: number): Promise<number[]> {
  const client = new QledgerClient(solo.base);
  const out: number[] = [];
  for (let h = from; h <= to; h++) out.push((await client.block(h)).cert!.round);
  return out;
}

test('a first start votes in round 0; a restart sits out round 0 of its first height, then votes as usual', async () => {
  let solo = await startSolo('qledger-restart-', fast);
  try {
    assert.ok(await solo.v.store.local('consensus-started'), 'the first start is recorded before any vote');
    // (The validator's own beacon transactions may take some heights too.)
    const first = await commitOne(solo, 'alice');
    assert.deepEqual(await rounds(solo, 1, first), Array(first).fill(0));
    solo = await solo.restart();
    // Its own prevote is the only one there is: round 0 of its first height cannot decide,
    // round 1 does; the heights after it decide in round 0 again.
    const second = await commitOne(solo, 'bob');
    const third = await commitOne(solo, 'carol');
    assert.ok(third > second && second > first);
    assert.deepEqual(await rounds(solo, first + 1, third), [1, ...Array(third - first - 1).fill(0)]);
  } finally {
    await solo.stop();
  }
});
