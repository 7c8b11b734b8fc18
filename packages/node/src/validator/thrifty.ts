/**
 * Thrifty votes: round-0 votes go first to the peers whose QKD key is direct, and to the peers
 * reached through a trusted-node relay only if the height is still undecided a while later.
 *
 * A relayed pair's key costs key on every hop of the relay. In the devnet's square (four sites
 * in a ring, the diagonals relayed) the four diagonal directions use 8 of the 16 pools' worth
 * of key a height's votes spend, and once the KMEs' pools are dry that bounds the chain to
 * about 30 heights a second (docs/consensus.md, *Past the banked key*). Yet every validator
 * there has 2f = 2 direct peers, so its own vote and theirs are a quorum: the relayed copies
 * are only needed when a direct peer is slow, silent or Byzantine. So they are held, and sent
 * when the height is still undecided after a delay, which adapts to how long heights take
 * here (a few times the median from the first vote to the decision), within bounds.
 *
 * Only who receives a vote, and when, changes: every vote still carries its tag for each
 * receiver, and safety never rests on delivery. Liveness after the network stabilises holds as
 * before, because the held copies go out on the timer (and a retransmission, the machine's
 * `tick`, goes to every peer). A height whose held votes went out and whose certificate lacks
 * a direct peer's precommit points at a slow, silent or Byzantine direct peer: votes then go
 * to every peer at once for the next FULL_AFTER_FALLBACK heights, so such a peer costs one
 * delay per that many heights, not one per height. A height that was merely slow (both direct
 * peers' precommits in its certificate, as when links wait for QKD key) changes nothing.
 * Proposals always go to every peer: each validator needs the block.
 */

/** The bounds of the delay before held votes go to the relayed peers, in ms. */
export const THRIFTY_MIN_MS = 10;
export const THRIFTY_MAX_MS = 250;
/** The delay is this many times the median time from first vote to decision... */
export const THRIFTY_FACTOR = 3;
/** ...over the last this many heights decided in round 0 with every direct peer's precommit. */
export const THRIFTY_WINDOW = 32;
/** After a height decided without a direct peer's vote, votes go to every peer for this many heights. */
export const FULL_AFTER_FALLBACK = 16;

export interface VoteRoute {
  /** Peers to send the vote to now. */
  readonly now: readonly number[];
  /** Peers to send it to if the height is still undecided after delayMs(). */
  readonly later: readonly number[];
}

export interface ThriftyOptions {
  /** Every peer's validator index. */
  readonly peers: readonly number[];
  /** The peers whose QKD key comes through a trusted-node relay. */
  readonly relayed: Iterable<number>;
  /** Other validators' votes a quorum needs: 2f. */
  readonly quorumPeers: number;
  readonly enabled: boolean;
}

export class ThriftyVotes {
  readonly #all: readonly number[];
  readonly #direct: readonly number[];
  readonly #relayed: readonly number[];
  readonly #quorumPeers: number;
  /** Enabled, some peer is relayed, and the direct peers alone can make a quorum. */
  readonly active: boolean;
  #height = -1;
  /** Vote types routed thriftily at #height: a second broadcast of one is a retransmission. */
  readonly #routed = new Set<string>();
  #firstSent: number | null = null;
  #fellBack = false;
  #fullThrough = -1;
  readonly #samples: number[] = [];
  #next = 0;

  constructor(o: ThriftyOptions) {
    const relayed = new Set(o.relayed);
    this.#all = [...o.peers];
    this.#direct = o.peers.filter((i) => !relayed.has(i));
    this.#relayed = o.peers.filter((i) => relayed.has(i));
    this.#quorumPeers = o.quorumPeers;
    this.active = o.enabled && this.#relayed.length > 0 && this.#direct.length >= o.quorumPeers;
  }

  /** True when `peer`'s QKD key comes through a trusted-node relay (config peers[].relayed). */
  isRelayed(peer: number): boolean {
    return this.#relayed.includes(peer);
  }

  /** True when `peer`'s votes are held at first (so a height costs its link only proposals). */
  holdsFor(peer: number): boolean {
    return this.active && this.isRelayed(peer);
  }

  /**
   * Who gets a vote of `type` for (`height`, `round`) now and who later. Thrifty only for a
   * round-0 vote for a block, sent for the first time, while at least 2f direct peers are
   * connected and no recent height was decided without one of theirs after its held votes went
   * out; every other vote goes to everyone.
   */
  route(
    type: 'prevote' | 'precommit',
    height: number,
    round: number,
    forBlock: boolean,
    connected: (peer: number) => boolean,
    now: number,
  ): VoteRoute {
    if (height !== this.#height) {
      this.#height = height;
      this.#routed.clear();
      this.#firstSent = null;
      this.#fellBack = false;
    }
    const everyone = { now: this.#all, later: [] };
    if (round !== 0 || !forBlock) return everyone;
    // Every height this validator votes on in round 0, thrifty or not, is timed (decided()).
    this.#firstSent ??= now;
    // Once this height's held votes went out, its later votes need not wait either.
    if (!this.active || height <= this.#fullThrough || this.#fellBack || this.#routed.has(type))
      return everyone;
    if (this.#direct.filter(connected).length < this.#quorumPeers) return everyone;
    this.#routed.add(type);
    return { now: this.#direct, later: this.#relayed };
  }

  /** The held votes of `height` went out: it was still undecided after delayMs(). */
  fellBack(height: number): void {
    if (height === this.#height) this.#fellBack = true;
  }

  /**
   * `height` was decided in `round` at `now`, by the precommits of `voters` (its certificate).
   * If its held votes had gone out and a direct peer's precommit for the block is not among
   * them, every vote goes to everyone for a while. Otherwise a round-0 decision is a sample of
   * the delay.
   */
  decided(height: number, round: number, now: number, voters: ReadonlySet<number>): void {
    if (height !== this.#height || this.#firstSent === null) return;
    const missing = this.#direct.some((p) => !voters.has(p));
    if (this.#fellBack && missing) {
      this.#fullThrough = Math.max(this.#fullThrough, height + FULL_AFTER_FALLBACK);
      return;
    }
    if (round !== 0 || missing) return;
    const ms = now - this.#firstSent;
    if (this.#samples.length < THRIFTY_WINDOW) this.#samples.push(ms);
    else this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % THRIFTY_WINDOW;
    this.#firstSent = null;
  }

  /** How long held votes wait: a few times the median of recent heights, within bounds. */
  delayMs(): number {
    if (this.#samples.length === 0) return THRIFTY_MAX_MS;
    const xs = [...this.#samples].sort((a, b) => a - b);
    const median = xs[Math.floor(xs.length / 2)]!;
    return Math.min(THRIFTY_MAX_MS, Math.max(THRIFTY_MIN_MS, THRIFTY_FACTOR * median));
  }
}
