/**
 * The leader-order beacon on the chain (docs/consensus.md, "Leader order").
 *
 * Heights are grouped in epochs of `params.epochLength`: epoch e holds heights
 * e·L + 1 … (e + 1)·L. The seed of epoch e ≥ 2 comes from the validators' QRNG output by
 * commit–reveal (qrng/beacon.ts), carried as ordinary signed transactions:
 *
 *   during epoch e − 2  each validator sends `beacon.commit {epoch: e, commitment}`;
 *   during epoch e − 1, up to its second-to-last height, each validator sends
 *                       `beacon.reveal {epoch: e, value, salt}`;
 *   at height e·L − 1   (the second-to-last of epoch e − 1) the state transition fixes
 *                       seed(e) = beaconSeed(reveals), when at least 2f + 1 validators
 *                       revealed, and otherwise a fallback hashed from seed(e − 1).
 *
 * The seed is fixed one height before its epoch's last because a consensus machine starts the
 * next height as it decides one, before its runtime has applied the decided block: the
 * proposer of height h must follow from the state at h − 2 (seedFixedAt).
 *
 * The commitments are final (BFT finality) before any reveal is accepted, so no validator can
 * choose its value after seeing another's. Each block's header carries its epoch's seed and
 * every validator checks it, so the seed is part of what the commit certificate signs.
 * Epochs 0 and 1 have no seed: their order comes from the genesis hash.
 */
import { encode } from '../codec/index.js';
import { DOMAIN, domainHash } from '../crypto/domain.js';
import type { HashSuite } from '../crypto/types.js';
import { QledgerError } from '../errors.js';
import { type BeaconReveal, beaconSeed } from '../qrng/beacon.js';
import { STATE_KEYS as K } from './keys.js';
import type { StateDraft, StateReader } from './state.js';
import { DEFAULT_PARAMS, type LedgerParams, type Tx } from './types.js';

/** The first epoch whose order comes from the beacon. */
export const FIRST_BEACON_EPOCH = 2;

/** The stored seed of an epoch: who contributed (empty for a fallback seed). */
export interface EpochSeed {
  readonly seed: Uint8Array;
  readonly contributors: readonly string[];
}

export type BeaconTx = Extract<Tx, { kind: 'beacon.commit' | 'beacon.reveal' }>;

/** A validator's beacon transaction (ledger/rules.ts applies it; the mempool exempts it from its limits). */
export function isBeaconTx(tx: Tx): tx is BeaconTx {
  return tx.kind === 'beacon.commit' || tx.kind === 'beacon.reveal';
}

export function epochLength(params: LedgerParams): number {
  // Chains created before the parameter existed use the default.
  return params.epochLength ?? DEFAULT_PARAMS.epochLength;
}

/** The epoch of a height (genesis, height 0, counts as epoch 0). */
export function epochOf(height: number, length: number): number {
  return height <= 0 ? 0 : Math.floor((height - 1) / length);
}

/** Reveals needed for a beacon seed: 2f + 1 of n, with f = ⌊(n − 1) / 3⌋. */
export function beaconThreshold(n: number): number {
  return 2 * Math.floor((n - 1) / 3) + 1;
}

/** The height whose block fixes the seed of `epoch`. */
export function seedFixedAt(epoch: number, length: number): number {
  return epoch * length - 1;
}

/** The seed of `epoch` held in `state`, if the beacon has fixed one. */
export function epochSeed(state: StateReader, epoch: number): EpochSeed | undefined {
  const v = state.get(K.beaconSeed(epoch)) as { seed: Uint8Array; contributors: string[] } | undefined;
  return v === undefined ? undefined : { seed: v.seed, contributors: v.contributors };
}

/** The validators' names in genesis order. */
export function validatorNames(state: StateReader): string[] {
  const v = state.get(K.validatorSet) as string[] | undefined;
  if (v === undefined) throw new Error('state has no validator set');
  return v;
}

/**
 * At the second-to-last height of an epoch, fixes the next epoch's seed from the reveals and
 * clears the records it no longer needs (the seed of the epoch before this one included; this
 * epoch's stays until its last header has carried it). Deterministic: every validator
 * computes the same seed.
 */
export function finishEpoch(
  d: StateDraft,
  chain: string,
  height: number,
  length: number,
  hashes: HashSuite,
): void {
  if ((height + 1) % length !== 0) return;
  const next = (height + 1) / length;
  if (next < FIRST_BEACON_EPOCH) return;
  const names = validatorNames(d);
  const commitments = new Map<string, Uint8Array>();
  const reveals: BeaconReveal[] = [];
  for (const v of names) {
    const c = d.get(K.beaconCommit(next, v)) as Uint8Array | undefined;
    if (c !== undefined) commitments.set(v, c);
    const r = d.get(K.beaconReveal(next, v)) as { value: Uint8Array; salt: Uint8Array } | undefined;
    if (r !== undefined) reveals.push({ validator: v, value: r.value, salt: r.salt });
    d.delete(K.beaconCommit(next, v));
    d.delete(K.beaconReveal(next, v));
  }
  const threshold = beaconThreshold(names.length);
  let record: EpochSeed;
  if (reveals.length >= threshold) {
    // The rules admitted each reveal only if it opened its commitment, so this cannot throw
    // for a state built by applyTx; if it does, the state is corrupt.
    try {
      record = {
        seed: beaconSeed({ chainId: chain, epoch: next }, commitments, reveals, threshold, hashes),
        contributors: reveals.map((r) => r.validator).sort(),
      };
    } catch (e) {
      if (e instanceof QledgerError) throw new Error(`beacon state is inconsistent: ${e.message}`);
      throw e;
    }
  } else {
    // Too few reveals (more than f validators silent or censored for a whole epoch): the order
    // must still be defined, so the seed is hashed from the previous one. Predictable, which
    // costs fairness of the order, never safety; status and the header show it.
    const prev = epochSeed(d, next - 1)?.seed ?? new Uint8Array(0);
    record = {
      seed: domainHash(hashes, DOMAIN.BEACON_FALLBACK, encode([chain, next, prev])),
      contributors: [],
    };
  }
  d.put(K.beaconSeed(next), { seed: record.seed, contributors: [...record.contributors] });
  d.delete(K.beaconSeed(next - 2));
}
