/**
 * HeightPhases: per-height phase times from marks, against a direct computation on random
 * schedules; heights that do not follow the normal shape are left out.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { HeightPhases, PHASES } from '../src/validator/phases.js';

/** The obvious reference: nearest-rank percentile over every row kept. */
function reference(rows: number[][], q: number, i: number): number | null {
  const xs = rows.map((r) => r[i]!).sort((a, b) => a - b);
  return xs.length ? Math.round(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]! * 10) / 10 : null;
}

test('phase times agree with a direct computation on random schedules, over the last `keep` heights', () => {
  for (let trial = 0; trial < 50; trial++) {
    const keep = randomInt(1, 40);
    const p = new HeightPhases(keep);
    const rows: number[][] = [];
    let now = 1000;
    for (let h = 1; h <= randomInt(1, 120); h++) {
      p.start(h, now);
      // Whole milliseconds keep the arithmetic exact, so the two sides may be compared as equal.
      const gaps = [0, 0, 0, 0].map(() => randomInt(0, 50));
      const [a, b, c, d] = gaps as [number, number, number, number];
      p.mark(h, 'proposal', now + a);
      p.mark(h, 'proposal', now + a + 1); // a re-send: ignored
      p.mark(h, 'prevote', now + a + b);
      p.mark(h, 'precommit', now + a + b + c);
      p.mark(h, 'precommit', now + a + b + c + 1);
      now += a + b + c + d;
      p.stored(h, 0, now);
      rows.push([a, b, c, d, a + b + c + d]);
    }
    const kept = rows.slice(-keep);
    const s = p.summary();
    assert.equal(s.heights, kept.length);
    PHASES.forEach((phase, i) => {
      assert.equal(s[phase].p50, reference(kept, 0.5, i), `${phase} p50`);
      assert.equal(s[phase].p90, reference(kept, 0.9, i), `${phase} p90`);
    });
  }
});

test('heights decided in a later round, without our votes, or caught up are left out', () => {
  const p = new HeightPhases();
  assert.deepEqual(p.summary().total, { p50: null, p90: null });
  // Decided in round 1.
  p.start(1, 0);
  p.mark(1, 'proposal', 1);
  p.mark(1, 'prevote', 2);
  p.mark(1, 'precommit', 3);
  p.stored(1, 1, 4);
  // Decided before this validator precommitted.
  p.start(2, 4);
  p.mark(2, 'proposal', 5);
  p.mark(2, 'prevote', 6);
  p.stored(2, 0, 7);
  // Caught up: no marks at all; and a mark for another height does not count.
  p.start(3, 7);
  p.mark(4, 'proposal', 8);
  p.stored(3, 0, 9);
  assert.equal(p.summary().heights, 0);
  // One normal height is measured.
  p.start(4, 10);
  p.mark(4, 'proposal', 11);
  p.mark(4, 'prevote', 13);
  p.mark(4, 'precommit', 16);
  p.stored(4, 0, 20);
  const s = p.summary();
  assert.equal(s.heights, 1);
  assert.deepEqual(
    PHASES.map((ph) => s[ph].p50),
    [1, 2, 3, 4, 10],
  );
});
