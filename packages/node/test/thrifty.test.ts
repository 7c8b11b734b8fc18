/**
 * Thrifty votes (validator/thrifty.ts): which peers get a vote at once and which only when the
 * height needs it, the fallback that turns thrift off for a while, and the adaptive delay.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FULL_AFTER_FALLBACK,
  THRIFTY_FACTOR,
  THRIFTY_MAX_MS,
  THRIFTY_MIN_MS,
  THRIFTY_WINDOW,
  ThriftyVotes,
} from '../src/validator/thrifty.js';

const all = () => true;
/** v1 in the devnet's square: v2 and v4 are its neighbours, v3 is across the relay. */
const square = (enabled = true) =>
  new ThriftyVotes({ peers: [1, 2, 3], relayed: [2], quorumPeers: 2, enabled });

test('in the square, a round-0 vote for a block goes to the direct peers now and the relayed one later', () => {
  const t = square();
  assert.equal(t.active, true);
  assert.deepEqual(t.route('prevote', 5, 0, true, all, 0), { now: [1, 3], later: [2] });
  assert.deepEqual(t.route('precommit', 5, 0, true, all, 3), { now: [1, 3], later: [2] });
  assert.equal(t.holdsFor(2), true);
  assert.equal(t.holdsFor(1), false);
  // A second broadcast of the same vote is the machine's retransmission: everyone.
  assert.deepEqual(t.route('prevote', 5, 0, true, all, 2000), { now: [1, 2, 3], later: [] });
  // A nil vote, or a vote in a later round, goes to everyone at once.
  assert.deepEqual(t.route('prevote', 6, 0, false, all, 0), { now: [1, 2, 3], later: [] });
  assert.deepEqual(t.route('precommit', 6, 1, true, all, 0), { now: [1, 2, 3], later: [] });
  // A new height starts afresh.
  assert.deepEqual(t.route('prevote', 7, 0, true, all, 0), { now: [1, 3], later: [2] });
});

test('a direct peer that is not connected: every vote goes to everyone', () => {
  const t = square();
  assert.deepEqual(
    t.route('prevote', 1, 0, true, (p) => p !== 3, 0),
    { now: [1, 2, 3], later: [] },
  );
  // ... and back to thrift once it is connected again (the prevote above was not held).
  assert.deepEqual(t.route('precommit', 1, 0, true, all, 1), { now: [1, 3], later: [2] });
});

test('not active: switched off, no relayed peer (mesh), or too few direct peers for a quorum', () => {
  const off = square(false);
  assert.equal(off.active, false);
  assert.equal(off.holdsFor(2), false);
  // Switched off, the relayed peer is still reported as relayed (status), only not held for.
  assert.equal(off.isRelayed(2), true);
  assert.equal(off.isRelayed(1), false);
  assert.deepEqual(off.route('prevote', 1, 0, true, all, 0), { now: [1, 2, 3], later: [] });
  const mesh = new ThriftyVotes({ peers: [1, 2, 3], relayed: [], quorumPeers: 2, enabled: true });
  assert.equal(mesh.active, false);
  assert.deepEqual(mesh.route('prevote', 1, 0, true, all, 0), { now: [1, 2, 3], later: [] });
  // n = 7, f = 2: a quorum needs 4 others; 3 direct peers cannot make it.
  const sparse = new ThriftyVotes({
    peers: [1, 2, 3, 4, 5, 6],
    relayed: [4, 5, 6],
    quorumPeers: 4,
    enabled: true,
  });
  assert.equal(sparse.active, false);
  assert.deepEqual(sparse.route('prevote', 1, 0, true, all, 0).later, []);
  const enough = new ThriftyVotes({
    peers: [1, 2, 3, 4, 5, 6],
    relayed: [5, 6],
    quorumPeers: 4,
    enabled: true,
  });
  assert.deepEqual(enough.route('prevote', 1, 0, true, all, 0), { now: [1, 2, 3, 4], later: [5, 6] });
  // ... unless one of its four direct peers is down.
  assert.deepEqual(enough.route('prevote', 2, 0, true, (p) => p !== 4, 0).later, []);
});

