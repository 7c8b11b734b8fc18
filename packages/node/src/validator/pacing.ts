/**
 * Key-adaptive pacing of heights. Once a link's KME pool is dry, key reaches the validator in
 * chunks, as the KME distils it (every 100 ms in the simulator; a real device's blocks may be
 * larger), and the link delivers a fixed rate. Spent greedily, each chunk goes in a run of
 * back-to-back heights and the chain then stops until the next one: in the devnet's square at
 * 100 tx/s, runs of 10–17 ms heights and stops of 50–400 ms, and a transaction waited 73 ms on
 * average for its height, against 17 ms were 30 heights a second evenly spaced
 * (docs/consensus.md, *Past the banked key*). A proposer whose links are dry therefore starts
 * its height no sooner after the previous one began than its driest link can pay for a height
 * at the rate it delivers: the same heights a second, one at a time.
 *
 * Pacing only delays a proposal, so safety does not depend on it. The wait is capped, below
 * the propose timeout, so a link that delivers little never costs a round.
 */

/** The longest a proposer paces a height, whatever its links deliver. */
export const MAX_PACE_MS = 1000;

/**
 * Key bits one height costs this validator on a link: a tag on its prevote and on its
 * precommit, and on its proposal at every n-th height; only the proposal's when the link's
 * round-0 votes are held back (a relayed peer, thrifty.ts).
 */
export function bitsPerHeight(validators: number, tagBytes: number, votes = true): number {
  return ((votes ? 2 : 0) + 1 / validators) * tagBytes * 8;
}

/** A link as pacing sees it. */
export interface PacedLink {
  /** Bits a second its KME delivers once dry; null while its pad or pool holds key. */
  readonly rate: number | null;
  /** Key bits a height costs on it (bitsPerHeight). */
  readonly bits: number;
}

/**
 * How long a proposer waits before building, given its links and the milliseconds since the
 * previous height began. The driest link sets the interval between heights: the bits a height
 * costs on it ÷ the rate it delivers, at most maxMs. 0: build now.
 */
export function paceWait(links: Iterable<PacedLink>, sincePreviousMs: number, maxMs = MAX_PACE_MS): number {
  let interval = 0;
  // A link that delivered nothing in the window sets no pace: the proposer's wait for a few
  // tags' worth of key (runtime.ts) covers it.
  for (const { rate, bits } of links)
    if (rate !== null && rate > 0) interval = Math.max(interval, (1000 * bits) / rate);
  return Math.max(0, Math.min(interval, maxMs) - sincePreviousMs);
}
