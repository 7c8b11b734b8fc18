import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  aptCutoff,
  type EntropySource,
  HealthMonitor,
  hasCode,
  healthCutoffs,
  MonitoredSource,
  type QledgerError,
  type QrngEvent,
  rctCutoff,
  type SampleBits,
  STARTUP_SAMPLES,
  seededStream,
} from '../src/index.js';

test('cutoffs match the values published with SP 800-90B and quoted in FACTS.md', () => {
  // §4.4.1: C = 1 + ⌈20/H⌉ — FACTS.md: C = 21 at H = 1; Go's crypto/internal/entropy: 41 at H = 0.5
  assert.equal(rctCutoff(1), 21);
  assert.equal(rctCutoff(0.5), 41);
  assert.equal(rctCutoff(8), 4);
  // §4.4.2: binary W = 1024, C = 589 at H = 1 (FACTS.md); non-binary W = 512, SP 800-90B table:
  // H = 0.5 → 410, 1 → 311, 2 → 177, 4 → 62, 8 → 13
  assert.equal(aptCutoff(1, 1024), 589);
  assert.deepEqual(
    [0.5, 1, 2, 4, 8].map((h) => aptCutoff(h, 512)),
    [410, 311, 177, 62, 13],
  );
  assert.deepEqual(healthCutoffs({ sampleBits: 1, minEntropy: 1 }), { rct: 21, apt: 589, aptWindow: 1024 });
  assert.deepEqual(healthCutoffs({ sampleBits: 8, minEntropy: 8 }), { rct: 4, apt: 13, aptWindow: 512 });
  // a smaller α (2^-30) needs longer runs to fail
  assert.deepEqual(healthCutoffs({ sampleBits: 8, minEntropy: 8, alphaLog2: 30 }).rct, 5);
});

test('the APT cutoff is the exact binomial critical value: P(X ≥ C) ≤ α < P(X ≥ C − 1)', () => {
  // independent check with exact BigInt binomial coefficients for p = 1/2 and p = 1/4
  const tail = (w: number, pNum: bigint, pDen: bigint, k: number) => {
    let num = 0n;
    let binom = 1n;
    for (let j = 0; j <= w; j++) {
      if (j > 0) binom = (binom * BigInt(w - j + 1)) / BigInt(j);
      if (j >= k) num += binom * pNum ** BigInt(j) * (pDen - pNum) ** BigInt(w - j);
    }
    return Number((num * 2n ** 40n) / pDen ** BigInt(w)) / 2 ** 40; // scaled to keep precision
  };
  for (const [h, pNum, pDen, w] of [
    [1, 1n, 2n, 1024],
    [1, 1n, 2n, 512],
    [2, 1n, 4n, 512],
  ] as const) {
    const c = aptCutoff(h, w);
    assert.ok(tail(w, pNum, pDen, c) <= 2 ** -20, `H=${h}, W=${w}: tail at C`);
    assert.ok(tail(w, pNum, pDen, c - 1) > 2 ** -20, `H=${h}, W=${w}: tail at C−1`);
  }
});

/** Slow, obvious reference: the §4.4.1 and §4.4.2 pseudocode over an array of samples. */
function referenceFirstFailure(samples: number[], rct: number, apt: number, w: number) {
  for (let i = 0; i < samples.length; i++) {
    let run = 1;
    while (i - run >= 0 && samples[i - run] === samples[i]) run++;
    if (run >= rct) return { test: 'rct', sampleIndex: i };
    const start = i - (i % w);
    let count = 0;
    for (let j = start; j <= i; j++) if (samples[j] === samples[start]) count++;
    if (i !== start && samples[i] === samples[start] && count >= apt) return { test: 'apt', sampleIndex: i };
  }
  return null;
}

function toSamples(bytes: Uint8Array, sb: SampleBits): number[] {
  const out: number[] = [];
  for (const b of bytes) for (let j = 8 / sb - 1; j >= 0; j--) out.push((b >> (j * sb)) & ((1 << sb) - 1));
  return out;
}

