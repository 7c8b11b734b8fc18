import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  concatBytes,
  DOMAIN,
  EntropyMixer,
  type EntropySource,
  hasCode,
  labelPrefix,
  MonitoredSource,
  nobleHashes,
  OsEntropySource,
  type QrngEvent,
  SimulatedQuantumSource,
  seededStream,
  toHex,
} from '../src/index.js';

class Scripted implements EntropySource {
  readonly kind = 'device';
  readonly quantum = true;
  readonly sampleBits = 8;
  readonly minEntropy: number;
  readonly chunkBytes = 64;
  next: (n: number) => Uint8Array;
  log: Uint8Array[] = [];
  constructor(
    readonly name: string,
    minEntropy = 8,
  ) {
    this.minEntropy = minEntropy;
    const rng = seededStream(new TextEncoder().encode(name));
    this.next = (n) => rng.bytes(n);
  }
  async read(n: number): Promise<Uint8Array> {
    const b = this.next(n);
    this.log.push(b.slice());
    return b;
  }
}

const u32 = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

test('output = SHAKE256(label ‖ n ‖ |q| ‖ q ‖ os): recomputed from the exact bytes each side supplied', async () => {
  const src = new Scripted('qrng-a');
  const ms = new MonitoredSource(src, { now: () => 0 });
  const osLog: Uint8Array[] = [];
  const osRng = seededStream(new Uint8Array([0xee]));
  const mixer = new EntropyMixer({
    sources: [ms],
    osBytes: (n) => {
      const b = osRng.bytes(n);
      osLog.push(b.slice());
      return b;
    },
  });
  const d = await mixer.draw(40);
  assert.equal(d.source, 'qrng-a');
  // the QRNG bytes mixed in are the first 40 bytes served after the start-up batch
  // (1024 start-up bytes, then a 64-byte chunk): q = 40 bytes at 8 bits/byte claimed
  const served = src.log[1]!.subarray(0, 40);
  const os = osLog[0]!;
  assert.equal(os.length, 40);
  const want = nobleHashes.shake256(
    concatBytes(labelPrefix(DOMAIN.QRNG_MIX), u32(40), u32(40), served, os),
    40,
  );
  assert.equal(toHex(d.bytes), toHex(want));
});

test('the QRNG input grows with the claimed min-entropy: 8n / H bytes, at least 32', async () => {
  const src = new Scripted('low', 2); // claims only 2 bits per byte
  const ms = new MonitoredSource(src, { now: () => 0 });
  const mixer = new EntropyMixer({ sources: [ms] });
  await mixer.draw(64);
  assert.equal(ms.stats().bytesServed, 256);
  await mixer.draw(1);
  assert.equal(ms.stats().bytesServed, 256 + 32);
});

test('a 1 MiB draw from a source claiming 2 bits/byte reads its 4 MiB of QRNG input in pieces', async () => {
  const ms = new MonitoredSource(new Scripted('big', 2), { now: () => 0 });
  const d = await new EntropyMixer({ sources: [ms] }).draw(1 << 20);
  assert.equal(d.bytes.length, 1 << 20);
  assert.equal(d.source, 'big');
  assert.equal(ms.stats().bytesServed, 4 << 20);
});

test('a hostile QRNG (constant but health-passing, known to the attacker) cannot fix the output', async () => {
  // the attacker controls q completely: every draw gets the same q; the output still varies
  // with the OS bytes, and equals what the attacker could not compute without them
  const src = new Scripted('hostile', 8);
  const fixed = seededStream(new Uint8Array([1])).bytes(1 << 16);
  src.next = (n) => fixed.slice(0, n);
  const ms = new MonitoredSource(src, { now: () => 0 });
  const mixer = new EntropyMixer({ sources: [ms] });
  const outs = new Set<string>();
  for (let i = 0; i < 50; i++) outs.add(toHex(await mixer.randomBytes(32)));
  assert.equal(outs.size, 50);
});

