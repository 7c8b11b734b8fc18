/**
 * The consensus state machine under hundreds of seeded fault schedules: random delays,
 * drops, duplicates, reordering, partitions, crash and restart, and one Byzantine validator
 * (equivocation, forged signatures, withheld messages). Every run checks safety (no two
 * honest validators commit different blocks at one height; every certificate verifies) and
 * liveness (after the network stabilises, every transaction commits on every honest
 * validator). A failing seed is printed: QLEDGER_SIM_SEED=<seed> npm test -- consensus-sim
 * replays it alone; QLEDGER_SIM_SEEDS=<n> runs n seeds (`npm run bench -- consensus-sweep`
 * runs a long sweep and prints JSON).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulate } from './helpers/consensus-sim.js';

const only = process.env.QLEDGER_SIM_SEED;
const count = Number(process.env.QLEDGER_SIM_SEEDS ?? 300);
const SEEDS = only ? [Number(only)] : Array.from({ length: count }, (_, i) => i + 1);

test(`safety and liveness over ${SEEDS.length} seeds: faults and one Byzantine validator`, () => {
  let faults = 0;
  let midStep = 0;
  let reproposals = 0;
  let unrecorded = 0;
  for (const seed of SEEDS) {
    const r = simulate({ seed, byzantine: seed % 4 === 0 ? null : seed % 4 });
    assert.equal(r.violation, null, `seed ${seed}: ${r.violation}`);
    assert.deepEqual(r.missing, [], `seed ${seed}: not committed everywhere: ${r.missing.join(', ')}`);
    faults += r.faults;
    midStep += r.midStepCrashes;
    reproposals += r.reproposals;
    unrecorded += r.unrecordedPrevotes;
  }
  if (!only) {
    // The Byzantine validator's equivocations and forgeries were seen and refused.
    assert.ok(faults > 0, 'no fault was ever reported');
    // The schedules did reach the cases they are there for: crashes inside a step, and a
    // proposer that died after sending its proposal but before syncing it, then proposed
    // another block in the same round.
    assert.ok(midStep > 0, 'no crash fell inside a step');
    assert.ok(reproposals > 0, 'no restarted proposer proposed twice in a round');
    // And a validator that died after its round-0 prevote left, before any sync recorded it,
    // restarted in that height (it must sit the prevote out, or it could send another).
    assert.ok(unrecorded > 0, 'no restart followed an unrecorded round-0 prevote');
  }
});

test('without faults, four validators commit every transaction with no round change needed', () => {
  const r = simulate({
    seed: 7,
    byzantine: null,
    crashes: false,
    partitions: false,
    gstMs: 0, // delays of 1–50 ms, well inside the timeouts
    endMs: 20_000,
  });
  assert.equal(r.violation, null);
  assert.deepEqual(r.missing, []);
  assert.equal(r.faults, 0);
  assert.equal(r.roundChanges, 0);
  assert.ok(Math.min(...r.heights) >= 2, `heights ${r.heights}`);
});
