/**
 * The consensus protocol as a pure state machine: step(state, event) → { state, actions }.
 *
 * It is the Tendermint algorithm (Buchman, Kwon and Milosevic, "The latest gossip on BFT
 * consensus", 2018) in the shape ARCHITECTURE.md asks for: per height, rounds of PROPOSE →
 * PREPARE (prevote) → COMMIT (precommit), with a round change (view change) whenever a round
 * fails. Tendermint was chosen over PBFT because its view change is the same code path as
 * its normal case (locks carried in the proposal's validRound), which leaves fewer places for
 * a safety bug to hide.
 *
 * - n validators tolerate f = ⌊(n − 1)/3⌋ Byzantine ones; a quorum is ⌊2n/3⌋ + 1 distinct
 *   validators (2f + 1 when n = 3f + 1; for other n it is what makes two quorums share an
 *   honest validator).
 * - Votes are counted per voter; a second, different vote of one voter in one round is an
 *   equivocation: reported as a fault and never counted.
 * - Precommits for a block are signed; a quorum of them is the block's commit certificate.
 *   Prevotes for a block are signed from round 1 on, as a later re-proposal's proof of lock;
 *   a round-0 prevote is not, since no proof of lock from round 0 is ever needed
 *   (`signedVote`).
 * - No clock, I/O or randomness: timeouts arrive as events the runtime scheduled, blocks are
 *   built and validated by the runtime on request, and messages arrive already authenticated
 *   by their link's Toeplitz MAC (`from` is the verified sender).
 * - Liveness under lossy links: a `tick` re-sends this validator's own messages of its round;
 *   a validator that hears from one at a lower height answers with the decision it missed
 *   (a first late vote for the decided block excepted: its sender is slow, not stuck).
 */

import { concatBytes, equalBytes, fromHex } from '../bytes.js';
import { encode } from '../codec/index.js';
import { DOMAIN, labelPrefix } from '../crypto/domain.js';
import type {
  CertSig,
  CommitCert,
  ConsensusAction,
  ConsensusEvent,
  ConsensusMsg,
  ConsensusParams,
  DecisionMsg,
  LockedValue,
  OwnVote,
  ProposalMsg,
  Snapshot,
  Step,
  VoteMsg,
} from './types.js';

/** Messages kept per validator for the next height. */
const NEXT_HEIGHT_BUFFER = 8;

/** How many rounds ahead of ours messages are kept. */
const ROUND_WINDOW = 4;

export function faultTolerance(n: number): number {
  return Math.floor((n - 1) / 3);
}

export function quorumSize(n: number): number {
  return Math.floor((2 * n) / 3) + 1;
}

/** What a vote signature covers: chain, height, round and block digest, domain-separated
 * (prevotes and precommits under different labels, so one is never taken for the other). */
export function votePayload(
  type: 'prevote' | 'precommit',
  chainId: string,
  height: number,
  round: number,
  digest: string,
): Uint8Array {
  return concatBytes(
    labelPrefix(type === 'precommit' ? DOMAIN.COMMIT_CERT : DOMAIN.CONSENSUS_VOTE),
    encode([chainId, height, round, fromHex(digest)]),
  );
}

/**
 * Check a commit certificate on its own: a quorum of distinct validators' valid signatures
 * over the same (height, round, digest). What an auditor or light client runs.
 */
export function verifyCommitCert(
  cert: CommitCert,
  opts: {
    chainId: string;
    n: number;
    verify: (voter: number, payload: Uint8Array, sig: Uint8Array) => boolean;
  },
): string | null {
  if (!/^[0-9a-f]+$/.test(cert.digest) || cert.digest.length % 2 !== 0) return 'digest is not hex';
  return verifyQuorum('precommit', cert.height, cert.round, cert.digest, cert.sigs, opts);
}

