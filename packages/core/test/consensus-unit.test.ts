/** Single steps of the consensus state machine and the commit certificate check. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha3_256 } from '@noble/hashes/sha3.js';
import {
  afterCatchUp,
  type ConsensusAction,
  type ConsensusEvent,
  type ConsensusMsg,
  coalescePersists,
  faultTolerance,
  initialState,
  proposerFromOrder,
  quorumSize,
  signedVote,
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

test('the proposer asks for a block, proposes it at once, and signs its prevote only after the proposal has left; a round-0 prevote leaves with no sync', () => {
  let signed = 0;
  const p0 = params(0);
  const counting = {
    ...p0,
    crypto: {
      ...p0.crypto,
      sign: (m: Uint8Array) => {
        signed++;
        return p0.crypto.sign(m);
      },
    },
  };
  let s = initialState(counting, 0);
  let r = step(s, { type: 'start' });
  assert.ok(r.actions.some((a) => a.type === 'requestBlock' && a.height === 0 && a.round === 0));
  s = r.state;
  r = step(s, { type: 'block', height: 0, round: 0, block: utf8('b0') });
  // The proposal leaves at once: no signature, no sync before it. Its own block goes to the
  // runtime to judge, like anyone's.
  const kinds = r.actions.map((a) => (a.type === 'broadcast' ? a.msg.type : a.type));
  assert.deepEqual(kinds, ['proposal', 'validate'], kinds.join());
  assert.equal(signed, 0, 'nothing signed before the proposal left');
  const validate = r.actions[1] as Extract<ConsensusAction, { type: 'validate' }>;
  // The runtime's answer: the prevote, at once (round 0: no snapshot first, and no signature),
  // and its timeout.
  r = step(r.state, { type: 'validated', height: 0, digest: validate.digest, valid: true });
  const after = r.actions.map((a) => (a.type === 'broadcast' ? a.msg.type : a.type));
  assert.equal(signed, 0, 'a round-0 prevote is not signed');
  assert.deepEqual(after, ['schedule', 'prevote'], after.join());
  const prevote = r.actions.find((a) => a.type === 'broadcast');
  assert.ok(prevote?.type === 'broadcast' && prevote.msg.type === 'prevote' && !prevote.msg.sig);
  assert.equal(prevote.msg.digest, validate.digest);
  assert.ok(r.actions.some((a) => a.type === 'schedule' && a.step === 'prevote' && a.round === 0));
  // The precommit is what carries the round-0 prevote and the proposal to disk, before it leaves.
  s = r.state;
  for (const v of [1, 2]) {
    const msg = { type: 'prevote' as const, height: 0, round: 0, digest: validate.digest };
    r = step(s, { type: 'message', from: v, msg });
    s = r.state;
  }
  assert.equal(signed, 1, 'the precommit is signed');
  const locked = r.actions.map((a) => (a.type === 'broadcast' ? a.msg.type : a.type));
  const persisted = locked.indexOf('persist');
  assert.ok(persisted >= 0 && persisted < locked.indexOf('precommit'), locked.join());
  const snap = (r.actions[persisted] as Extract<ConsensusAction, { type: 'persist' }>).snapshot;
  assert.deepEqual(
    snap.proposals.map((p) => [p.round, new TextDecoder().decode(p.block)]),
    [[0, 'b0']],
  );
  assert.ok(snap.votes.some((v) => v.type === 'prevote' && v.round === 0 && v.digest === validate.digest));
  assert.ok(snap.votes.some((v) => v.type === 'precommit' && v.round === 0 && v.digest === validate.digest));
  assert.equal(snap.locked?.digest, validate.digest);
});

test('restarted without a record of its round-0 prevote, a validator sits that prevote out, and still locks, precommits and times out', () => {
  const p1 = params(1); // validator 0 proposes at height 0, round 0
  const block = utf8('b0');
  const digest = p1.crypto.digest(block);
  const proposal: ConsensusEvent = {
    type: 'message',
    from: 0,
    msg: { type: 'proposal', height: 0, round: 0, validRound: -1, block },
  };
  const prevote = (v: number, round = 0): ConsensusEvent => ({
    type: 'message',
    from: v,
    msg: {
      type: 'prevote',
      height: 0,
      round,
      digest,
      ...(signedVote('prevote', round)
        ? { sig: simCrypto(v, secrets).sign(votePayload('prevote', 'unit', 0, round, digest)) }
        : {}),
    },
  });
  const judged = (restarted: boolean, snapshot?: Parameters<typeof initialState>[2]) => {
    let s = step(initialState(p1, 0, snapshot, restarted), { type: 'start' }).state;
    s = step(s, proposal).state;
    return step(s, { type: 'validated', height: 0, digest, valid: true });
  };
  const sent = (as: readonly ConsensusAction[]) =>
    as.flatMap((a) => (a.type === 'broadcast' ? [a.msg.type] : []));
  // A first start prevotes; a restart with no snapshot of this height does not.
  assert.deepEqual(sent(judged(false).actions), ['prevote']);
  const sat = judged(true);
  assert.deepEqual(sent(sat.actions), []);
  assert.equal(sat.state.step, 'prevote');
  assert.equal(sat.state.rounds.get(0)?.prevotes.has(1), false, 'no prevote of its own is counted');
  assert.ok(sat.actions.some((a) => a.type === 'schedule' && a.step === 'prevote' && a.round === 0));
  assert.ok(!sat.actions.some((a) => a.type === 'persist'));
  // A quorum of the others' prevotes: it locks and precommits the block, after a snapshot.
  let s = sat.state;
  let r = step(s, prevote(0));
  r = step(r.state, prevote(2));
  assert.ok(!sent(r.actions).length, 'two prevotes are not a quorum');
  r = step(r.state, prevote(3));
  const kinds = r.actions.map((a) => (a.type === 'broadcast' ? a.msg.type : a.type));
  assert.ok(
    kinds.indexOf('persist') >= 0 && kinds.indexOf('persist') < kinds.indexOf('precommit'),
    kinds.join(),
  );
  assert.equal(r.state.locked?.digest, digest);
  // Without a quorum, its prevote timeout ends the step with a nil precommit (after a snapshot).
  r = step(sat.state, { type: 'timeout', step: 'prevote', height: 0, round: 0 });
  const nil = r.actions.find((a) => a.type === 'broadcast');
  assert.ok(nil?.type === 'broadcast' && nil.msg.type === 'precommit' && nil.msg.digest === null);
  assert.ok(r.actions.findIndex((a) => a.type === 'persist') < r.actions.indexOf(nil));
  // A restart whose snapshot holds its round-0 prevote resumes and re-sends that very vote.
  const first = judged(false);
  assert.deepEqual(first.state.rounds.get(0)!.prevotes.get(1), { digest }, 'recorded, unsigned');
  const snapshot = {
    height: 0,
    round: 0,
    step: 'prevote' as const,
    locked: null,
    valid: null,
    votes: [{ type: 'prevote' as const, round: 0, digest }],
    proposals: [],
  };
  const resumed = step(initialState(p1, 0, snapshot, true), { type: 'start' }).state;
  assert.equal(resumed.sitOutRound0, false);
  const resent = step(resumed, { type: 'tick' }).actions.find(
    (a) => a.type === 'broadcast' && a.msg.type === 'prevote',
  );
  assert.ok(resent?.type === 'broadcast' && resent.msg.type === 'prevote' && resent.msg.digest === digest);
  // Past round 0 nothing is sat out, and every prevote leaves after its snapshot.
  s = step(sat.state, { type: 'timeout', step: 'prevote', height: 0, round: 0 }).state;
  r = step(s, { type: 'timeout', step: 'precommit', height: 0, round: 0 });
  s = r.state;
  assert.equal(s.round, 1);
  r = step(s, { type: 'timeout', step: 'propose', height: 0, round: 1 });
  const r1 = r.actions.map((a) => (a.type === 'broadcast' ? a.msg.type : a.type));
  assert.ok(r1.includes('prevote') && r1.indexOf('persist') < r1.indexOf('prevote'), r1.join());
  // Once the height is decided, the next one is voted in as usual.
  const cert = {
    height: 0,
    round: 0,
    digest,
    sigs: [0, 2, 3].map((v) => ({
      voter: v,
      sig: simCrypto(v, secrets).sign(votePayload('precommit', 'unit', 0, 0, digest)),
    })),
  };
  const next = step(sat.state, {
    type: 'message',
    from: 0,
    msg: { type: 'decision', height: 0, block, cert },
  });
  assert.ok(next.actions.some((a) => a.type === 'commit' && a.height === 0));
  assert.equal(next.state.height, 1);
  assert.equal(next.state.sitOutRound0, false);
});

test('an equivocating voter is counted once and reported; a forged precommit is dropped', () => {
  const c1 = simCrypto(1, secrets);
  let s = step(initialState(params(0), 0), { type: 'start' }).state;
  const d1 = 'aa'.repeat(32);
  const d2 = 'bb'.repeat(32);
  const vote = (digest: string) => ({ type: 'prevote' as const, height: 0, round: 0, digest });
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
    msg: {
      type: 'precommit',
      height: 0,
      round: 0,
      digest: d1,
      sig: c1.sign(votePayload('prevote', 'unit', 0, 0, d1)),
    },
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

test('malformed messages, proposals from the wrong validator and bad decisions are refused and change nothing', () => {
  const s = step(initialState(params(0), 0), { type: 'start' }).state;
  const d = 'dd'.repeat(32);
  const bad: unknown[] = [
    { type: 'prevote', height: -1, round: 0, digest: d },
    { type: 'prevote', height: 0, round: 0.5, digest: d },
    { type: 'precommit', height: 0, round: 0, digest: 'not hex' },
    { type: 'proposal', height: 0, round: 1, validRound: 1, block: utf8('b') },
    { type: 'proposal', height: 0, round: 1, validRound: -1, block: 'b' },
    { type: 'decision', height: 0, block: utf8('b'), cert: { height: 1, round: 0, digest: d, sigs: [] } },
    { type: 'vote', height: 0 },
  ];
  for (const msg of bad) {
    const r = step(s, { type: 'message', from: 1, msg: msg as never });
    assert.deepEqual(
      r.actions.map((a) => (a.type === 'fault' ? a.fault : a.type)),
      ['bad-message'],
      JSON.stringify(msg, (_k, v) => (v instanceof Uint8Array ? 'bytes' : v)),
    );
    assert.equal(r.state.height, s.height);
    assert.equal(r.state.round, s.round);
    assert.equal(r.state.step, s.step);
    assert.equal(r.state.rounds.get(0)?.prevotes.size, s.rounds.get(0)?.prevotes.size);
  }
  // Round 1's proposer is validator 1: validator 2 may not propose it.
  const wrong = step(s, {
    type: 'message',
    from: 2,
    msg: { type: 'proposal', height: 0, round: 1, validRound: -1, block: utf8('b') },
  });
  assert.ok(wrong.actions.some((a) => a.type === 'fault' && a.fault === 'not-proposer'));
  assert.equal(wrong.state.rounds.get(1)?.proposal ?? null, null);
  // A decision whose certificate is short of a quorum is not committed.
  const block = utf8('decided');
  const digest = simCrypto(0, secrets).digest(block);
  const sig = simCrypto(1, secrets).sign(votePayload('precommit', 'unit', 0, 0, digest));
  const dec = step(s, {
    type: 'message',
    from: 1,
    msg: {
      type: 'decision',
      height: 0,
      block,
      cert: { height: 0, round: 0, digest, sigs: [{ voter: 1, sig }] },
    },
  });
  assert.ok(dec.actions.some((a) => a.type === 'fault' && a.fault === 'bad-decision'));
  assert.ok(!dec.actions.some((a) => a.type === 'commit'));
  assert.equal(dec.state.height, 0);
});

test('a re-sent copy of a vote is not verified again, and a copy with other signature bytes is', () => {
  let verifies = 0;
  const counting = (self: number) => {
    const c = simCrypto(self, secrets);
    return {
      ...params(self),
      crypto: {
        ...c,
        verify: (voter: number, payload: Uint8Array, sig: Uint8Array) => {
          verifies++;
          return c.verify(voter, payload, sig);
        },
      },
    };
  };
  const d = 'ee'.repeat(32);
  // A round-1 prevote: round 0's carry no signature.
  const sig = simCrypto(1, secrets).sign(votePayload('prevote', 'unit', 0, 1, d));
  let s = step(initialState(counting(0), 0), { type: 'start' }).state;
  const msg = { type: 'prevote' as const, height: 0, round: 1, digest: d, sig };
  for (let i = 0; i < 3; i++) s = step(s, { type: 'message', from: 1, msg }).state;
  assert.equal(verifies, 1);
  const forged = step(s, { type: 'message', from: 1, msg: { ...msg, sig: new Uint8Array(32) } });
  assert.equal(verifies, 2);
  assert.ok(forged.actions.some((a) => a.type === 'fault' && a.fault === 'bad-signature'));
});

test('round-0 prevotes count on their link MAC alone and carry no signature; from round 1 on a prevote must carry a valid one', () => {
  let verifies = 0;
  const c0 = simCrypto(0, secrets);
  const p0 = {
    ...params(0),
    crypto: {
      ...c0,
      verify: (v: number, m: Uint8Array, g: Uint8Array) => {
        verifies++;
        return c0.verify(v, m, g);
      },
    },
  };
  assert.deepEqual(
    [signedVote('prevote', 0), signedVote('prevote', 1), signedVote('precommit', 0)],
    [false, true, true],
  );
  const d = 'ab'.repeat(32);
  let s = step(initialState(p0, 0), { type: 'start' }).state;
  const faults = (r: ReturnType<typeof step>) =>
    r.actions.flatMap((a) => (a.type === 'fault' ? [a.fault] : []));
  // Round 0: a signature is not part of the vote, so one that carries it is malformed.
  const signed0 = simCrypto(1, secrets).sign(votePayload('prevote', 'unit', 0, 0, d));
  let r = step(s, {
    type: 'message',
    from: 1,
    msg: { type: 'prevote', height: 0, round: 0, digest: d, sig: signed0 },
  });
  assert.deepEqual(faults(r), ['bad-message']);
  assert.equal(r.state.rounds.get(0)?.prevotes.has(1) ?? false, false);
  r = step(s, { type: 'message', from: 1, msg: { type: 'prevote', height: 0, round: 0, digest: d } });
  assert.deepEqual(faults(r), []);
  assert.deepEqual(r.state.rounds.get(0)?.prevotes.get(1), { digest: d });
  assert.equal(verifies, 0, 'nothing to verify in round 0');
  s = r.state;
  // Round 1: without a signature, or with a bad one, the prevote is refused and not counted.
  const pv1 = (sig?: Uint8Array) => ({
    type: 'message' as const,
    from: 2,
    msg: { type: 'prevote' as const, height: 0, round: 1, digest: d, ...(sig ? { sig } : {}) },
  });
  r = step(s, pv1());
  assert.deepEqual(faults(r), ['bad-signature']);
  r = step(s, pv1(simCrypto(2, secrets).sign(votePayload('prevote', 'unit', 0, 0, d))));
  assert.deepEqual(faults(r), ['bad-signature'], 'a signature for round 0 is not one for round 1');
  assert.equal(r.state.rounds.get(1)?.prevotes.has(2) ?? false, false);
  const good = simCrypto(2, secrets).sign(votePayload('prevote', 'unit', 0, 1, d));
  r = step(s, pv1(good));
  assert.deepEqual(faults(r), []);
  assert.deepEqual(r.state.rounds.get(1)?.prevotes.get(2), { digest: d, sig: good });
});

test('a block valid since round 0 is re-proposed as a fresh proposal without a proof of lock, and validators locked on it or unlocked prevote it; a proposal citing round 0 is refused', () => {
  const block = utf8('b0');
  const digest = simCrypto(0, secrets).digest(block);
  const msg = (from: number, m: ConsensusMsg): ConsensusEvent => ({ type: 'message', from, msg: m });
  const proposal0 = msg(0, { type: 'proposal', height: 0, round: 0, validRound: -1, block });
  const prevote0 = (v: number) => msg(v, { type: 'prevote', height: 0, round: 0, digest });
  // Validators 1 and 3 lock on the block in round 0 (validator 0 proposed it; three prevotes).
  const lockedAt0 = (self: number, others: number[]) => {
    let s = step(initialState(params(self), 0), { type: 'start' }).state;
    s = step(s, proposal0).state;
    s = step(s, { type: 'validated', height: 0, digest, valid: true }).state;
    for (const v of others) s = step(s, prevote0(v)).state;
    assert.equal(s.locked?.digest, digest);
    assert.equal(s.locked?.round, 0);
    assert.deepEqual(s.locked?.pol, [], 'no signed prevotes in round 0');
    // No quorum of precommits: round 0 ends on the precommit timeout.
    return step(s, { type: 'timeout', step: 'precommit', height: 0, round: 0 });
  };
  // Round 1's proposer is validator 1: it proposes its valid block as a fresh proposal.
  const r1 = lockedAt0(1, [0, 2]);
  assert.equal(r1.state.round, 1);
  const sent = r1.actions.find((a) => a.type === 'broadcast' && a.msg.type === 'proposal');
  assert.ok(sent?.type === 'broadcast' && sent.msg.type === 'proposal');
  assert.equal(sent.msg.validRound, -1);
  assert.equal(sent.msg.pol, undefined);
  assert.deepEqual(sent.msg.block, block);
  // It judged the block in round 0, so its prevote follows at once: signed (round 1), and after
  // a snapshot.
  const kinds1 = r1.actions.map((a) => (a.type === 'broadcast' ? a.msg.type : a.type));
  const at = kinds1.indexOf('prevote');
  assert.ok(at > 0 && kinds1.lastIndexOf('persist', at) >= 0, kinds1.join());
  const prevoteOf = (r: ReturnType<typeof step>) => {
    const a = r.actions.find((x) => x.type === 'broadcast' && x.msg.type === 'prevote');
    return a?.type === 'broadcast' && a.msg.type === 'prevote' ? a.msg : null;
  };
  const check = simCrypto(0, secrets).verify;
  const p1 = prevoteOf(r1);
  assert.equal(p1?.digest, digest);
  assert.equal(check(1, votePayload('prevote', 'unit', 0, 1, digest), p1?.sig ?? new Uint8Array()), true);
  // A validator locked on it in round 0 prevotes it (it judged the block then: at once), and so
  // does an unlocked one once it has judged it.
  const r3 = lockedAt0(3, [0, 1]);
  const p3 = prevoteOf(step(r3.state, msg(1, sent.msg)));
  assert.equal(p3?.digest, digest);
  assert.equal(check(3, votePayload('prevote', 'unit', 0, 1, digest), p3?.sig ?? new Uint8Array()), true);
  let v2 = step(initialState(params(2), 0), { type: 'start' }).state;
  v2 = step(v2, { type: 'timeout', step: 'propose', height: 0, round: 0 }).state;
  v2 = step(v2, { type: 'timeout', step: 'prevote', height: 0, round: 0 }).state;
  v2 = step(v2, { type: 'timeout', step: 'precommit', height: 0, round: 0 }).state;
  assert.equal(v2.round, 1);
  v2 = step(v2, msg(1, sent.msg)).state;
  assert.equal(prevoteOf(step(v2, { type: 'validated', height: 0, digest, valid: true }))?.digest, digest);
  // A proposal that cites round 0 is malformed, whatever it carries, and changes nothing.
  const cites0 = step(r3.state, msg(1, { ...sent.msg, validRound: 0, pol: [] }));
  assert.deepEqual(
    cites0.actions.map((a) => (a.type === 'fault' ? a.fault : a.type)),
    ['bad-message'],
  );
  assert.equal(cites0.state.rounds.get(1)?.proposal ?? null, null);
});

test('a late vote for the decided block is answered with the decision only when re-sent; any other late message at once', () => {
  const block = utf8('decided');
  const digest = simCrypto(0, secrets).digest(block);
  const sig = (v: number, type: 'prevote' | 'precommit' = 'precommit', round = 0, d = digest) =>
    simCrypto(v, secrets).sign(votePayload(type, 'unit', 0, round, d));
  const cert = { height: 0, round: 0, digest, sigs: [1, 2, 3].map((v) => ({ voter: v, sig: sig(v) })) };
  const started = step(initialState(params(0), 0), { type: 'start' }).state;
  const decided = step(started, {
    type: 'message',
    from: 1,
    msg: { type: 'decision', height: 0, block, cert },
  });
  assert.ok(decided.actions.some((a) => a.type === 'commit' && a.height === 0));
  let s = decided.state;
  assert.equal(s.height, 1);
  const answers = (from: number, msg: ConsensusEvent) => {
    const r = step(s, msg);
    s = r.state;
    return r.actions.filter((a) => a.type === 'sendDecision' && a.to === from && a.height === 0).length;
  };
  const late = (from: number, type: 'prevote' | 'precommit', round: number, d: string | null) => ({
    type: 'message' as const,
    from,
    msg:
      d === null
        ? { type, height: 0, round, digest: null }
        : signedVote(type, round)
          ? { type, height: 0, round, digest: d, sig: sig(from, type, round, d) }
          : { type, height: 0, round, digest: d },
  });
  // Validator 3 is slow: its prevote and precommit for the decided block pass unanswered…
  assert.equal(answers(3, late(3, 'prevote', 0, digest)), 0);
  assert.equal(answers(3, late(3, 'precommit', 0, digest)), 0);
  // …until it sends the same precommit again (a tick's re-send: it is stuck).
  assert.equal(answers(3, late(3, 'precommit', 0, digest)), 1);
  // Anything else late is answered at once: a nil vote, a vote of a later round, another block.
  assert.equal(answers(2, late(2, 'prevote', 0, null)), 1);
  assert.equal(answers(2, late(2, 'precommit', 1, digest)), 1);
  assert.equal(answers(2, late(2, 'prevote', 0, 'cc'.repeat(32))), 1);
  // The rule is per sender: validator 2's first vote for the block still passes once.
  assert.equal(answers(2, late(2, 'precommit', 0, digest)), 0);
  // A restarted validator has no record of its last decision and answers every late message.
  const restarted = step(initialState(params(0), 1), { type: 'start' }).state;
  s = restarted;
  assert.equal(answers(1, late(1, 'precommit', 0, digest)), 1);
});

test('a validator that catches up from decided blocks keeps what it heard of the next height, and decides it without a timeout', () => {
  const block = utf8('height one');
  const digest = simCrypto(0, secrets).digest(block);
  const p = params(0);
  const proposer = p.proposer(1, 0);
  const precommit = (v: number) => ({
    type: 'message' as const,
    from: v,
    msg: {
      type: 'precommit' as const,
      height: 1,
      round: 0,
      digest,
      sig: simCrypto(v, secrets).sign(votePayload('precommit', 'unit', 1, 0, digest)),
    },
  });
  // At height 0, height 1's proposal and a quorum of its precommits arrive: kept for later.
  let s = step(initialState(p, 0), { type: 'start' }).state;
  const heard: ConsensusEvent[] = [
    {
      type: 'message',
      from: proposer,
      msg: { type: 'proposal', height: 1, round: 0, validRound: -1, block },
    },
    ...[1, 2, 3].map(precommit),
  ];
  for (const e of heard) s = step(s, e).state;
  // Height 0 then arrives as a decided block from a peer (not through this state machine).
  const { state, replay } = afterCatchUp(s, 1);
  assert.equal(state.height, 1);
  assert.equal(replay.length, 4);
  const run = (events: readonly ConsensusEvent[]) => {
    let st = step(state, { type: 'start' }).state;
    const actions: ConsensusAction[] = [];
    for (const e of events) {
      const r = step(st, e);
      st = r.state;
      actions.push(...r.actions);
    }
    const r = step(st, { type: 'validated', height: 1, digest, valid: true });
    return [...actions, ...r.actions];
  };
  const decided = run(replay);
  assert.ok(decided.some((a) => a.type === 'validate' && a.height === 1));
  assert.ok(decided.some((a) => a.type === 'commit' && a.height === 1));
  // Without them, nothing happens until a timeout.
  assert.ok(!run([]).some((a) => a.type === 'commit' || a.type === 'validate'));
  // Caught up further than the next height: nothing it heard applies.
  assert.equal(afterCatchUp(s, 2).replay.length, 0);
});

test('coalescePersists keeps the last snapshot of a step, and no message leaves before a snapshot as new as the one it followed', () => {
  const s = step(initialState(params(0), 0), { type: 'start' }).state;
  // By hand: a send before the first persist leaves at once; those between wait for the last.
  const snap = (round: number) => ({ type: 'persist' as const, snapshot: { ...s, round } as never });
  const send = (to: number) => ({
    type: 'send' as const,
    to,
    msg: { type: 'prevote' as const, height: 0, round: 0, digest: null },
  });
  const sched = { type: 'schedule' as const, step: 'prevote' as const, height: 0, round: 0, ms: 5 };
  const list: ConsensusAction[] = [send(1), snap(1), send(2), sched, snap(2), send(3)];
  const out = coalescePersists(list);
  assert.deepEqual(out, [list[0], list[3], list[4], list[2], list[5]]);
  // One persist or none: unchanged.
  assert.deepEqual(coalescePersists([send(1), snap(1), send(2)]), [send(1), snap(1), send(2)]);
  assert.deepEqual(coalescePersists([send(1), sched]), [send(1), sched]);
});
