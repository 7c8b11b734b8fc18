/**
 * The proposer schedule. Each epoch's order of validators is a permutation drawn from that
 * epoch's beacon seed (qrng/beacon.ts: commit–reveal over at least a quorum of validators'
 * QRNG output), so no single validator chooses who leads. Within an epoch the proposer of
 * (height, round) walks the order: a failed round hands over to the next validator, and
 * successive heights rotate so every validator leads in turn.
 */

import { shuffle } from '../qrng/sample.js';
import { seededStream } from '../qrng/stream.js';

/** The epoch's order of validator indices, the same on every validator for the same seed. */
export function leaderOrder(seed: Uint8Array, n: number): number[] {
  return shuffle(
    Array.from({ length: n }, (_, i) => i),
    seededStream(seed),
  );
}

/** proposer(height, round) for one epoch's order. */
export function proposerFromOrder(order: readonly number[]): (height: number, round: number) => number {
  if (order.length === 0) throw new RangeError('order: at least one validator');
  return (height, round) => order[(height + round) % order.length]!;
}