test('HealthMonitor equals the pseudocode reference on low-entropy streams fed in random pieces', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<SampleBits>(1, 2, 4, 8),
      fc.double({ min: 0.2, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 255 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
      (sb, frac, spread, seed, cuts) => {
        // bytes from a tiny alphabet so both tests fire at varied positions
        const rng = seededStream(seed);
        const total = cuts.reduce((a, b) => a + b, 0);
        const bytes = rng.bytes(total).map((b) => (spread === 255 ? b : (b % ((spread % 4) + 1)) * 17));
        const h = Math.max(0.05, sb * frac);
        const m = new HealthMonitor({ sampleBits: sb, minEntropy: h });
        const ref = referenceFirstFailure(
          toSamples(bytes, sb),
          m.cutoffs.rct,
          m.cutoffs.apt,
          m.cutoffs.aptWindow,
        );
        let offset = 0;
        let got: { test: string; sampleIndex: number } | null = null;
        for (const c of cuts) {
          const f = m.feed(bytes.subarray(offset, offset + c));
          if (f) {
            got = { test: f.test, sampleIndex: f.sampleIndex + (offset * 8) / sb };
            break;
          }
          offset += c;
        }
        assert.deepEqual(got, ref);
      },
    ),
    { numRuns: 400 },
  );
});

test('stuck, repeating and biased sources fail; a good source passes 1 MB', () => {
  const m = () => new HealthMonitor({ sampleBits: 8, minEntropy: 6 });
  assert.equal(m().feed(new Uint8Array(1000).fill(7))?.test, 'rct');
  // alternating 0x00/0xff never repeats twice in a row, but 0x00 fills half the window → APT
  const alt = new Uint8Array(1024).map((_, i) => (i % 2 ? 0xff : 0));
  assert.equal(m().feed(alt)?.test, 'apt');
  // a biased byte source that never repeats in a row: 0x2a one byte in eight, else random ≠ 0x2a
  const biased = seededStream(new Uint8Array([5]))
    .bytes(20_000)
    .map((b, i) => (i % 8 === 0 ? 0x2a : b === 0x2a ? 0x2b : b));
  const f = new HealthMonitor({ sampleBits: 8, minEntropy: 8 }).feed(biased);
  assert.deepEqual([f?.test, f?.value, f?.sampleIndex], ['apt', 0x2a, 96]); // 13th 0x2a of the window
  // binary: a bit source stuck at 1
  assert.equal(
    new HealthMonitor({ sampleBits: 1, minEntropy: 1 }).feed(new Uint8Array(8).fill(0xff))?.test,
    'rct',
  );
  assert.equal(m().feed(seededStream(new Uint8Array([1])).bytes(1 << 20)), null);
});

test('parameters are validated with messages naming the field', () => {
  assert.throws(
    () => new HealthMonitor({ sampleBits: 3 as SampleBits, minEntropy: 1 }),
    /sampleBits must be 1, 2, 4 or 8/,
  );
  assert.throws(
    () => new HealthMonitor({ sampleBits: 8, minEntropy: 9 }),
    /minEntropy must be in \(0, sampleBits = 8\]/,
  );
  assert.throws(() => new HealthMonitor({ sampleBits: 8, minEntropy: 0 }), /minEntropy/);
  assert.throws(
    () => new HealthMonitor({ sampleBits: 8, minEntropy: 4, alphaLog2: 10 }),
    /alphaLog2 must be an integer in \[20, 40\]/,
  );
});

/** A scriptable raw source: serves from `next(n)`, which tests replace to inject faults. */
class ScriptedSource implements EntropySource {
  readonly kind = 'device';
  readonly quantum = true;
  readonly sampleBits = 8;
  readonly minEntropy = 6;
  readonly chunkBytes = 256;
  reads = 0;
  next: (n: number) => Uint8Array;
  constructor(readonly name = 'scripted') {
    const rng = seededStream(new TextEncoder().encode(name));
    this.next = (n) => rng.bytes(n);
  }
  async read(n: number): Promise<Uint8Array> {
    this.reads++;
    return this.next(n);
  }
}

test('MonitoredSource: start-up test on 1,024 samples first, and start-up samples are never served', async () => {
  const src = new ScriptedSource();
  const first: Uint8Array[] = [];
  const inner = src.next;
  src.next = (n) => {
    const b = inner(n);
    first.push(b.slice());
    return b;
  };
  const events: QrngEvent[] = [];
  const ms = new MonitoredSource(src, { now: () => 0, onEvent: (e) => events.push(e) });
  assert.equal(ms.state, 'starting');
  const out = await ms.read(100);
  assert.equal(first[0]!.length, STARTUP_SAMPLES);
  assert.deepEqual(out, first[1]!.subarray(0, 100)); // served bytes come after the start-up batch
  assert.equal(ms.state, 'healthy');
  assert.deepEqual(events, [{ type: 'startup-passed', source: 'scripted' }]);
  const st = ms.stats();
  assert.equal(st.samplesTested, STARTUP_SAMPLES + 256);
  assert.equal(st.bytesServed, 100);
});

