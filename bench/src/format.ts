/** The JSON-lines format every qledger benchmark prints: one figure per line. */
export interface Figure {
  bench: string;
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  [extra: string]: string | number | boolean;
}

export function summarize(samples: number[]): { median: number; min: number; max: number; runs: number } {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { median: r(median), min: r(s[0]!), max: r(s[s.length - 1]!), runs: s.length };
}

export function emit(f: Figure): void {
  process.stdout.write(`${JSON.stringify(f)}\n`);
}

/** µs per call of `fn`, one sample per run, each run long enough to be timed (≥ minMs). */
export function microsPerOp(fn: () => void, runs: number, minMs = 150): number[] {
  for (let i = 0; i < 3; i++) fn(); // warm-up
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < minMs) {
      fn();
      n++;
      t1 = performance.now();
    }
    out.push(((t1 - t0) * 1000) / n);
  }
  return out;
}

/** A bench's knob from the environment: an integer in [min, max], or `fallback` when unset. */
export function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new BenchConfigError(
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  return v;
}

export class BenchConfigError extends Error {}