function verifyQuorum(
  type: 'prevote' | 'precommit',
  height: number,
  round: number,
  digest: string,
  sigs: readonly CertSig[],
  opts: {
    chainId: string;
    n: number;
    verify: (voter: number, payload: Uint8Array, sig: Uint8Array) => boolean;
  },
): string | null {
  if (!Array.isArray(sigs)) return 'signatures missing';
  const payload = votePayload(type, opts.chainId, height, round, digest);
  const seen = new Set<number>();
  for (const s of sigs) {
    if (typeof s !== 'object' || s === null || !(s.sig instanceof Uint8Array)) return 'signature malformed';
    if (!Number.isInteger(s.voter) || s.voter < 0 || s.voter >= opts.n) return `voter ${s.voter} is unknown`;
    if (seen.has(s.voter)) return `voter ${s.voter} signs twice`;
    if (!opts.verify(s.voter, payload, s.sig)) return `voter ${s.voter}'s signature does not verify`;
    seen.add(s.voter);
  }
  if (seen.size < quorumSize(opts.n)) return `${seen.size} signatures, a quorum is ${quorumSize(opts.n)}`;
  return null;
}

/**
 * Whether a vote for a block carries the voter's ML-DSA signature. Every vote travels under
 * its link's MAC, which authenticates the sender to the receiver; a signature only makes a
 * vote transferable, and two things need that. A quorum of precommits is the commit
 * certificate. A quorum of prevotes from round vr is the proof of lock that lets a
 * re-proposal citing vr convince validators locked in an earlier round (Tendermint line 28).
 *
 * A proof from round 0 is never needed. Two quorums share an honest validator, which never
 * prevotes twice in a round, so at most one block gathers a quorum of prevotes in round 0,
 * and every validator locked in round 0 is locked on that block. A proof citing round 0
 * would convince only validators whose lock is from round 0 or who hold none, and both
 * prevote that block when it is proposed as a fresh proposal (line 22). So a validator whose
 * valid block dates from round 0 re-proposes it as a fresh one (`proposalMsg`), and round-0
 * prevotes go unsigned. Round 0 is the one every height passes through: this takes one
 * signature and n − 1 verifications off each validator's height, and leaves the prevote a
 * few dozen bytes instead of a signature's 2.4 KB under the link MAC.
 */
export function signedVote(type: 'prevote' | 'precommit', round: number): boolean {
  return type === 'precommit' || round > 0;
}

interface Vote {
  readonly digest: string | null;
  readonly sig?: Uint8Array;
}

/** A vote as kept: the signature only when there is one (votes for nothing are unsigned). */
function voteOf(digest: string | null, sig: Uint8Array | undefined): Vote {
  return sig && digest !== null ? { digest, sig } : { digest };
}

function voteMsg(type: 'prevote' | 'precommit', height: number, round: number, v: Vote): VoteMsg {
  return v.sig
    ? { type, height, round, digest: v.digest, sig: v.sig }
    : { type, height, round, digest: v.digest };
}

/**
 * A proposal; a re-proposal only with its proof of lock, and only citing a round ≥ 1. A block
 * valid since round 0 goes as a fresh proposal (validRound −1): no proof cites round 0
 * (`signedVote`).
 */
function proposalMsg(
  height: number,
  round: number,
  block: Uint8Array,
  validRound: number,
  pol: readonly CertSig[] | undefined,
): ProposalMsg {
  return validRound > 0 && pol
    ? { type: 'proposal', height, round, validRound, block, pol }
    : { type: 'proposal', height, round, validRound: -1, block };
}

interface HeldProposal {
  readonly block: Uint8Array;
  readonly digest: string;
  readonly validRound: number;
  readonly pol?: readonly CertSig[];
}

function heldProposal(msg: ProposalMsg, digest: string): HeldProposal {
  return msg.pol
    ? { block: msg.block, digest, validRound: msg.validRound, pol: msg.pol }
    : { block: msg.block, digest, validRound: msg.validRound };
}

interface RoundVotes {
  proposal: HeldProposal | null;
  prevotes: Map<number, Vote>;
  precommits: Map<number, Vote>;
}

