/**
 * Where a height's time goes on this validator, phase by phase, over the last heights decided
 * in their first round (status().heightPhases). A height runs from the previous block stored
 * to its own block stored:
 *
 *   proposal   until the round's proposal is here (built by us, or received)
 *   prevote    until our prevote for it is sent: validation, signing, the snapshot's sync
 *   precommit  until our precommit is sent: a quorum of prevotes, signing, the sync
 *   commit     until the block is stored: a quorum of precommits, storing
 *
 * Heights decided in a later round, caught up from a peer, or decided before this validator
 * voted are left out: their phases do not follow this order. (A lone validator, n = 1, decides
 * in the step that builds its block, before its votes leave, so it measures no heights.)
 */
import type { schemas } from '@qledger/core/api';

export const PHASES = ['proposal', 'prevote', 'precommit', 'commit', 'total'] as const;
type Mark = 'proposal' | 'prevote' | 'precommit';

/** status().heightPhases, as the API schema declares it. */
export type HeightPhaseSummary = schemas.NodeStatus['heightPhases'];

export class HeightPhases {
  readonly #keep: number;
  #height = -1;
  #start = 0;
  readonly #marks = new Map<Mark, number>();
  /** One row per measured height: the phases in PHASES order, in ms. */
  readonly #rows: number[][] = [];
  #next = 0;

  constructor(keep = 256) {
    this.#keep = keep;
  }

  /** Height `height` starts at `now`: the block before it was stored then. */
  start(height: number, now: number): void {
    this.#height = height;
    this.#start = now;
    this.#marks.clear();
  }

  /** The first time `mark` happened in round 0 of `height`; later repeats (re-sends) are ignored. */
  mark(height: number, mark: Mark, now: number): void {
    if (height === this.#height && !this.#marks.has(mark)) this.#marks.set(mark, now);
  }

  /** `height` was decided in `round` and its block stored at `now`. */
  stored(height: number, round: number, now: number): void {
    if (height !== this.#height || round !== 0) return;
    const at = [
      this.#start,
      this.#marks.get('proposal'),
      this.#marks.get('prevote'),
      this.#marks.get('precommit'),
      now,
    ];
    if (at.some((t) => t === undefined)) return;
    const t = at as number[];
    for (let i = 1; i < t.length; i++) if (t[i]! < t[i - 1]!) return; // out of order: not this shape
    const row = [t[1]! - t[0]!, t[2]! - t[1]!, t[3]! - t[2]!, t[4]! - t[3]!, t[4]! - t[0]!];
    if (this.#rows.length < this.#keep) this.#rows.push(row);
    else this.#rows[this.#next] = row;
    this.#next = (this.#next + 1) % this.#keep;
  }

  summary(): HeightPhaseSummary {
    const out: Record<string, unknown> = { heights: this.#rows.length };
    PHASES.forEach((phase, i) => {
      const xs = this.#rows.map((r) => r[i]!).sort((a, b) => a - b);
      const at = (q: number) =>
        xs.length ? round1(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!) : null;
      out[phase] = { p50: at(0.5), p90: at(0.9) };
    });
    return out as HeightPhaseSummary;
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;