test('a stuck QRNG is quarantined and the mixer fails over to the next source, counting it', async () => {
  const a = new Scripted('primary');
  const b = new Scripted('secondary');
  const events: QrngEvent[] = [];
  const opts = { now: () => 0, onEvent: (e: QrngEvent) => events.push(e) };
  const mixer = new EntropyMixer({ sources: [new MonitoredSource(a, opts), new MonitoredSource(b, opts)] });
  assert.equal((await mixer.draw(16)).source, 'primary');
  a.next = (n) => new Uint8Array(n); // stuck at zero
  assert.equal((await mixer.draw(16)).source, 'primary'); // bytes tested before it stuck still serve
  const d = await mixer.draw(100); // needs a fresh chunk: the stuck batch fails and is discarded
  assert.equal(d.source, 'secondary');
  const st = mixer.stats();
  assert.equal(st.failovers, 1);
  assert.equal(st.sources[0]!.state, 'quarantined');
  assert.equal(st.sources[0]!.healthFailures.rct, 1);
  assert.ok(events.some((e) => e.type === 'health-failure' && e.source === 'primary'));
});

test('no QRNG available: OS-only output with an event and a count, or QRNG_UNAVAILABLE under requireQrng', async () => {
  const stuck = new Scripted('stuck');
  stuck.next = (n) => new Uint8Array(n);
  const events: QrngEvent[] = [];
  const lenient = new EntropyMixer({
    sources: [new MonitoredSource(stuck, { now: () => 0 })],
    onEvent: (e) => events.push(e),
  });
  const d = await lenient.draw(32);
  assert.equal(d.source, null);
  assert.equal(d.bytes.length, 32);
  assert.equal(lenient.stats().osOnlyDraws, 1);
  assert.deepEqual(events, [{ type: 'fallback-os-only', reason: 'stuck: QRNG_SOURCE_QUARANTINED' }]);

  const strict = new EntropyMixer({
    sources: [new MonitoredSource(stuck, { now: () => 0 })],
    requireQrng: true,
  });
  await assert.rejects(
    strict.draw(32),
    (e) => hasCode(e, 'QRNG_UNAVAILABLE') && /requireQrng/.test((e as Error).message),
  );
  assert.equal(strict.stats().refusedDraws, 1);
  await assert.rejects(new EntropyMixer({ sources: [], requireQrng: true }).draw(1), (e) =>
    hasCode(e, 'QRNG_UNAVAILABLE'),
  );
});

test('the simulated quantum source and the OS source pass through the whole path', async () => {
  for (const q of [1, 2, 4, 8] as const) {
    const sim = new MonitoredSource(new SimulatedQuantumSource(`sim${q}`, q), { now: () => 0 });
    const mixer = new EntropyMixer({
      sources: [sim, new MonitoredSource(new OsEntropySource(), { now: () => 0 })],
    });
    const d = await mixer.draw(1000);
    assert.equal(d.source, `sim${q}`);
    assert.equal(mixer.stats().sources[0]!.state, 'healthy');
  }
});

test('the simulated source packs qubit outcomes most-significant first and is uniform per qubit', async () => {
  // with a deterministic measurement stream the bytes are reproducible, and each of the 8 bit
  // positions is 1 about half the time
  const sim = new SimulatedQuantumSource('sim', 8, 6, seededStream(new Uint8Array([3])));
  const bytes = await sim.read(20_000);
  const ones = new Array(8).fill(0);
  for (const b of bytes) for (let j = 0; j < 8; j++) ones[j] += (b >> j) & 1;
  for (const c of ones) assert.ok(Math.abs(c - 10_000) < 400, `bit count ${c}`);
  const again = await new SimulatedQuantumSource('sim', 8, 6, seededStream(new Uint8Array([3]))).read(16);
  assert.equal(toHex(again), toHex(bytes.subarray(0, 16)));
  assert.throws(() => new SimulatedQuantumSource('x', 3 as never), /qubits must be 1, 2, 4 or 8/);
});

test('argument checks: draw size and duplicate source names', async () => {
  const ms = new MonitoredSource(new Scripted('a'), { now: () => 0 });
  assert.throws(() => new EntropyMixer({ sources: [ms, ms] }), /used twice/);
  await assert.rejects(new EntropyMixer({ sources: [] }).draw(-1), /length must be in \[0, 1048576\]/);
  assert.throws(() => new MonitoredSource(new Scripted('b'), {} as never), /opts.now must be a function/);
});
