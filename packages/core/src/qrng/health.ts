/**
 * NIST SP 800-90B §4.4 continuous health tests, run on a noise source's raw samples.
 *
 * Samples are consecutive `sampleBits`-bit fields of the byte stream, most significant first
 * (sampleBits 8: each byte is a sample; 1: each bit is). The cutoffs follow from the claimed
 * min-entropy H per sample and the false-positive probability α = 2^-alphaLog2:
 *   repetition count test (§4.4.1): C = 1 + ⌈alphaLog2 / H⌉;
 *   adaptive proportion test (§4.4.2): W = 1024 (binary) or 512, C = 1 + CRITBINOM(W, 2^-H, 1 − α).
 */
import { assertBytes } from '../bytes.js';

export type SampleBits = 1 | 2 | 4 | 8;

export interface HealthParams {
  /** Bits per raw sample. */
  readonly sampleBits: SampleBits;
  /** Claimed min-entropy per sample, in bits: 0 < H ≤ sampleBits. */
  readonly minEntropy: number;
  /** α = 2^-alphaLog2 per test; SP 800-90B asks 20 ≤ alphaLog2 ≤ 40. Default 20. */
  readonly alphaLog2?: number;
}

export interface HealthCutoffs {
  readonly rct: number;
  readonly apt: number;
  readonly aptWindow: number;
}

export type HealthTest = 'rct' | 'apt';

export interface HealthFailure {
  readonly test: HealthTest;
  /** Index of the failing sample within the bytes passed to feed(). */
  readonly sampleIndex: number;
  /** The repeated (RCT) or over-represented (APT) sample value. */
  readonly value: number;
  /** The count that reached the cutoff. */
  readonly count: number;
  readonly cutoff: number;
}

export const DEFAULT_ALPHA_LOG2 = 20;
/** Samples in the start-up test (SP 800-90B §4.3, item 9). */
export const STARTUP_SAMPLES = 1024;

function checkParams(p: HealthParams): Required<HealthParams> {
  if (p === null || typeof p !== 'object') throw new TypeError('health params must be an object');
  if (![1, 2, 4, 8].includes(p.sampleBits))
    throw new RangeError(`sampleBits must be 1, 2, 4 or 8, got ${String(p.sampleBits)}`);
  const h = p.minEntropy;
  if (typeof h !== 'number' || !(h > 0) || h > p.sampleBits)
    throw new RangeError(`minEntropy must be in (0, sampleBits = ${p.sampleBits}], got ${String(h)}`);
  const a = p.alphaLog2 ?? DEFAULT_ALPHA_LOG2;
  if (typeof a !== 'number' || !Number.isInteger(a) || a < 20 || a > 40)
    throw new RangeError(`alphaLog2 must be an integer in [20, 40], got ${String(a)}`);
  return { sampleBits: p.sampleBits, minEntropy: h, alphaLog2: a };
}

/** SP 800-90B §4.4.1: C = 1 + ⌈alphaLog2 / H⌉. */
export function rctCutoff(minEntropy: number, alphaLog2 = DEFAULT_ALPHA_LOG2): number {
  return 1 + Math.ceil(alphaLog2 / minEntropy);
}

/** SP 800-90B §4.4.2 window: 1024 for binary samples, 512 otherwise. */
export function aptWindow(sampleBits: SampleBits): number {
  return sampleBits === 1 ? 1024 : 512;
}

/**
 * 1 + CRITBINOM(W, p, 1 − α): the smallest C with P(X ≥ C) ≤ α for X ~ Binomial(W, p).
 * The upper tail is summed exactly from the top in floating point; no normal approximation.
 */
