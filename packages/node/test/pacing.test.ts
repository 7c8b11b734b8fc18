/**
 * Key-adaptive pacing (validator/pacing.ts): the wait a proposer takes, and, over many heights
 * of random lengths, that paced heights spend no dry link's key faster than it delivers it.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { TAG_BYTES } from '../src/validator/link.js';
import { bitsPerHeight, MAX_PACE_MS, paceWait } from '../src/validator/pacing.js';

test('a height costs each link two vote tags, and a proposal tag at every n-th height', () => {
  assert.equal(bitsPerHeight(4, TAG_BYTES), 2.25 * 128);
  assert.equal(bitsPerHeight(7, 16), (2 + 1 / 7) * 128);
  assert.equal(bitsPerHeight(4, TAG_BYTES, false), 0.25 * 128, 'votes held back: the proposal only');
});

test('the driest link sets the interval; links that hold key, or delivered nothing, set none', () => {
  const h = bitsPerHeight(4, TAG_BYTES); // 288 bits
  const at = (...rates: (number | null)[]) => rates.map((rate) => ({ rate, bits: h }));
  assert.equal(paceWait([], 0), 0);
  assert.equal(paceWait(at(null, null), 0), 0, 'no link lives on its KME');
  // 8,640 bits a second pays for a height every 33.3 ms.
  assert.equal(paceWait(at(8640), 0), (1000 * 288) / 8640);
  assert.equal(paceWait(at(8640), 10), (1000 * 288) / 8640 - 10);
  assert.equal(paceWait(at(8640), 34), 0, 'the previous height began long enough ago');
  assert.equal(paceWait(at(null, 28_800, 8640), 0), (1000 * 288) / 8640, 'the driest of three');
  assert.equal(paceWait(at(0, 28_800), 0), 10, 'a link that delivered nothing is left to the key wait');
  assert.equal(paceWait(at(1), 0), MAX_PACE_MS, 'capped below the propose timeout');
  assert.equal(paceWait(at(1), 400, 500), 100);
  // A relayed link whose votes are held costs only the proposal's tag: at the same rate it
  // paces 9 times less than a direct one, so the direct link sets the interval.
  const held = bitsPerHeight(4, TAG_BYTES, false);
  assert.equal(paceWait([{ rate: 3200, bits: held }], 0), 10);
  assert.equal(
    paceWait(
      [
        { rate: 3200, bits: held },
        { rate: 28_800, bits: h },
      ],
      0,
    ),
    10,
  );
  assert.equal(
    paceWait(
      [
        { rate: 3200, bits: held },
        { rate: 14_400, bits: h },
      ],
      0,
    ),
    20,
  );
});

test('over many heights of random length, paced heights spend no dry link faster than it delivers', () => {
  for (let trial = 0; trial < 200; trial++) {
    const n = randomInt(4, 11);
    const links = Array.from({ length: n - 1 }, () => ({
      rate: randomInt(0, 4) === 0 ? null : randomInt(1, 200_000),
      bits: bitsPerHeight(n, TAG_BYTES, randomInt(0, 3) !== 0),
    }));
    let previousBegan = Number.NEGATIVE_INFINITY;
    let now = 0;
    let first = 0;
    const heights = 300;
    for (let k = 0; k < heights; k++) {
      now += paceWait(links, now - previousBegan); // the proposer waits, then proposes
      if (k === 0) first = now;
      previousBegan = now;
      now += randomInt(1, 30); // the height runs; the next begins when it is stored
    }
    const spanMs = previousBegan - first; // heights - 1 intervals between proposals
    const interval = Math.max(
      0,
      ...links
        .filter((l) => l.rate !== null && l.rate > 0)
        .map((l) => Math.min((1000 * l.bits) / l.rate!, MAX_PACE_MS)),
    );
    assert.ok(spanMs >= (heights - 1) * interval - 1e-6, `trial ${trial}: heights came faster than the pace`);
    for (const { rate: r, bits: h } of links) {
      if (r === null || (1000 * h) / r > MAX_PACE_MS) continue; // not dry, or paced at the cap
      const spentPerSecond = ((heights - 1) * h * 1000) / spanMs;
      assert.ok(
        spentPerSecond <= r * (1 + 1e-9),
        `trial ${trial}: ${spentPerSecond} bits/s spent on a ${r} bits/s link`,
      );
    }
  }
});
