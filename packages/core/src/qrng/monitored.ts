/**
 * A source behind its health tests (SP 800-90B §4.3–4.4). Every raw byte passes the
 * continuous tests before it is buffered; the source serves only after a start-up test on
 * 1,024 samples; a failure quarantines it.
 *
 * States: starting → healthy ⇄ quarantined → failed.
 *  - A failing batch is discarded whole, with everything buffered, and never served.
 *  - A quarantined source is retested (a fresh start-up test) no sooner than retestAfterMs
 *    later. Passing returns it to service: with α = 2^-20 a perfect source fails about once
 *    per 2^20 windows, and such a false alarm should not take it out for good.
 *  - maxFailures failed retests in a row mark it failed until an operator calls reset().
 * I/O errors do not quarantine (the health of the bytes is unknown, not bad); they are
 * counted and thrown as QRNG_SOURCE_IO so the mixer can fail over.
 */
import { assertInt, wipe } from '../bytes.js';
import { QledgerError } from '../errors.js';
import type { HealthCutoffs, HealthFailure, HealthTest } from './health.js';
import { bytesForSamples, DEFAULT_ALPHA_LOG2, HealthMonitor, STARTUP_SAMPLES } from './health.js';
import type { EntropySource } from './source.js';

export type SourceState = 'starting' | 'healthy' | 'quarantined' | 'failed';

export type QrngEvent =
  | { readonly type: 'startup-passed'; readonly source: string }
  | {
      readonly type: 'health-failure';
      readonly source: string;
      readonly phase: 'startup' | 'continuous';
      readonly test: HealthTest;
      readonly count: number;
      readonly cutoff: number;
    }
  | { readonly type: 'recovered'; readonly source: string }
  | { readonly type: 'failed'; readonly source: string; readonly failures: number }
  | { readonly type: 'io-error'; readonly source: string; readonly message: string }
  | { readonly type: 'fallback-os-only'; readonly reason: string };

export interface MonitorOptions {
  /** Milliseconds since any fixed origin; core has no clock of its own. */
  readonly now: () => number;
  readonly alphaLog2?: number;
  /** Wait before a quarantined source is retested. Default 60,000 ms. */
  readonly retestAfterMs?: number;
  /** Failed retests in a row before the source is failed for good. Default 3. */
  readonly maxFailures?: number;
  readonly onEvent?: (e: QrngEvent) => void;
}

export interface SourceStats {
  readonly name: string;
  readonly kind: string;
  readonly quantum: boolean;
  readonly state: SourceState;
  readonly sampleBits: number;
  readonly minEntropy: number;
  readonly alphaLog2: number;
  readonly cutoffs: HealthCutoffs;
  readonly bytesRead: number;
  readonly bytesServed: number;
  readonly samplesTested: number;
  readonly healthFailures: Readonly<Record<HealthTest, number>>;
  readonly startupFailures: number;
  readonly ioErrors: number;
  readonly quarantines: number;
  readonly recoveries: number;
  readonly lastFailure: {
    readonly test: HealthTest;
    readonly phase: 'startup' | 'continuous';
    readonly at: number;
  } | null;
}

export const MAX_READ_BYTES = 1 << 20;

export class MonitoredSource {
  readonly source: EntropySource;
  private readonly monitor: HealthMonitor;
  private readonly opts: Required<Omit<MonitorOptions, 'onEvent'>> & {
    readonly onEvent: ((e: QrngEvent) => void) | undefined;
  };
  private st: SourceState = 'starting';
  private buf = new Uint8Array(0);
  private off = 0;
  private quarantinedAt = 0;
  private failedRetests = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly counters = {
    bytesRead: 0,
    bytesServed: 0,
    samplesTested: 0,
    rct: 0,
    apt: 0,
    startupFailures: 0,
    ioErrors: 0,
    quarantines: 0,
    recoveries: 0,
  };
  private lastFailure: SourceStats['lastFailure'] = null;