export function aptCutoff(minEntropy: number, window: number, alphaLog2 = DEFAULT_ALPHA_LOG2): number {
  const p = 2 ** -minEntropy;
  const alpha = 2 ** -alphaLog2;
  if (p >= 1) return window; // H = 0 cannot happen after checkParams; kept for totality
  // log pmf(k) by the recurrence pmf(k+1) = pmf(k) · (W−k)/(k+1) · p/(1−p)
  const logPmf = new Float64Array(window + 1);
  logPmf[0] = window * Math.log1p(-p);
  const lr = Math.log(p) - Math.log1p(-p);
  for (let k = 0; k < window; k++) logPmf[k + 1] = logPmf[k]! + Math.log((window - k) / (k + 1)) + lr;
  let tail = 0;
  let cutoff = window + 1;
  for (let k = window; k >= 1; k--) {
    tail += Math.exp(logPmf[k]!);
    if (tail > alpha) break;
    cutoff = k;
  }
  return cutoff;
}

export function healthCutoffs(params: HealthParams): HealthCutoffs {
  const p = checkParams(params);
  const aptW = aptWindow(p.sampleBits);
  return {
    rct: rctCutoff(p.minEntropy, p.alphaLog2),
    apt: aptCutoff(p.minEntropy, aptW, p.alphaLog2),
    aptWindow: aptW,
  };
}

/**
 * Runs both continuous tests over a sample stream, keeping state across feed() calls. After a
 * failure the monitor must be reset() before further use (the source is then quarantined by
 * its owner; see MonitoredSource).
 */
export class HealthMonitor {
  readonly params: Readonly<Required<HealthParams>>;
  readonly cutoffs: HealthCutoffs;
  private rctValue = -1;
  private rctCount = 0;
  private aptValue = -1;
  private aptCount = 0;
  private aptSeen = 0;
  private samples = 0;

  constructor(params: HealthParams) {
    this.params = Object.freeze(checkParams(params));
    this.cutoffs = Object.freeze(healthCutoffs(this.params));
  }

  /** Samples tested since construction or the last reset(). */
  get samplesTested(): number {
    return this.samples;
  }

  /** Forgets all history: the next sample starts both tests afresh. */
  reset(): void {
    this.rctValue = -1;
    this.rctCount = 0;
    this.aptValue = -1;
    this.aptCount = 0;
    this.aptSeen = 0;
    this.samples = 0;
  }

  /** Tests every sample in `bytes`; returns the first failure, or null when all pass. */
  feed(bytes: Uint8Array): HealthFailure | null {
    assertBytes('bytes', bytes);
    const sb = this.params.sampleBits;
    if (sb === 8) return this.feedBytes(bytes);
    const perByte = 8 / sb;
    const mask = (1 << sb) - 1;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      for (let j = perByte - 1; j >= 0; j--) {
        const f = this.one((b >>> (j * sb)) & mask, i * perByte + (perByte - 1 - j));
        if (f) return f;
      }
    }
    return null;
  }

  private feedBytes(bytes: Uint8Array): HealthFailure | null {
    for (let i = 0; i < bytes.length; i++) {
      const f = this.one(bytes[i]!, i);
      if (f) return f;
    }
    return null;
  }

  private one(v: number, index: number): HealthFailure | null {
    this.samples++;
    const { rct, apt, aptWindow: w } = this.cutoffs;
    // §4.4.1 repetition count test
    if (v === this.rctValue) {
      if (++this.rctCount >= rct) {
        return { test: 'rct', sampleIndex: index, value: v, count: this.rctCount, cutoff: rct };
      }
    } else {
      this.rctValue = v;
      this.rctCount = 1;
    }
    // §4.4.2 adaptive proportion test: the window's first sample is A, count its repeats
    if (this.aptSeen === 0) {
      this.aptValue = v;
      this.aptCount = 1;
      this.aptSeen = 1;
    } else {
      if (v === this.aptValue && ++this.aptCount >= apt) {
        return { test: 'apt', sampleIndex: index, value: v, count: this.aptCount, cutoff: apt };
      }
      if (++this.aptSeen === w) this.aptSeen = 0;
    }
    return null;
  }
}

/** Bytes holding `samples` samples of `sampleBits` bits. */
export function bytesForSamples(samples: number, sampleBits: SampleBits): number {
  return Math.ceil((samples * sampleBits) / 8);
}