export interface ConsensusState {
  readonly params: ConsensusParams;
  readonly height: number;
  readonly round: number;
  readonly step: Step;
  readonly locked: LockedValue | null;
  readonly valid: LockedValue | null;
  /** Votes and proposals of the current height, per round. */
  readonly rounds: ReadonlyMap<number, RoundVotes>;
  /** Validation results of blocks at the current height: true, false or pending. */
  readonly validity: ReadonlyMap<string, boolean | 'pending'>;
  /** "For the first time" rules that have fired at this height (Tendermint lines 34, 36, 47). */
  readonly fired: ReadonlySet<string>;
  /** The highest round above ours in which each validator has spoken (one entry per
   * validator, so a Byzantine one cannot grow it). */
  readonly ahead: ReadonlyMap<number, number>;
  /** Blocks this validator proposed at this height, per round. */
  readonly proposed: ReadonlyMap<number, Uint8Array>;
  /** Waiting for the runtime to build the block for this round. */
  readonly awaitingBlock: number | null;
  readonly started: boolean;
  /** Messages for the next height, which often arrive just before our own decision. */
  readonly next: readonly { readonly from: number; readonly msg: ConsensusMsg }[];
  /** The height this validator decided last, to tell a slow peer's late vote from a stuck
   * peer's re-sent one: `heard` holds the late votes let pass once (`from:type:round`). */
  readonly last: LastDecision | null;
  /**
   * Restarted at this height without a record of its round-0 prevote: it may have sent one
   * that never reached the disk (see `vote`), so it sends none in round 0 of this height.
   */
  readonly sitOutRound0: boolean;
}

export interface LastDecision {
  readonly height: number;
  readonly round: number;
  readonly digest: string;
  readonly heard: ReadonlySet<string>;
}

export interface StepResult {
  readonly state: ConsensusState;
  readonly actions: readonly ConsensusAction[];
}

/**
 * A validator that caught up to `height` from decided blocks (not by its own decisions): a
 * fresh state there, and the messages of that height it had already heard while one height
 * behind (its next-height buffer), to be stepped again after `start`. A fresh state alone
 * would drop them, and the validator would wait out a round timeout for what it had heard.
 */
export function afterCatchUp(
  s: ConsensusState,
  height: number,
): { state: ConsensusState; replay: ConsensusEvent[] } {
  return {
    state: initialState(s.params, height),
    replay: s.next
      .filter((m) => m.msg.height === height)
      .map((m) => ({ type: 'message' as const, from: m.from, msg: m.msg })),
  };
}

/**
 * A validator at `height` (the next to decide), or where its snapshot left it. `restarted`:
 * this process is not the validator's first (its store held a chain or a snapshot), so it may
 * have prevoted in round 0 of `height` before it stopped, and sits that prevote out unless the
 * snapshot records it.
 */
export function initialState(
  params: ConsensusParams,
  height: number,
  snapshot?: Snapshot,
  restarted = false,
): ConsensusState {
  const s: Mutable = {
    params,
    height,
    round: 0,
    step: 'propose',
    locked: null,
    valid: null,
    rounds: new Map(),
    validity: new Map(),
    fired: new Set(),
    ahead: new Map(),
    proposed: new Map(),
    awaitingBlock: null,
    started: false,
    next: [],
    last: null,
    sitOutRound0:
      restarted &&
      !(snapshot?.height === height && snapshot.votes.some((v) => v.type === 'prevote' && v.round === 0)),
  };
  if (snapshot && snapshot.height === height) {
    s.round = snapshot.round;
    s.step = snapshot.step;
    s.locked = snapshot.locked;
    s.valid = snapshot.valid;
    for (const v of snapshot.votes) {
      const r = roundOf(s, v.round);
      (v.type === 'prevote' ? r.prevotes : r.precommits).set(params.self, voteOf(v.digest, v.sig));
    }
    for (const p of snapshot.proposals) s.proposed.set(p.round, p.block);
    if (s.locked) s.validity.set(s.locked.digest, true);
    if (s.valid) s.validity.set(s.valid.digest, true);
  }
  return s;
}

type Mutable = {
  -readonly [K in keyof ConsensusState]: ConsensusState[K] extends ReadonlyMap<infer A, infer B>
    ? Map<A, B>
    : ConsensusState[K] extends ReadonlySet<infer A>
      ? Set<A>
      : ConsensusState[K];
};

function clone(s: ConsensusState): Mutable {
  const rounds = new Map<number, RoundVotes>();
  for (const [r, v] of s.rounds)
    rounds.set(r, { proposal: v.proposal, prevotes: new Map(v.prevotes), precommits: new Map(v.precommits) });
  return {
    ...s,
    rounds,
    validity: new Map(s.validity),
    fired: new Set(s.fired),
    ahead: new Map(s.ahead),
    proposed: new Map(s.proposed),
  };
}

function roundOf(s: Mutable, round: number): RoundVotes {
  let r = s.rounds.get(round);
  if (!r) {
    r = { proposal: null, prevotes: new Map(), precommits: new Map() };
    s.rounds.set(round, r);
  }
  return r;
}