  constructor(source: EntropySource, opts: MonitorOptions) {
    if (typeof opts?.now !== 'function') throw new TypeError('opts.now must be a function returning ms');
    this.source = source;
    this.opts = {
      now: opts.now,
      alphaLog2: opts.alphaLog2 ?? DEFAULT_ALPHA_LOG2,
      retestAfterMs: opts.retestAfterMs ?? 60_000,
      maxFailures: opts.maxFailures ?? 3,
      onEvent: opts.onEvent,
    };
    assertInt('retestAfterMs', this.opts.retestAfterMs, 0, 2 ** 31);
    assertInt('maxFailures', this.opts.maxFailures, 1, 1000);
    this.monitor = new HealthMonitor({
      sampleBits: source.sampleBits,
      minEntropy: source.minEntropy,
      alphaLog2: this.opts.alphaLog2,
    });
  }

  get name(): string {
    return this.source.name;
  }
  get state(): SourceState {
    return this.st;
  }
  /** Claimed min-entropy per raw byte. */
  get entropyPerByte(): number {
    return (this.source.minEntropy * 8) / this.source.sampleBits;
  }

  /**
   * `length` health-tested bytes. Throws QRNG_SOURCE_QUARANTINED, QRNG_SOURCE_FAILED or
   * QRNG_SOURCE_IO; on any throw, no byte of the failing batch is ever served.
   */
  read(length: number): Promise<Uint8Array> {
    assertInt('length', length, 0, MAX_READ_BYTES);
    const run = this.queue.then(() => this.readLocked(length));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Operator action: forget failures and start over with a start-up test. */
  reset(): void {
    this.discardBuffer();
    this.st = 'starting';
    this.failedRetests = 0;
  }

  stats(): SourceStats {
    const c = this.counters;
    return {
      name: this.source.name,
      kind: this.source.kind,
      quantum: this.source.quantum,
      state: this.st,
      sampleBits: this.source.sampleBits,
      minEntropy: this.source.minEntropy,
      alphaLog2: this.opts.alphaLog2,
      cutoffs: this.monitor.cutoffs,
      bytesRead: c.bytesRead,
      bytesServed: c.bytesServed,
      samplesTested: c.samplesTested,
      healthFailures: { rct: c.rct, apt: c.apt },
      startupFailures: c.startupFailures,
      ioErrors: c.ioErrors,
      quarantines: c.quarantines,
      recoveries: c.recoveries,
      lastFailure: this.lastFailure,
    };
  }

  private async readLocked(length: number): Promise<Uint8Array> {
    await this.ensureServing();
    while (this.buf.length - this.off < length) {
      const want = Math.max(this.source.chunkBytes, length - (this.buf.length - this.off));
      const raw = await this.rawRead(want);
      const f = this.test(raw);
      if (f) {
        wipe(raw);
        this.discardBuffer();
        this.quarantine(f, 'continuous');
        throw this.quarantinedError(f.test);
      }
      const next = new Uint8Array(this.buf.length - this.off + raw.length);
      next.set(this.buf.subarray(this.off));
      next.set(raw, this.buf.length - this.off);
      wipe(raw);
      this.discardBuffer();
      this.buf = next;
    }
    const out = this.buf.slice(this.off, this.off + length);
    this.buf.fill(0, this.off, this.off + length);
    this.off += length;
    this.counters.bytesServed += length;
    return out;
  }

  private async ensureServing(): Promise<void> {
    if (this.st === 'healthy') return;
    if (this.st === 'failed') {
      throw new QledgerError(
        'QRNG_SOURCE_FAILED',
        `entropy source ${this.name} failed ${this.failedRetests} retests in a row and is out of service until reset`,
        { source: this.name, failures: this.failedRetests },
      );
    }
    if (this.st === 'quarantined') {
      const wait = this.quarantinedAt + this.opts.retestAfterMs - this.opts.now();
      if (wait > 0) throw this.quarantinedError(this.lastFailure?.test, wait);
    }
    const retest = this.st === 'quarantined';
    const raw = await this.rawRead(bytesForSamples(STARTUP_SAMPLES, this.source.sampleBits));
    this.monitor.reset();
    const f = this.test(raw);
    wipe(raw); // start-up samples are only tested, never served
    if (f) {
      this.counters.startupFailures++;
      if (retest) this.failedRetests++;
      if (this.failedRetests >= this.opts.maxFailures) {
        this.recordFailure(f, 'startup');
        this.st = 'failed';
        this.emit({ type: 'failed', source: this.name, failures: this.failedRetests });
        throw new QledgerError(
          'QRNG_SOURCE_FAILED',
          `entropy source ${this.name} failed its ${f.test.toUpperCase()} health test on ${this.failedRetests} retests in a row and is out of service until reset`,
          { source: this.name, test: f.test, failures: this.failedRetests },
        );
      }
      this.quarantine(f, 'startup');
      throw this.quarantinedError(f.test);
    }
    this.failedRetests = 0;
    this.st = 'healthy';
    if (retest) this.counters.recoveries++;
    this.emit(
      retest ? { type: 'recovered', source: this.name } : { type: 'startup-passed', source: this.name },
    );
  }

  private test(raw: Uint8Array): HealthFailure | null {
    const before = this.monitor.samplesTested;
    const f = this.monitor.feed(raw);
    this.counters.samplesTested += this.monitor.samplesTested - before;
    if (f) this.counters[f.test]++;
    return f;
  }

  private async rawRead(length: number): Promise<Uint8Array> {
    let raw: Uint8Array;
    try {
      raw = await this.source.read(length);
    } catch (e) {
      this.counters.ioErrors++;
      const message = e instanceof Error ? e.message : String(e);
      this.emit({ type: 'io-error', source: this.name, message });
      if (e instanceof QledgerError && e.code === 'QRNG_SOURCE_IO') throw e;
      throw new QledgerError(
        'QRNG_SOURCE_IO',
        `entropy source ${this.name}: ${message}`,
        { source: this.name },
        {
          cause: e,
        },
      );
    }
    if (!(raw instanceof Uint8Array) || raw.length !== length) {
      this.counters.ioErrors++;
      throw new QledgerError(
        'QRNG_SOURCE_IO',
        `entropy source ${this.name} returned ${raw instanceof Uint8Array ? raw.length : typeof raw} bytes, expected ${length}`,
        { source: this.name },
      );
    }
    this.counters.bytesRead += length;
    return raw;
  }

  private quarantine(f: HealthFailure, phase: 'startup' | 'continuous'): void {
    this.recordFailure(f, phase);
    this.st = 'quarantined';
    this.quarantinedAt = this.opts.now();
    this.counters.quarantines++;
    this.monitor.reset();
  }

  private recordFailure(f: HealthFailure, phase: 'startup' | 'continuous'): void {
    this.lastFailure = { test: f.test, phase, at: this.opts.now() };
    this.emit({
      type: 'health-failure',
      source: this.name,
      phase,
      test: f.test,
      count: f.count,
      cutoff: f.cutoff,
    });
  }

  private quarantinedError(test: HealthTest | undefined, retryInMs = this.opts.retestAfterMs): QledgerError {
    const what = test === 'rct' ? 'repetition count' : test === 'apt' ? 'adaptive proportion' : 'health';
    return new QledgerError(
      'QRNG_SOURCE_QUARANTINED',
      `entropy source ${this.name} is quarantined: it failed the ${what} test; retest in ${Math.ceil(retryInMs)} ms`,
      { source: this.name, test: test ?? null, retryInMs: Math.ceil(retryInMs) },
    );
  }

  private discardBuffer(): void {
    wipe(this.buf);
    this.buf = new Uint8Array(0);
    this.off = 0;
  }

  private emit(e: QrngEvent): void {
    this.opts.onEvent?.(e);
  }
}
