/**
 * `npm run bench -- qrng`: throughput (MB/s) of each local entropy source raw and behind its
 * SP 800-90B health tests, of the health tests alone, and of the mixed output (SHAKE256 over
 * QRNG ‖ OS) at a nonce-sized and a bulk draw. Raw and monitored runs of a source alternate,
 * and the overhead is reported as the median of their per-run ratios, so machine noise hits
 * both sides alike.
 */
import {
  DEFAULT_ENTROPY_FRACTION,
  EntropyMixer,
  type EntropySource,
  HealthMonitor,
  MonitoredSource,
  OsEntropySource,
  randomBytes,
  SimulatedQuantumSource,
} from '@qledger/core';
import { DeviceQrng, nativeHashes } from '@qledger/node';
import { emit, envInt, summarize } from './format.js';

const RUNS = envInt('BENCH_RUNS', 7, 1, 1000);
const MIN_MS = 200;

/** MB/s of `fn`, which produces `bytes` per call, over one run of at least MIN_MS. */
async function oneRun(fn: () => Promise<unknown> | unknown, bytes: number): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  let t1 = t0;
  while (t1 - t0 < MIN_MS) {
    await fn();
    n++;
    t1 = performance.now();
  }
  return (n * bytes) / 1e6 / ((t1 - t0) / 1000);
}

async function sourcePair(label: string, make: () => EntropySource, chunk: number): Promise<void> {
  const raw = make();
  const monitored = new MonitoredSource(make(), { now: Date.now });
  await raw.read(chunk);
  await monitored.read(chunk); // start-up test done before timing
  const rawRuns: number[] = [];
  const monRuns: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const a = await oneRun(() => raw.read(chunk), chunk);
    const b = await oneRun(() => monitored.read(chunk), chunk);
    rawRuns.push(a);
    monRuns.push(b);
    ratios.push(a / b);
  }
  emit({ bench: 'qrng', name: `${label}.raw`, unit: 'MB/s', ...summarize(rawRuns), chunk });
  emit({ bench: 'qrng', name: `${label}.health-tested`, unit: 'MB/s', ...summarize(monRuns), chunk });
  emit({
    bench: 'qrng',
    name: `${label}.health-overhead`,
    unit: 'x',
    ...summarize(ratios),
    baseline: `${label}.raw`,
  });
  if (monitored.state !== 'healthy') throw new Error(`${label} left healthy state: ${monitored.state}`);
  await raw.close?.();
  await monitored.source.close?.();
}

export async function benchQrng(): Promise<void> {
  const CHUNK = 1 << 16;
  // health tests alone, on bytes already in memory
  const data = randomBytes(1 << 20);
  for (const sampleBits of [8, 1] as const) {
    const m = new HealthMonitor({ sampleBits, minEntropy: sampleBits * DEFAULT_ENTROPY_FRACTION });
    const runs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      runs.push(
        await oneRun(() => {
          if (m.feed(data)) m.reset();
        }, data.length),
      );
    }
    emit({ bench: 'qrng', name: `health-tests.${sampleBits}-bit-samples`, unit: 'MB/s', ...summarize(runs) });
  }
  await sourcePair('os', () => new OsEntropySource(), CHUNK);
  await sourcePair(
    'device(/dev/urandom)',
    () => new DeviceQrng({ name: 'urandom', path: '/dev/urandom' }),
    CHUNK,
  );
  await sourcePair('simulated(8 qubits)', () => new SimulatedQuantumSource('sim', 8), 4096);
  await sourcePair('simulated(1 qubit)', () => new SimulatedQuantumSource('sim1', 1), 1024);

  // mixed output: QRNG = /dev/urandom device (the fastest local stand-in for hardware)
  for (const draw of [32, CHUNK]) {
    const mixer = new EntropyMixer({
      sources: [
        new MonitoredSource(new DeviceQrng({ name: 'urandom', path: '/dev/urandom' }), { now: Date.now }),
      ],
      hashes: nativeHashes,
    });
    await mixer.draw(draw);
    const runs: number[] = [];
    const osRuns: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      runs.push(await oneRun(() => mixer.draw(draw), draw));
      osRuns.push(await oneRun(() => randomBytes(draw), draw));
    }
    if (mixer.stats().osOnlyDraws > 0) throw new Error('mixer fell back to OS-only during the benchmark');
    emit({
      bench: 'qrng',
      name: `mixed.draw-${draw}B`,
      unit: 'MB/s',
      ...summarize(runs),
      qrng: 'device(/dev/urandom)',
    });
    emit({
      bench: 'qrng',
      name: `os-csprng.draw-${draw}B`,
      unit: 'MB/s',
      ...summarize(osRuns),
      note: 'baseline: getRandomValues alone',
    });
  }
}