/**
 * One sync for a step's snapshots: when a step persists more than once (a proposer persists
 * its proposal, then its own prevote), only the last persist is kept, and the messages
 * between the first and the last move to just after it. Every message still leaves after a
 * snapshot at least as new as the one it followed (a step's state only grows), so a restart
 * never forgets a message that was sent; messages only leave later, in the same order.
 */
export function coalescePersists(actions: readonly ConsensusAction[]): ConsensusAction[] {
  const first = actions.findIndex((a) => a.type === 'persist');
  const last = actions.findLastIndex((a) => a.type === 'persist');
  if (last === first) return [...actions]; // none, or one
  const out: ConsensusAction[] = [];
  const held: ConsensusAction[] = [];
  actions.forEach((a, i) => {
    if (i < first || i > last) out.push(a);
    else if (a.type === 'persist') {
      if (i === last) out.push(a, ...held);
    } else if (a.type === 'broadcast' || a.type === 'send') held.push(a);
    else out.push(a);
  });
  return out;
}

export function step(state: ConsensusState, event: ConsensusEvent): StepResult {
  const s = clone(state);
  const out: ConsensusAction[] = [];
  switch (event.type) {
    case 'start':
      if (!s.started) {
        s.started = true;
        startRound(s, s.round, out, true);
      }
      break;
    case 'message':
      if (s.started) onMessage(s, event.from, event.msg, out);
      break;
    case 'timeout':
      if (s.started) onTimeout(s, event.step, event.height, event.round, out);
      break;
    case 'block':
      if (s.started && event.height === s.height && event.round === s.round && s.awaitingBlock === s.round) {
        s.awaitingBlock = null;
        propose(s, event.block, -1, out);
      }
      break;
    case 'validated':
      if (event.height === s.height && s.validity.get(event.digest) === 'pending')
        s.validity.set(event.digest, event.valid);
      break;
    case 'tick':
      if (s.started) retransmit(s, out);
      break;
  }
  if (s.started) advance(s, out);
  return { state: s, actions: out };
}

// ---- rounds -----------------------------------------------------------------------------

function startRound(s: Mutable, round: number, out: ConsensusAction[], resuming = false): void {
  const p = s.params;
  if (!resuming || round !== s.round) {
    s.round = round;
    s.step = 'propose';
  }
  if (round > 0 && !resuming) out.push({ type: 'roundChange', height: s.height, round });
  for (const [who, r] of [...s.ahead]) if (r <= round) s.ahead.delete(who);
  out.push({
    type: 'schedule',
    step: 'propose',
    height: s.height,
    round,
    ms: timeoutMs(s, 'propose', round),
  });
  if (s.step !== 'propose') return; // resumed after a crash past the proposal: the votes stand
  if (p.proposer(s.height, round) !== p.self) return;
  const already = s.proposed.get(round);
  if (already)
    propose(s, already, s.valid && s.valid.block === already ? s.valid.round : -1, out, true, s.valid?.pol);
  else if (s.valid) propose(s, s.valid.block, s.valid.round, out, false, s.valid.pol);
  else {
    s.awaitingBlock = round;
    out.push({ type: 'requestBlock', height: s.height, round });
  }
}

function propose(
  s: Mutable,
  block: Uint8Array,
  validRound: number,
  out: ConsensusAction[],
  resend = false,
  pol?: readonly CertSig[],
) {
  const digest = s.params.crypto.digest(block);
  const msg = proposalMsg(s.height, s.round, block, validRound, pol);
  // The proposal leaves before its snapshot is on disk, so the others validate it while this
  // validator syncs. A proposal binds nobody: if this validator dies before the sync, it may
  // propose another block in this round after its restart, which the others see as an
  // equivocating proposer, the one thing Tendermint's safety never relies on (any proposer may
  // be Byzantine). Votes, which safety does rest on, still leave only after their snapshot.
  //
  // Nor does the proposal wait for this validator's own prevote to be signed (half a
  // millisecond to a millisecond of ML-DSA on a busy machine, all of it on every height's
  // critical path): a block not yet judged is handed to the runtime to validate, which answers
  // at once for one it built, and the prevote is signed in that answer's step, after the
  // proposal has left. The prevote's snapshot records the proposal too.
  out.push({ type: 'broadcast', msg });
  if (!resend) s.proposed.set(s.round, block);
  roundOf(s, s.round).proposal = heldProposal(msg, digest);
  if (!s.validity.has(digest)) {
    s.validity.set(digest, 'pending');
    out.push({ type: 'validate', height: s.height, digest, block });
  }
  // A prevote still to come (a block being judged, in the propose step) brings its snapshot;
  // otherwise the proposal is persisted now.
  if (!resend && !(s.validity.get(digest) === 'pending' && s.step === 'propose'))
    out.push({ type: 'persist', snapshot: snapshot(s) });
}

