/**
 * `npm run bench -- consensus-sweep`: the consensus state machine through many seeded fault
 * schedules (the simulator of consensus-sim.test.ts), far more than `npm test` runs. Prints
 * seeds run, failures (each failing seed is replayable with QLEDGER_SIM_SEED=<seed> npm test
 * -- consensus-sim) and seeds per second. QLEDGER_SWEEP_SEEDS sets the count (default 5,000);
 * QLEDGER_SWEEP_FROM the first seed (default 301, after those npm test runs).
 */
import { simulate } from '../../packages/core/test/helpers/consensus-sim.js';
import { emit, envInt } from './format.js';

export async function benchSweep(): Promise<void> {
  const n = envInt('QLEDGER_SWEEP_SEEDS', 5000, 1, 10_000_000);
  const from = envInt('QLEDGER_SWEEP_FROM', 301, 0, 2 ** 31);
  const failed: string[] = [];
  let faults = 0;
  const t0 = performance.now();
  for (let seed = from; seed < from + n; seed++) {
    const r = simulate({ seed, byzantine: seed % 4 === 0 ? null : seed % 4 });
    faults += r.faults;
    if (r.violation !== null || r.missing.length > 0)
      failed.push(`${seed}: ${r.violation ?? `not committed everywhere: ${r.missing.join(', ')}`}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  for (const f of failed) console.error(`failing seed ${f}`);
  const one = (name: string, unit: string, v: number) =>
    emit({ bench: 'consensus-sweep', name, unit, median: v, min: v, max: v, runs: 1, from, seeds: n });
  one('seeds_failed', 'seeds', failed.length);
  one('faults_refused', 'faults', faults);
  one('seeds_per_s', 'seeds/s', Math.round((n / seconds) * 10) / 10);
  if (failed.length > 0) process.exitCode = 1;
}