test('MonitoredSource: a continuous failure discards the batch and the buffer, quarantines, and serves nothing', async () => {
  const src = new ScriptedSource();
  let now = 0;
  const events: QrngEvent[] = [];
  const ms = new MonitoredSource(src, {
    now: () => now,
    retestAfterMs: 1000,
    onEvent: (e) => events.push(e),
  });
  await ms.read(10); // healthy, 246 bytes buffered
  const good = src.next;
  src.next = (n) => new Uint8Array(n).fill(0x55); // the device gets stuck
  await assert.rejects(
    ms.read(1000),
    (e) => hasCode(e, 'QRNG_SOURCE_QUARANTINED') && /repetition count/.test((e as Error).message),
  );
  assert.equal(ms.state, 'quarantined');
  // quarantined: refuses at once without touching the device, even for bytes it had buffered
  const reads = src.reads;
  await assert.rejects(
    ms.read(1),
    (e) => hasCode(e, 'QRNG_SOURCE_QUARANTINED') && (e as QledgerError).details?.retryInMs === 1000,
  );
  assert.equal(src.reads, reads);
  const st = ms.stats();
  assert.equal(st.healthFailures.rct, 1);
  assert.equal(st.quarantines, 1);
  assert.equal(st.bytesServed, 10);
  assert.deepEqual(st.lastFailure, { test: 'rct', phase: 'continuous', at: 0 });
  assert.ok(events.some((e) => e.type === 'health-failure' && e.test === 'rct' && e.phase === 'continuous'));
  // after the retest delay a repaired device passes a fresh start-up test and serves again
  src.next = good;
  now = 1000;
  const out = await ms.read(16);
  assert.equal(out.length, 16);
  assert.equal(ms.state, 'healthy');
  assert.equal(ms.stats().recoveries, 1);
  assert.ok(events.some((e) => e.type === 'recovered'));
});

test('MonitoredSource: maxFailures failed retests in a row mark the source failed until reset()', async () => {
  const src = new ScriptedSource();
  let now = 0;
  const events: QrngEvent[] = [];
  const ms = new MonitoredSource(src, {
    now: () => now,
    retestAfterMs: 10,
    maxFailures: 2,
    onEvent: (e) => events.push(e),
  });
  const good = src.next;
  src.next = (n) => new Uint8Array(n).map((_, i) => (i % 2 ? 1 : 0)); // alternating: APT fails
  await assert.rejects(ms.read(1), (e) => hasCode(e, 'QRNG_SOURCE_QUARANTINED'));
  assert.equal(ms.stats().lastFailure?.phase, 'startup');
  now = 10;
  await assert.rejects(ms.read(1), (e) => hasCode(e, 'QRNG_SOURCE_QUARANTINED'));
  now = 20;
  await assert.rejects(ms.read(1), (e) => hasCode(e, 'QRNG_SOURCE_FAILED'));
  assert.equal(ms.state, 'failed');
  assert.ok(events.some((e) => e.type === 'failed' && e.failures === 2));
  now = 1e9;
  src.next = good;
  await assert.rejects(ms.read(1), (e) => hasCode(e, 'QRNG_SOURCE_FAILED')); // stays failed
  ms.reset();
  assert.equal((await ms.read(8)).length, 8);
  assert.equal(ms.stats().startupFailures, 3);
});

test('MonitoredSource: I/O errors and short reads are QRNG_SOURCE_IO and do not quarantine', async () => {
  const src = new ScriptedSource();
  const ms = new MonitoredSource(src, { now: () => 0 });
  await ms.read(1);
  const good = src.next;
  src.next = () => {
    throw new Error('device unplugged');
  };
  await assert.rejects(
    ms.read(1000),
    (e) => hasCode(e, 'QRNG_SOURCE_IO') && /device unplugged/.test((e as Error).message),
  );
  src.next = (n) => good(n).subarray(1);
  await assert.rejects(
    ms.read(1000),
    (e) => hasCode(e, 'QRNG_SOURCE_IO') && /expected/.test((e as Error).message),
  );
  assert.equal(ms.state, 'healthy');
  assert.equal(ms.stats().ioErrors, 2);
  src.next = good;
  assert.equal((await ms.read(1000)).length, 1000);
});

test('MonitoredSource: concurrent reads are served in order from one tested stream, each byte once', async () => {
  const src = new ScriptedSource();
  const all: number[] = [];
  const inner = src.next;
  src.next = (n) => {
    const b = inner(n);
    all.push(...b);
    return b;
  };
  const ms = new MonitoredSource(src, { now: () => 0 });
  const outs = await Promise.all([ms.read(300), ms.read(5), ms.read(700), ms.read(1)]);
  const served = outs.flatMap((o) => [...o]);
  assert.deepEqual(served, all.slice(STARTUP_SAMPLES, STARTUP_SAMPLES + 1006));
});