function timeoutMs(s: Mutable, step: Step, round: number): number {
  const t = s.params.timeouts;
  const base = step === 'propose' ? t.proposeMs : step === 'prevote' ? t.prevoteMs : t.precommitMs;
  return base + round * t.deltaMs;
}

function onTimeout(s: Mutable, step: Step, height: number, round: number, out: ConsensusAction[]): void {
  if (height !== s.height || round !== s.round) return;
  if (step === 'propose' && s.step === 'propose') vote(s, 'prevote', null, out);
  else if (step === 'prevote' && s.step === 'prevote') vote(s, 'precommit', null, out);
  else if (step === 'precommit') startRound(s, round + 1, out);
}

function vote(
  s: Mutable,
  type: 'prevote' | 'precommit',
  digest: string | null,
  out: ConsensusAction[],
): void {
  const p = s.params;
  const r = roundOf(s, s.round);
  // A round-0 prevote leaves without a sync first, and a restarted validator that cannot tell
  // whether it sent one sends none (`sitOutRound0`): it never sends two different prevotes in
  // round 0, whatever reached its disk. Every other vote leaves only after its snapshot: a
  // precommit carries the lock, and a prevote in a later round follows rules that turn on
  // what the validator saw and did in earlier rounds. Round 0 is the one every height passes
  // through, so this takes one sync off each height's critical path; a restart costs at most
  // its own round-0 prevote, and the other 2f + 1 decide without it.
  const firstPrevote = type === 'prevote' && s.round === 0;
  if (firstPrevote && !s.fired.has('pv:0')) {
    // In round 0 the prevote timeout starts with this validator's own prevote (or the one it
    // sits out), not at a quorum of prevotes (Tendermint line 34). A validator sitting out
    // leaves round 0 with fewer than 2f + 1 prevoters when another is silent, and line 34
    // would then wait for ever; this way each honest validator precommits nil on its timeout,
    // and line 47 moves them all to round 1. The timer only brings a nil precommit forward,
    // which is always safe.
    s.fired.add('pv:0');
    out.push({
      type: 'schedule',
      step: 'prevote',
      height: s.height,
      round: 0,
      ms: timeoutMs(s, 'prevote', 0),
    });
  }
  if (firstPrevote && s.sitOutRound0) {
    // As if it had prevoted: it still locks and precommits on a quorum's prevotes, and its nil
    // precommit on the timeout is also what tells peers far ahead to send it the decision.
    s.step = 'prevote';
    return;
  }
  const sig =
    digest !== null && signedVote(type, s.round)
      ? p.crypto.sign(votePayload(type, p.chainId, s.height, s.round, digest))
      : undefined;
  const v = voteOf(digest, sig);
  (type === 'prevote' ? r.prevotes : r.precommits).set(p.self, v);
  s.step = type;
  if (!firstPrevote) out.push({ type: 'persist', snapshot: snapshot(s) });
  out.push({ type: 'broadcast', msg: voteMsg(type, s.height, s.round, v) });
}

function snapshot(s: Mutable): Snapshot {
  const votes: OwnVote[] = [];
  for (const [round, r] of s.rounds) {
    for (const type of ['prevote', 'precommit'] as const) {
      const v = (type === 'prevote' ? r.prevotes : r.precommits).get(s.params.self);
      if (v !== undefined) votes.push({ type, round, ...v });
    }
  }
  return {
    height: s.height,
    round: s.round,
    step: s.step,
    locked: s.locked,
    valid: s.valid,
    votes,
    proposals: [...s.proposed].map(([round, block]) => ({ round, block })),
  };
}

