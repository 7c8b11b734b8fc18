/**
 * Types of the consensus state machine (see machine.ts for the protocol).
 *
 * Validators are numbered 0..n−1 in the order of the genesis configuration. Blocks are
 * opaque bytes to consensus: the runtime builds and validates them; consensus only orders
 * them. A digest is the block hash as lower-case hex, so it can key a Map.
 */

export type Step = 'propose' | 'prevote' | 'precommit';

/** PROPOSE: sent by the round's proposer only, never relayed (its link MAC names the sender). */
export interface ProposalMsg {
  readonly type: 'proposal';
  readonly height: number;
  readonly round: number;
  /** −1, or the round (≥ 1) in which this block gathered a quorum of prevotes (Tendermint's
   * vr). A block valid since round 0 is re-proposed with −1 (machine.ts, `signedVote`). */
  readonly validRound: number;
  readonly block: Uint8Array;
  /** With validRound ≥ 1: the quorum of signed prevotes from that round (the proof of lock),
   * so that validators who missed them, or were sent other votes by an equivocator, can
   * still accept the re-proposal. Votes are MAC'd per link and cannot be relayed; signed
   * ones can. */
  readonly pol?: readonly CertSig[];
}

/** PREPARE (prevote) and COMMIT (precommit) votes; `digest` null is a vote for nothing. */
export interface VoteMsg {
  readonly type: 'prevote' | 'precommit';
  readonly height: number;
  readonly round: number;
  readonly digest: string | null;
  /** Votes for a block carry the voter's signature over votePayload(), except prevotes in
   * round 0 (`signedVote`): a quorum of precommits is the commit certificate, a quorum of
   * prevotes from a later round a proof of lock. */
  readonly sig?: Uint8Array;
}

export interface CertSig {
  readonly voter: number;
  readonly sig: Uint8Array;
}

/** A quorum of signed precommits for one block at one height: checkable without QKD keys. */
export interface CommitCert {
  readonly height: number;
  readonly round: number;
  readonly digest: string;
  readonly sigs: readonly CertSig[];
}

/** A decided block with its certificate, sent to a validator that is behind. */
export interface DecisionMsg {
  readonly type: 'decision';
  readonly height: number;
  readonly block: Uint8Array;
  readonly cert: CommitCert;
}

export type ConsensusMsg = ProposalMsg | VoteMsg | DecisionMsg;

/** Everything from outside: the runtime turns clocks, sockets and the mempool into these. */
export type ConsensusEvent =
  | { readonly type: 'start' }
  /** A message whose link tag verified: `from` is the authenticated sender. */
  | { readonly type: 'message'; readonly from: number; readonly msg: ConsensusMsg }
  | { readonly type: 'timeout'; readonly step: Step; readonly height: number; readonly round: number }
  /** The answer to a requestBlock action. */
  | { readonly type: 'block'; readonly height: number; readonly round: number; readonly block: Uint8Array }
  /** The answer to a validate action. */
  | { readonly type: 'validated'; readonly height: number; readonly digest: string; readonly valid: boolean }
  /** Periodic: re-send this validator's own messages of the current round (lossy links). */
  | { readonly type: 'tick' };

export type Fault =
  | 'equivocation'
  | 'bad-signature'
  | 'bad-digest'
  | 'not-proposer'
  | 'bad-decision'
  | 'bad-message';

/** What the runtime must do, in order. */
export type ConsensusAction =
  | { readonly type: 'broadcast'; readonly msg: ConsensusMsg }
  | { readonly type: 'send'; readonly to: number; readonly msg: ConsensusMsg }
  /** Deliver a timeout event after `ms` (unless the height or round has moved on). */
  | {
      readonly type: 'schedule';
      readonly step: Step;
      readonly height: number;
      readonly round: number;
      readonly ms: number;
    }
  /** Build a block for (height, round) from the mempool and answer with a block event. */
  | { readonly type: 'requestBlock'; readonly height: number; readonly round: number }
  /** Check a proposed block against the state at `height` and answer with a validated event. */
  | {
      readonly type: 'validate';
      readonly height: number;
      readonly digest: string;
      readonly block: Uint8Array;
    }
  /** The block is decided: apply and store it with its certificate, atomically. */
  | {
      readonly type: 'commit';
      readonly height: number;
      readonly block: Uint8Array;
      readonly cert: CommitCert;
    }
  /** Send validator `to` the decided block and certificate at `height` (from the store). */
  | { readonly type: 'sendDecision'; readonly to: number; readonly height: number }
  /** Write this before performing the actions after it: a restart must never vote twice. */
  | { readonly type: 'persist'; readonly snapshot: Snapshot }
  | { readonly type: 'fault'; readonly from: number; readonly fault: Fault; readonly detail: string }
  /** A view change: the round moved past 0 at this height. */
  | { readonly type: 'roundChange'; readonly height: number; readonly round: number };

export interface LockedValue {
  readonly round: number;
  readonly digest: string;
  readonly block: Uint8Array;
  /** The signed prevotes that made it valid in `round` (none in round 0: they are unsigned). */
  readonly pol: readonly CertSig[];
}

export interface OwnVote {
  readonly type: 'prevote' | 'precommit';
  readonly round: number;
  readonly digest: string | null;
  readonly sig?: Uint8Array;
}

/** What a validator must remember across a crash to stay safe. */
export interface Snapshot {
  readonly height: number;
  readonly round: number;
  readonly step: Step;
  readonly locked: LockedValue | null;
  readonly valid: LockedValue | null;
  readonly votes: readonly OwnVote[];
  /**
   * The block this validator proposed in each round it led, so that a restart proposes the
   * same one again. (A crash before this reaches the disk may lead to a second proposal in the
   * round; see `propose` in machine.ts for why that is safe.)
   */
  readonly proposals: readonly { readonly round: number; readonly block: Uint8Array }[];
}

export interface Timeouts {
  readonly proposeMs: number;
  readonly prevoteMs: number;
  readonly precommitMs: number;
  /** Added per round, so that after a bad start the rounds grow until the network keeps up. */
  readonly deltaMs: number;
}

export interface ConsensusCrypto {
  /** The block's hash as lower-case hex. */
  digest(block: Uint8Array): string;
  /** Sign with this validator's key. */
  sign(payload: Uint8Array): Uint8Array;
  /** Check validator `voter`'s signature. */
  verify(voter: number, payload: Uint8Array, sig: Uint8Array): boolean;
}

export interface ConsensusParams {
  readonly chainId: string;
  readonly n: number;
  readonly self: number;
  /** The proposer of (height, round): from the epoch's beacon-seeded order. */
  readonly proposer: (height: number, round: number) => number;
  readonly timeouts: Timeouts;
  readonly crypto: ConsensusCrypto;
}
