import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  hasCode,
  MAX_REJECTIONS,
  osStream,
  type RandomStream,
  seededStream,
  shuffle,
  toHex,
  uniformFloat,
  uniformInt,
} from '../src/index.js';

/** A stream that replays fixed bytes and records how many it handed out. */
function replay(bytes: Uint8Array): RandomStream & { used: number } {
  const s = {
    used: 0,
    bytes(n: number) {
      if (s.used + n > bytes.length) throw new Error('replay exhausted');
      const out = bytes.slice(s.used, s.used + n);
      s.used += n;
      return out;
    },
  };
  return s;
}

/** Slow, obvious reference: bits as a BigInt, k = bit length of bound − 1, retry while ≥ bound. */
function referenceUniformInt(stream: RandomStream, bound: number): number {
  const k = (bound - 1).toString(2).replace(/^0$/, '').length;
  const nBytes = Math.ceil(k / 8);
  for (;;) {
    let v = 0n;
    for (const b of stream.bytes(nBytes)) v = (v << 8n) | BigInt(b);
    v &= (1n << BigInt(k)) - 1n;
    if (v < BigInt(bound)) return Number(v);
  }
}

test('uniformInt equals the BigInt reference and consumes the same bytes, on random bounds and streams', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 2 ** 53 })),
      fc.uint8Array({ minLength: 4096, maxLength: 4096 }),
      (bound, bytes) => {
        const a = replay(bytes);
        const b = replay(bytes);
        for (let i = 0; i < 20; i++) {
          let x: number;
          try {
            x = uniformInt(a, bound);
          } catch {
            return; // ran out of replay bytes: both would
          }
          assert.equal(x, referenceUniformInt(b, bound));
          assert.ok(x >= 0 && x < bound);
          assert.equal(a.used, b.used);
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('uniformInt is exactly unbiased: over every one-byte input, each accepted value appears equally often', () => {
  for (let bound = 1; bound <= 256; bound++) {
    const counts = new Map<number, number>();
    let rejected = 0;
    for (let byte = 0; byte < 256; byte++) {
      try {
        const v = uniformInt(
          {
            bytes: (n) => {
              if (n !== (bound === 1 ? 0 : 1)) throw new Error(`asked ${n} bytes`);
              if (n === 0) return new Uint8Array(0);
              if (rejected > 1e6) throw new Error('loop');
              return new Uint8Array([byte]);
            },
          },
          bound,
        );
        counts.set(v, (counts.get(v) ?? 0) + 1);
      } catch (e) {
        assert.ok(hasCode(e, 'QRNG_STREAM_STUCK'), String(e)); // this byte is always rejected
        rejected++;
      }
    }
    assert.equal(counts.size, bound, `bound ${bound}: every value reachable`);
    const per = [...counts.values()];
    assert.ok(
      per.every((c) => c === per[0]),
      `bound ${bound}: counts ${per.join(',')}`,
    );
  }
});

test('a stuck stream is reported with QRNG_STREAM_STUCK, never a hang or a biased value', () => {
  const stuck = {
    calls: 0,
    bytes: (n: number) => {
      stuck.calls++;
      return new Uint8Array(n).fill(0xff);
    },
  };
  assert.throws(
    () => uniformInt(stuck, 3),
    (e) => hasCode(e, 'QRNG_STREAM_STUCK') && /128 times/.test((e as Error).message),
  );
  assert.equal(stuck.calls, MAX_REJECTIONS);
});

test('Fisher–Yates always returns a full permutation (never drops or repeats an element)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer(), { maxLength: 200 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (xs, seed) => {
        const out = shuffle(xs, seededStream(seed));
        assert.equal(out.length, xs.length);
        assert.deepEqual(
          [...out].sort((a, b) => a - b),
          [...xs].sort((a, b) => a - b),
        );
      },
    ),
    { numRuns: 1000 },
  );
  // The reference ledger's queue (15 draws in [0, 3], de-duplicated) loses a peer in ≈ 5 % of
  // rounds; over 20,000 rounds ours never does.
  const peers = ['peer_1', 'peer_2', 'peer_3', 'peer_4'];
  let referenceDrops = 0;
  const rng = seededStream(new TextEncoder().encode('reference-queue'));
  for (let round = 0; round < 20_000; round++) {
    const q = shuffle(peers, rng);
    assert.equal(new Set(q).size, 4);
    const draws = new Set(Array.from({ length: 15 }, () => uniformInt(rng, 4)));
    if (draws.size < 4) referenceDrops++;
  }
  // 4·(3/4)^15 ≈ 5.3 %; the reference scheme drops peers, the shuffle cannot
  assert.ok(referenceDrops > 600 && referenceDrops < 1500, `reference scheme dropped ${referenceDrops}`);
});

test('Fisher–Yates is uniform over all 24 orders of 4 elements (χ², 48,000 shuffles, fixed seed)', () => {
  const counts = new Map<string, number>();
  const rng = seededStream(new TextEncoder().encode('shuffle-uniformity'));
  for (let i = 0; i < 48_000; i++) {
    const k = shuffle([0, 1, 2, 3], rng).join('');
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  assert.equal(counts.size, 24);
  const chi = [...counts.values()].reduce((a, c) => a + (c - 2000) ** 2 / 2000, 0);
  assert.ok(chi < 49.7, `χ² = ${chi}, 23 d.o.f., p = 0.001 at 49.7`);
});

test('seededStream is deterministic per seed, differs across seeds, and is a consistent XOF', () => {
  const a = seededStream(new Uint8Array([1]));
  const b = seededStream(new Uint8Array([1]));
  const whole = seededStream(new Uint8Array([1])).bytes(100);
  const parts = new Uint8Array([...a.bytes(37), ...a.bytes(63)]);
  assert.equal(toHex(parts), toHex(whole)); // reading in pieces = reading at once
  assert.equal(toHex(b.bytes(100)), toHex(whole));
  assert.notEqual(toHex(seededStream(new Uint8Array([2])).bytes(32)), toHex(whole.subarray(0, 32)));
  assert.throws(() => seededStream('seed' as never), /seed must be a Uint8Array/);
});

test('uniformFloat uses 53 bits and stays in [0, 1)', () => {
  assert.equal(uniformFloat(replay(new Uint8Array(7))), 0);
  assert.equal(uniformFloat(replay(new Uint8Array(7).fill(0xff))), 1 - 2 ** -53);
  assert.throws(() => uniformInt(osStream, 0), /bound must be in \[1, 9007199254740992\]/);
  assert.throws(() => uniformInt(osStream, 1.5), /bound must be an integer/);
  assert.throws(() => shuffle('abc' as never, osStream), /items must be an array/);
});