/**
 * Re-send this validator's own messages at this height: votes and proposals are MAC'd per
 * link, not signed, so nobody else can relay them, and a lossy link must not leave a peer
 * without the prevotes that justify a later re-proposal (Tendermint's POL) or the
 * precommits and proposal that decide a block. So: everything of the current round; from
 * earlier rounds the non-nil votes, and our proposals that someone precommitted.
 */
function retransmit(s: Mutable, out: ConsensusAction[]): void {
  const self = s.params.self;
  for (const [round, r] of [...s.rounds].sort((x, y) => x[0] - y[0])) {
    if (round > s.round) continue;
    const current = round === s.round;
    const mine = s.proposed.get(round);
    const prop = r.proposal;
    if (mine && prop && (current || [...r.precommits.values()].some((v) => v.digest === prop.digest)))
      out.push({ type: 'broadcast', msg: proposalMsg(s.height, round, mine, prop.validRound, prop.pol) });
    for (const type of ['prevote', 'precommit'] as const) {
      const v = (type === 'prevote' ? r.prevotes : r.precommits).get(self);
      if (v === undefined || (!current && v.digest === null)) continue;
      out.push({ type: 'broadcast', msg: voteMsg(type, s.height, round, v) });
    }
  }
}

// ---- messages ---------------------------------------------------------------------------

function wellFormed(msg: ConsensusMsg, n: number): boolean {
  const int = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  if (!int(msg.height, 0)) return false;
  switch (msg.type) {
    case 'proposal':
      return (
        int(msg.round, 0) &&
        int(msg.validRound, -1) &&
        msg.validRound !== 0 && // no proof of lock cites round 0 (signedVote)
        msg.validRound < msg.round &&
        msg.block instanceof Uint8Array &&
        (msg.pol === undefined || (Array.isArray(msg.pol) && msg.pol.length <= n))
      );
    case 'prevote':
    case 'precommit':
      return (
        int(msg.round, 0) &&
        (msg.digest === null || (typeof msg.digest === 'string' && /^[0-9a-f]{2,128}$/.test(msg.digest))) &&
        (msg.sig === undefined || msg.sig instanceof Uint8Array)
      );
    case 'decision':
      return (
        msg.block instanceof Uint8Array &&
        typeof msg.cert === 'object' &&
        msg.cert !== null &&
        Array.isArray(msg.cert.sigs) &&
        msg.cert.sigs.length <= n &&
        msg.cert.height === msg.height
      );
    default:
      return false;
  }
}