test('a height decided without the precommit of a direct peer, after its held votes went out: everyone for a while', () => {
  const t = square();
  t.route('prevote', 10, 0, true, all, 0);
  t.fellBack(10);
  assert.deepEqual(
    t.route('precommit', 10, 0, true, all, 250),
    { now: [1, 2, 3], later: [] },
    'nothing more held',
  );
  // Its certificate: v1 itself, v4 (direct) and v3 (relayed); v2's precommit is not in it.
  t.decided(10, 0, 300, new Set([0, 2, 3]));
  for (let h = 11; h <= 10 + FULL_AFTER_FALLBACK; h++)
    assert.deepEqual(t.route('prevote', h, 0, true, all, 0), { now: [1, 2, 3], later: [] }, `height ${h}`);
  assert.deepEqual(t.route('prevote', 11 + FULL_AFTER_FALLBACK, 0, true, all, 0).later, [2]);
});

test('a height that was only slow (both direct precommits in its certificate) stays thrifty, and is a sample', () => {
  const t = square();
  t.route('prevote', 10, 0, true, all, 0);
  t.fellBack(10);
  t.decided(10, 0, 40, new Set([0, 1, 2, 3]));
  assert.deepEqual(t.route('prevote', 11, 0, true, all, 0).later, [2]);
  assert.equal(t.delayMs(), THRIFTY_FACTOR * 40);
  // Without a fallback, a certificate without a direct peer is no sample, and changes nothing else.
  const u = square();
  u.route('prevote', 10, 0, true, all, 0);
  u.decided(10, 0, 40, new Set([0, 1, 2]));
  assert.equal(u.delayMs(), THRIFTY_MAX_MS);
  assert.deepEqual(u.route('prevote', 11, 0, true, all, 0).later, [2]);
});

test('the delay: the maximum until heights are measured, then a few times their median, within bounds', () => {
  const t = square();
  assert.equal(t.delayMs(), THRIFTY_MAX_MS);
  let h = 1;
  /** A height whose first vote left at 1000·h and which was decided `ms` later, in `round`. */
  const decide = (ms: number, round = 0) => {
    t.route('prevote', h, 0, true, all, 1000 * h);
    t.decided(h, round, 1000 * h + ms, new Set([0, 1, 3]));
    h++;
  };
  for (let k = 0; k < 5; k++) decide(4);
  assert.equal(t.delayMs(), Math.max(THRIFTY_MIN_MS, THRIFTY_FACTOR * 4));
  for (let k = 0; k < THRIFTY_WINDOW; k++) decide(20);
  assert.equal(t.delayMs(), THRIFTY_FACTOR * 20, 'the window forgets the old heights');
  for (let k = 0; k < THRIFTY_WINDOW; k++) decide(1);
  assert.equal(t.delayMs(), THRIFTY_MIN_MS);
  for (let k = 0; k < THRIFTY_WINDOW; k++) decide(500);
  assert.equal(t.delayMs(), THRIFTY_MAX_MS);
  for (let k = 0; k < THRIFTY_WINDOW; k++) decide(30);
  assert.equal(t.delayMs(), THRIFTY_FACTOR * 30);
  // A height decided in a later round is no sample, nor one this validator did not vote on.
  for (let k = 0; k < THRIFTY_WINDOW; k++) decide(5000, 1);
  t.decided(h + 50, 0, 1e9, new Set([0, 1, 3]));
  assert.equal(t.delayMs(), THRIFTY_FACTOR * 30);
  // Nor is a height decided without a direct peer's precommit: a silent peer does not stretch
  // the delay (and votes then go to everyone for a while).
  t.route('prevote', h, 0, true, all, 0);
  t.fellBack(h);
  t.decided(h, 0, 10_000, new Set([0, 1, 2]));
  h++;
  assert.equal(t.delayMs(), THRIFTY_FACTOR * 30);
  // The heights sent to everyone after a fallback are samples: under a heavier load they bring
  // the delay up, where thrifty heights, each falling back, never would.
  assert.equal(t.route('prevote', h, 0, true, all, 0).later.length, 0, 'still sending to everyone');
  const slow = h + FULL_AFTER_FALLBACK;
  while (h < slow) decide(60);
  assert.equal(t.delayMs(), THRIFTY_FACTOR * 60);
});
