/**
 * Parallel signature verification: one worker thread per core, each with its own liboqs
 * instance. A batch is split into one slice per worker; the answer is the first invalid
 * index of the whole batch (or −1). Used by chain verification and import.
 *
 * A small batch can be verified on the calling thread instead (`inline`): one ML-DSA-44
 * verification costs about 0.1 ms, while the round trip to a worker costs a thread wake-up on
 * each side, several milliseconds on a busy machine. A validator at low load admits one or two
 * transactions at a time, and that round trip was most of its admission latency.
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CryptoBackend, SigCheck, SignatureChecker } from '@qledger/core';
import { firstBad, packChecks } from './sig-pack.js';

/**
 * From source (tests, `tsx`), a worker must register tsx's loader itself: Node 20 does not
 * carry the parent's `--import` hooks into worker threads.
 */
function sourceWorker(file: URL): Worker {
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(file.href)}); })`;
  return new Worker(code, { eval: true });
}

interface Pending {
  resolve: (bad: number) => void;
  reject: (e: Error) => void;
}

export interface InlineOptions {
  /** The calling thread's backend. */
  readonly crypto: CryptoBackend;
  /** Batches of at most this many checks are verified inline (default 4: under half a millisecond). */
  readonly max?: number;
}

export class SignaturePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;
  /** Checks verified inline and in workers (for status and tests). */
  readonly counts = { inline: 0, workers: 0 };

  private constructor(
    readonly size: number,
    private readonly inline: InlineOptions | undefined,
  ) {}

  static async create(size = availableParallelism(), inline?: InlineOptions): Promise<SignaturePool> {
    const pool = new SignaturePool(Math.max(1, size), inline);
    // Same extension as this module: .ts when run from source (tsx), .js when built.
    const ext = extname(fileURLToPath(import.meta.url));
    const file = new URL(`./sig-worker${ext}`, import.meta.url);
    await Promise.all(
      Array.from({ length: pool.size }, async () => {
        const w = ext === '.ts' ? sourceWorker(file) : new Worker(file);
        await new Promise<void>((resolve, reject) => {
          w.once('message', () => resolve());
          w.once('error', reject);
        });
        w.on('message', (m: { id: number; bad: number }) => {
          const p = pool.pending.get(m.id);
          pool.pending.delete(m.id);
          p?.resolve(m.bad);
        });
        w.on('error', (e) => {
          for (const p of pool.pending.values()) p.reject(e);
          pool.pending.clear();
        });
        pool.workers.push(w);
      }),
    );
    return pool;
  }

  private send(checks: readonly SigCheck[]): Promise<number> {
    const id = this.nextId++;
    const w = this.workers[this.turn++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const packed = packChecks(checks);
      w.postMessage({ id, packed }, [packed]);
    });
  }

  /** First invalid index in `checks`, or −1. */
  async check(checks: readonly SigCheck[]): Promise<number> {
    if (checks.length === 0) return -1;
    if (this.inline && checks.length <= (this.inline.max ?? 4)) {
      this.counts.inline += checks.length;
      return firstBad(this.inline.crypto, checks);
    }
    this.counts.workers += checks.length;
    const per = Math.ceil(checks.length / this.workers.length);
    const slices: Promise<number>[] = [];
    for (let i = 0; i < checks.length; i += per) {
      const start = i;
      slices.push(this.send(checks.slice(i, i + per)).then((bad) => (bad < 0 ? -1 : start + bad)));
    }
    const bads = (await Promise.all(slices)).filter((b) => b >= 0);
    return bads.length === 0 ? -1 : Math.min(...bads);
  }

  checker(): SignatureChecker {
    return (checks) => this.check(checks);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