function onMessage(s: Mutable, from: number, msg: ConsensusMsg, out: ConsensusAction[]): void {
  const p = s.params;
  if (!Number.isInteger(from) || from < 0 || from >= p.n || from === p.self) return;
  if (!wellFormed(msg, p.n)) {
    out.push({ type: 'fault', from, fault: 'bad-message', detail: 'malformed consensus message' });
    return;
  }
  if (msg.type === 'decision') {
    onDecision(s, from, msg, out);
    return;
  }
  if (msg.height < s.height) {
    // The sender is behind. If its vote is for the block we decided, in the deciding round,
    // it is only slow: the precommits that decided the block were sent to it as to us, and
    // answering would send a whole block it is about to commit anyway (up to five a height
    // on a loaded devnet). The same vote again is a tick's re-send, so the sender is stuck
    // (its precommits were lost): then, as for any other late message, send the decision.
    const l = s.last;
    if (
      l &&
      msg.height === l.height &&
      (msg.type === 'prevote' || msg.type === 'precommit') &&
      msg.round === l.round &&
      msg.digest === l.digest
    ) {
      const key = `${from}:${msg.type}:${msg.round}`;
      if (!l.heard.has(key)) {
        s.last = { ...l, heard: new Set(l.heard).add(key) };
        return;
      }
    }
    out.push({ type: 'sendDecision', to: from, height: msg.height });
    return;
  }
  if (msg.height > s.height) {
    // Keep a few for the next height; anything further means we are behind, and a peer
    // will send us the decision we missed when it hears our messages.
    if (msg.height === s.height + 1 && s.next.length < NEXT_HEIGHT_BUFFER * p.n)
      s.next = [...s.next, { from, msg }];
    return;
  }
  if (msg.round > s.round && msg.round > (s.ahead.get(from) ?? -1)) s.ahead.set(from, msg.round);
  // Votes and proposals are kept for the rounds up to ours and a few ahead; a Byzantine
  // validator's messages for far rounds only move its `ahead` entry. Honest ones re-send.
  if (msg.round > s.round + ROUND_WINDOW) return;
  const r = roundOf(s, msg.round);
  if (msg.type === 'proposal') {
    if (p.proposer(msg.height, msg.round) !== from) {
      out.push({ type: 'fault', from, fault: 'not-proposer', detail: `round ${msg.round} is not theirs` });
      return;
    }
    const digest = p.crypto.digest(msg.block);
    if (r.proposal) {
      if (r.proposal.digest !== digest)
        out.push({
          type: 'fault',
          from,
          fault: 'equivocation',
          detail: `two proposals in round ${msg.round}`,
        });
      return;
    }
    if (msg.validRound >= 0) {
      // A re-proposal must prove its lock: a quorum of signed prevotes from round vr. They
      // are as good as hearing the prevotes ourselves.
      const problem = verifyQuorum('prevote', msg.height, msg.validRound, digest, msg.pol ?? [], {
        chainId: p.chainId,
        n: p.n,
        verify: p.crypto.verify,
      });
      if (problem) {
        out.push({ type: 'fault', from, fault: 'bad-signature', detail: `proof of lock: ${problem}` });
        return;
      }
    }
    r.proposal = heldProposal(msg, digest);
    if (!s.validity.has(digest)) {
      s.validity.set(digest, 'pending');
      out.push({ type: 'validate', height: s.height, digest, block: msg.block });
    }
    return;
  }
  const votes = msg.type === 'prevote' ? r.prevotes : r.precommits;
  const signed = msg.digest !== null && signedVote(msg.type, msg.round);
  if (msg.digest !== null && !signed && msg.sig) {
    out.push({
      type: 'fault',
      from,
      fault: 'bad-message',
      detail: 'a signed round-0 prevote (round-0 prevotes go unsigned)',
    });
    return;
  }
  const had = votes.get(from);
  // A re-sent copy of a vote we hold (the same signature bytes) needs no second verification.
  if (had && had.digest === msg.digest && (!signed || (msg.sig && equalBytes(had.sig!, msg.sig)))) return;
  if (signed) {
    if (
      !msg.sig ||
      !p.crypto.verify(from, votePayload(msg.type, p.chainId, msg.height, msg.round, msg.digest), msg.sig)
    ) {
      out.push({ type: 'fault', from, fault: 'bad-signature', detail: `${msg.type} in round ${msg.round}` });
      return;
    }
  }
  if (had === undefined) votes.set(from, voteOf(msg.digest, msg.sig));
  else if (had.digest !== msg.digest)
    out.push({
      type: 'fault',
      from,
      fault: 'equivocation',
      detail: `two ${msg.type}s in round ${msg.round}`,
    });
}

function onDecision(s: Mutable, from: number, msg: DecisionMsg, out: ConsensusAction[]): void {
  const p = s.params;
  if (msg.height !== s.height) return;
  const digest = p.crypto.digest(msg.block);
  const problem =
    digest !== msg.cert.digest
      ? 'block does not match its certificate'
      : verifyCommitCert(msg.cert, { chainId: p.chainId, n: p.n, verify: p.crypto.verify });
  if (problem) {
    out.push({ type: 'fault', from, fault: 'bad-decision', detail: problem });
    return;
  }
  decide(s, msg.block, msg.cert, out);
}

// ---- the rules --------------------------------------------------------------------------

function count<V>(votes: ReadonlyMap<number, V>, pred: (v: V) => boolean): number {
  let c = 0;
  for (const v of votes.values()) if (pred(v)) c++;
  return c;
}

