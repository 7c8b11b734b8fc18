/**
 * `npm run bench -- pipeline`: a validator's main-thread work per transaction, stage by stage,
 * in one process (no network, no other validators): 64 senders, a pool of 3,000 pending
 * transactions, 500-transaction blocks, ML-DSA-44 `data` transactions of about 2.5 KB.
 * Signatures are checked on worker threads in a validator and are not part of this.
 *
 *   pipeline.us_per_tx         per stage: decodeTx (admission), mempool.add, buildBlock
 *                              (the proposer), macDigest (the proposal's MAC compression),
 *                              applyBlock (validation), store.append (SQLite, not synced),
 *                              rebase (the pool after the block)
 *   pipeline.rebase_ratio      rebase with replay ÷ the same rebase applying every pending
 *                              transaction again (`replay: false`), measured in the same run
 *
 * Each stage is timed over all blocks of a run; figures are medians over runs (BENCH_RUNS,
 * default 5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyBlock,
  buildBlock,
  decodeTx,
  encode,
  type LedgerState,
  Mempool,
  macDigest,
  parseGenesisText,
  type TxEnvelope,
} from '@qledger/core';
import { createOqsBackend, dataTx, nativeHashes as hashes, initStore, openStore } from '@qledger/node';
import { emit, envInt, summarize } from './format.js';
import { senderGenesis } from './world.js';

const RUNS = envInt('BENCH_RUNS', 5, 1, 1000);
const SENDERS = 64;
const BLOCK = 500;
const BLOCKS = 6;
const POOL = 3000;

type Oqs = Awaited<ReturnType<typeof createOqsBackend>>;

async function world(oqs: Oqs) {
  const { genesisText, keys } = senderGenesis(oqs, SENDERS, 'c');
  const clients = keys.map((k, i) => ({ name: `c${i}`, keys: k, seq: 0 }));
  const payload = new TextEncoder().encode('benchmark payload of a plausible size: 64 bytes............');
  const txs = Array.from(
    { length: BLOCK * BLOCKS + POOL },
    (_, i) => dataTx('bench', clients[i % SENDERS]!, payload, oqs, hashes).bytes,
  );
  return { genesisText, params: parseGenesisText(genesisText).params, txs };
}

/** One run: µs per transaction for each stage (rebase twice: with and without replay). */
async function run(oqs: Oqs, w: Awaited<ReturnType<typeof world>>): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-bench-'));
  const store = await openStore(join(dir, 'chain.sqlite'));
  try {
    const env = { hashes, crypto: oqs };
    let state: LedgerState = await initStore(store, w.genesisText, env);
    const opts = { maxTxs: 100_000, maxBytes: 1 << 30, ...env };
    const pool = new Mempool(state, opts);
    const plain = new Mempool(state, { ...opts, replay: false });
    const ms: Record<string, number> = {};
    const time = <T>(stage: string, f: () => T): T => {
      const t = performance.now();
      const r = f();
      ms[stage] = (ms[stage] ?? 0) + performance.now() - t;
      return r;
    };
    let next = 0;
    const admit = (n: number) => {
      for (const bytes of w.txs.slice(next, next + n)) {
        const e = time('decodeTx', () => decodeTx(bytes, w.params, hashes));
        time('mempool.add', () => pool.add(e, state.lastTime, { deferSignatures: true }));
        pool.markVerified(e.id);
        plain.add(e, state.lastTime, { deferSignatures: true });
        plain.markVerified(e.id);
      }
      next += n;
    };
    admit(POOL);
    for (let b = 0; b < BLOCKS; b++) {
      admit(BLOCK);
      const txs: TxEnvelope[] = pool.take(BLOCK, 1 << 30);
      const header = { time: state.lastTime + 1000, proposer: 'v1', view: 0 };
      const built = time('buildBlock', () => buildBlock(state, txs, header, { ...env, signatures: 'defer' }));
      const message = encode(txs.map((t) => t.bytes));
      time('macDigest', () => macDigest(hashes, message));
      const applied = time('applyBlock', () =>
        applyBlock(state, built.block, { ...env, signatures: 'defer' }),
      );
      if (!applied.ok) throw applied.error;
      const t = performance.now();
      await store.append(
        { block: built.block, hash: applied.hash, changes: applied.changes, state: applied.state },
        { durable: false },
      );
      ms['store.append'] = (ms['store.append'] ?? 0) + performance.now() - t;
      state = applied.state;
      const ids = txs.map((x) => x.id);
      // Alternate which goes first: the second finds the new state's lookups remembered.
      const both = [
        () => time('rebase', () => pool.rebase(state, ids, state.lastTime, () => true)),
        () => time('rebase.plain', () => plain.rebase(state, ids, state.lastTime, () => true)),
      ];
      for (const f of b % 2 ? both.reverse() : both) f();
    }
    const perTx: Record<string, number> = {};
    for (const [stage, total] of Object.entries(ms))
      perTx[stage] =
        (1000 * total) / (stage === 'decodeTx' || stage === 'mempool.add' ? next : BLOCK * BLOCKS);
    return perTx;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchPipeline(): Promise<void> {
  const oqs = await createOqsBackend();
  try {
    const w = await world(oqs);
    const runs: Record<string, number>[] = [];
    for (let r = 0; r < RUNS; r++) runs.push(await run(oqs, w));
    const base = { bench: 'pipeline', senders: SENDERS, block_txs: BLOCK, pool_txs: POOL };
    for (const stage of Object.keys(runs[0]!).filter((s) => s !== 'rebase.plain'))
      emit({
        ...base,
        name: 'pipeline.us_per_tx',
        unit: 'us',
        stage,
        ...summarize(runs.map((r) => r[stage]!)),
      });
    emit({
      ...base,
      name: 'pipeline.rebase_ratio',
      unit: 'ratio',
      plain_us_per_tx: summarize(runs.map((r) => r['rebase.plain']!)).median,
      ...summarize(runs.map((r) => r.rebase! / r['rebase.plain']!)),
    });
  } finally {
    oqs.destroy();
  }
}
