/**
 * Parallel signature verification: one worker thread per core, each with its own liboqs
 * instance. A batch is split into one slice per worker; the answer is the first invalid
 * index of the whole batch (or −1). Used by chain verification and import.
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SigCheck, SignatureChecker } from '@qledger/core';
import { packChecks } from './sig-pack.js';

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

export class SignaturePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;

  private constructor(readonly size: number) {}

  static async create(size = availableParallelism()): Promise<SignaturePool> {
    const pool = new SignaturePool(Math.max(1, size));
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
