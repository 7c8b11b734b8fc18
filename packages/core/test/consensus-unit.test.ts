/** Single steps of the consensus state machine and the commit certificate check. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha3_256 } from '@noble/hashes/sha3.js';
import {
  type ConsensusAction,
  faultTolerance,
  initialState,
  proposerFromOrder,
  quorumSize,
  step,
  utf8,
  verifyCommitCert,
  votePayload,
} from '@qledger/core';
import { simCrypto } from './helpers/consensus-sim.js';

const secrets = [0, 1, 2, 3].map((i) => sha3_256(utf8(`unit-${i}`)));
const params = (self: number) => ({
  chainId: 'unit',
  n: 4,
  self,
  proposer: proposerFromOrder([0, 1, 2, 3]),
  timeouts: { proposeMs: 100, prevoteMs: 100, precommitMs: 100, deltaMs: 10 },
  crypto: simCrypto(self, secrets),
});

test('quorums: ⌊2n/3⌋ + 1 distinct validators, f = ⌊(n − 1)/3⌋', () => {
  assert.deepEqual([4, 5, 6, 7, 10].map(quorumSize), [3, 4, 5, 5, 7]);
  assert.deepEqual([4, 5, 6, 7, 10].map(faultTolerance), [1, 1, 1, 2, 3]);
  // Two quorums always share at least f + 1 validators, hence an honest one.
  for (let n = 1; n <= 40; n++) assert.ok(2 * quorumSize(n) - n >= faultTolerance(n) + 1, `n = ${n}`);
});

test('the proposer asks for a block, proposes it and prevotes it, persisting before it sends', () => {
  let s = initialState(params(0), 0);
  let r = step(s, { type: 'start' });
  assert.ok(r.actions.some((a) => a.type === 'requestBlock' && a.height === 0 && a.round === 0));
  s = r.state;
  r = step(s, { type: 'block', height: 0, round: 0, block: utf8('b0') });
  const kinds = r.actions.map((a) => a.type);
  const firstSend = kinds.indexOf('broadcast');
  assert.ok(kinds.indexOf('persist') < firstSend && firstSend >= 0, kinds.join());
  const sent = r.actions.filter(
    (a): a is Extract<ConsensusAction, { type: 'broadcast' }> => a.type === 'broadcast',
  );
  assert.equal(sent[0]!.msg.type, 'proposal');
  assert.equal(sent[1]!.msg.type, 'prevote');
});

test('an equivocating voter is counted once and reported; a forged precommit is dropped', () => {
  const c1 = simCrypto(1, secrets);
  let s = step(initialState(params(0), 0), { type: 'start' }).state;
  const d1 = 'aa'.repeat(32);
  const d2 = 'bb'.repeat(32);
  const vote = (digest: string) => ({
    type: 'prevote' as const,
    height: 0,
    round: 0,
    digest,
    sig: c1.sign(votePayload('prevote', 'unit', 0, 0, digest)),
  });
  s = step(s, { type: 'message', from: 1, msg: vote(d1) }).state;
  const r = step(s, { type: 'message', from: 1, msg: vote(d2) });
  assert.ok(r.actions.some((a) => a.type === 'fault' && a.fault === 'equivocation' && a.from === 1));
  const forged = step(r.state, {
    type: 'message',
    from: 2,
    msg: {
      type: 'precommit',
      height: 0,
      round: 0,
      digest: d1,
      sig: c1.sign(votePayload('precommit', 'unit', 0, 0, d1)),
    },
  });
  assert.ok(forged.actions.some((a) => a.type === 'fault' && a.fault === 'bad-signature' && a.from === 2));
  // A prevote signature does not pass for a precommit (domain separation).
  const swapped = step(r.state, {
    type: 'message',
    from: 1,
    msg: { type: 'precommit', height: 0, round: 0, digest: d1, sig: vote(d1).sig },
  });
  assert.ok(swapped.actions.some((a) => a.type === 'fault' && a.fault === 'bad-signature'));
});

test('verifyCommitCert wants a quorum of distinct, valid signatures on the same vote', () => {
  const d = 'cc'.repeat(32);
  const sig = (i: number, round = 2) => ({
    voter: i,
    sig: simCrypto(i, secrets).sign(votePayload('precommit', 'unit', 5, round, d)),
  });
  const opts = { chainId: 'unit', n: 4, verify: simCrypto(0, secrets).verify };
  const cert = (sigs: { voter: number; sig: Uint8Array }[]) => ({ height: 5, round: 2, digest: d, sigs });
  assert.equal(verifyCommitCert(cert([sig(0), sig(1), sig(3)]), opts), null);
  assert.match(verifyCommitCert(cert([sig(0), sig(1)]), opts)!, /quorum is 3/);
  assert.match(verifyCommitCert(cert([sig(0), sig(1), sig(1)]), opts)!, /signs twice/);
  assert.match(verifyCommitCert(cert([sig(0), sig(1), sig(2, 3)]), opts)!, /does not verify/);
  assert.match(verifyCommitCert(cert([sig(0), sig(1), { voter: 9, sig: sig(2).sig }]), opts)!, /unknown/);
  assert.match(verifyCommitCert({ ...cert([sig(0), sig(1), sig(3)]), height: 6 }, opts)!, /does not verify/);
});