/** Apply the Tendermint upon-rules until none fires. */
function advance(s: Mutable, out: ConsensusAction[]): void {
  const p = s.params;
  const q = quorumSize(p.n);
  for (let guard = 0; guard < 64; guard++) {
    const height = s.height;
    const round = s.round;
    const r = roundOf(s, round);
    const prop = r.proposal;
    const valid = (d: string) => s.validity.get(d) === true;

    // Decide (line 49): any round with a proposal and a quorum of precommits for it.
    let decided = false;
    for (const [rr, votes] of s.rounds) {
      const pr = votes.proposal;
      if (!pr || !valid(pr.digest)) continue;
      if (count(votes.precommits, (v) => v.digest === pr.digest) >= q) {
        const sigs = [...votes.precommits]
          .filter(([, v]) => v.digest === pr.digest && v.sig)
          .map(([voter, v]) => ({ voter, sig: v.sig! }))
          .sort((a, b) => a.voter - b.voter);
        decide(s, pr.block, { height, round: rr, digest: pr.digest, sigs }, out);
        decided = true;
        break;
      }
    }
    if (decided) continue;

    // Skip ahead (line 55): f + 1 validators are already in higher rounds; join the
    // highest round that f + 1 of them have reached.
    const f = faultTolerance(p.n);
    const ahead = [...s.ahead.values()].filter((rr) => rr > round).sort((a, b) => b - a);
    if (ahead.length >= f + 1) {
      startRound(s, ahead[f]!, out);
      continue;
    }

    if (s.step === 'propose' && prop && prop.validRound === -1 && s.validity.get(prop.digest) !== 'pending') {
      // Line 22: a fresh proposal.
      const ok = valid(prop.digest) && (s.locked === null || s.locked.digest === prop.digest);
      vote(s, 'prevote', ok ? prop.digest : null, out);
      continue;
    }
    if (s.step === 'propose' && prop && prop.validRound >= 0 && s.validity.get(prop.digest) !== 'pending') {
      // Line 28: a re-proposal backed by a quorum of prevotes in round vr. Its proof of
      // lock was verified on receipt (or it is our own), so the quorum is established even
      // where an equivocator sent us a different prevote of its own.
      const ok =
        valid(prop.digest) &&
        (s.locked === null || s.locked.round <= prop.validRound || s.locked.digest === prop.digest);
      vote(s, 'prevote', ok ? prop.digest : null, out);
      continue;
    }
    if (s.step === 'prevote' && r.prevotes.size >= q && !s.fired.has(`pv:${round}`)) {
      // Line 34.
      s.fired.add(`pv:${round}`);
      out.push({ type: 'schedule', step: 'prevote', height, round, ms: timeoutMs(s, 'prevote', round) });
    }
    if (
      prop &&
      valid(prop.digest) &&
      s.step !== 'propose' &&
      !s.fired.has(`lock:${round}`) &&
      count(r.prevotes, (v) => v.digest === prop.digest) >= q
    ) {
      // Line 36: lock on a block a quorum prevoted; keep their signatures as its proof.
      s.fired.add(`lock:${round}`);
      const pol = [...r.prevotes]
        .filter(([, v]) => v.digest === prop.digest && v.sig)
        .map(([voter, v]) => ({ voter, sig: v.sig! }))
        .sort((a, b) => a.voter - b.voter);
      const value = { round, digest: prop.digest, block: prop.block, pol };
      s.valid = value;
      if (s.step === 'prevote') {
        s.locked = value;
        vote(s, 'precommit', prop.digest, out);
      } else out.push({ type: 'persist', snapshot: snapshot(s) });
      continue;
    }
    if (s.step === 'prevote' && count(r.prevotes, (v) => v.digest === null) >= q) {
      // Line 44.
      vote(s, 'precommit', null, out);
      continue;
    }
    if (r.precommits.size >= q && !s.fired.has(`pc:${round}`)) {
      // Line 47.
      s.fired.add(`pc:${round}`);
      out.push({ type: 'schedule', step: 'precommit', height, round, ms: timeoutMs(s, 'precommit', round) });
    }
    return;
  }
}

function decide(s: Mutable, block: Uint8Array, cert: CommitCert, out: ConsensusAction[]): void {
  out.push({ type: 'commit', height: s.height, block, cert });
  s.last = { height: s.height, round: cert.round, digest: cert.digest, heard: new Set() };
  s.height += 1;
  s.round = 0;
  s.step = 'propose';
  s.locked = null;
  s.valid = null;
  s.rounds = new Map();
  s.validity = new Map();
  s.fired = new Set();
  s.ahead = new Map();
  s.proposed = new Map();
  s.awaitingBlock = null;
  s.sitOutRound0 = false;
  const buffered = s.next;
  s.next = [];
  out.push({ type: 'persist', snapshot: snapshot(s) });
  startRound(s, 0, out);
  for (const b of buffered) onMessage(s, b.from, b.msg, out);
}
