/**
 * `npm run bench -- ledger`: storage append rate (SQLite, PostgreSQL) of 1,000-transaction
 * blocks with signatures already checked, header verification rate (hashes, links, Merkle
 * roots), and parallel signature verification against cores × one core's ML-DSA-44 verify
 * rate measured in the same run; and the state accumulator's update for a block of 64 changes,
 * with the LtHash expansion cache against without it. For SQLite it also prints the bytes
 * written per appended transaction late in the run against early
 * (`store.write_bytes_per_tx.sqlite`; BENCH_LEDGER_BLOCKS sets the chain's length, default 8
 * blocks). PostgreSQL runs when QLEDGER_BENCH_PG (or QLEDGER_TEST_PG) names a server; each run
 * uses a fresh schema that is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyBlock,
  type Block,
  buildBlock,
  genesisBlock,
  LedgerState,
  LtHashElements,
  nobleBackend,
  parseGenesisText,
  type SigCheck,
  signTx,
  type TxEnvelope,
  verifyChain,
} from '@qledger/core';
import {
  type BlockCommit,
  createOqsBackend,
  initStore,
  nativeHashes,
  openStore,
  SignaturePool,
} from '@qledger/node';
import pg from 'pg';
import { emit, envInt, summarize } from './format.js';
import { writtenBytes } from './proc.js';
import { senderGenesis } from './world.js';

const RUNS = envInt('BENCH_RUNS', 5, 1, 1000);
const BLOCKS = envInt('BENCH_LEDGER_BLOCKS', 8, 1, 10_000);
const PER_BLOCK = 1000;
const SENDERS = 20;
const PG_URL = process.env.QLEDGER_BENCH_PG ?? process.env.QLEDGER_TEST_PG;
const env = { hashes: nativeHashes, crypto: nobleBackend };

interface Workload {
  genesisText: string;
  /** Mean encoded transaction size. */
  txBytes: number;
  commits: BlockCommit[];
  blocks: Block[];
  checks: SigCheck[];
}

async function workload(): Promise<Workload> {
  const oqs = await createOqsBackend();
  const { genesisText, keys } = senderGenesis(oqs, SENDERS, 'user', (i) => ({ org: `org${i % 3}` }));
  const dir = mkdtempSync(join(tmpdir(), 'qledger-bench-'));
  const store = await openStore(join(dir, 'g.sqlite'));
  let state: LedgerState = await initStore(store, genesisText, env);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const seqs = new Array<number>(SENDERS).fill(0);
  const commits: BlockCommit[] = [];
  const checks: SigCheck[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const txs: TxEnvelope[] = [];
    for (let i = 0; i < PER_BLOCK; i++) {
      const s = i % SENDERS;
      const unsigned = {
        v: 1 as const,
        chain: 'bench',
        kind: 'data' as const,
        from: `user${s}`,
        seq: seqs[s]!++,
        alg: 'ml-dsa-44' as const,
        body: { payload: randomBytes(43) }, // the reference's 43-byte transaction
      };
      txs.push(signTx(unsigned, keys[s]!.secretKey, oqs, nativeHashes));
    }
    const built = buildBlock(
      state,
      txs,
      { time: state.lastTime + 1000, proposer: 'v1' },
      { ...env, signatures: 'defer' },
    );
    const applied = applyBlock(state, built.block, { ...env, signatures: 'defer' });
    if (!applied.ok) throw applied.error;
    checks.push(...applied.deferred);
    commits.push({ block: built.block, hash: built.hash, changes: built.changes, state: built.state });
    state = built.state;
  }
  oqs.destroy();
  const all = commits.flatMap((c) => c.block.txs);
  const txBytes = all.reduce((a, t) => a + t.bytes.length, 0) / all.length;
  return { genesisText, txBytes, commits, blocks: commits.map((c) => c.block), checks };
}

interface AppendRun {
  /** Transactions appended per second. */
  readonly rate: number;
  /**
   * Bytes this process wrote (log and checkpoints; SQLite only, Linux only) per transaction, over
   * the first and the last quarter of the blocks: how the cost of an append grows with the chain.
   */
  readonly written: { readonly first: number; readonly last: number } | null;
}

async function appendRun(
  w: Workload,
  location: string,
  synchronous: 'FULL' | 'NORMAL' = 'FULL',
): Promise<AppendRun> {
  const store = await openStore(location, { synchronous });
  try {
    await initStore(store, w.genesisText, env);
    const n = w.commits.length;
    const quarter = Math.max(1, Math.floor(n / 4));
    // Bytes written so far before block `quarter`, before block n − quarter, and at the end.
    let afterFirst: number | null = null;
    let beforeLast: number | null = null;
    const start = writtenBytes();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (i === quarter) afterFirst = writtenBytes();
      if (i === n - quarter) beforeLast = writtenBytes();
      await store.append(w.commits[i]!);
    }
    const rate = (n * PER_BLOCK) / ((performance.now() - t0) / 1000);
    const end = writtenBytes();
    const perTx = (from: number, to: number) => Math.round((to - from) / (quarter * PER_BLOCK));
    const written =
      store.kind === 'sqlite' && start !== null && afterFirst !== null && beforeLast !== null && end !== null
        ? { first: perTx(start, afterFirst), last: perTx(beforeLast, end) }
        : null;
    return { rate, written };
  } finally {
    await store.close();
  }
}

async function benchAppend(w: Workload): Promise<void> {
  const sqlite: number[] = [];
  const normal: number[] = [];
  const first: number[] = [];
  const last: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const [sync, out] of [
      ['FULL', sqlite],
      ['NORMAL', normal],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'qledger-bench-'));
      try {
        const run = await appendRun(w, join(dir, 'chain.sqlite'), sync);
        out.push(run.rate);
        if (sync === 'FULL' && run.written) {
          first.push(run.written.first);
          last.push(run.written.last);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  // Transactions are ~2.5 KB (the ML-DSA-44 signature is 2,420 bytes): also report the
  // write bandwidth each rate means, the figure to hold against the disk's.
  const mbps = (rate: number) => Math.round((rate * w.txBytes) / 1e5) / 10;
  const full = summarize(sqlite);
  const norm = summarize(normal);
  emit({
    bench: 'ledger',
    name: 'store.append.sqlite',
    unit: 'tx/s',
    ...full,
    target: 50_000,
    blockTxs: PER_BLOCK,
    synchronous: 'FULL',
    MBps: mbps(full.median),
  });
  emit({
    bench: 'ledger',
    name: 'store.append.sqlite.normal',
    unit: 'tx/s',
    ...norm,
    blockTxs: PER_BLOCK,
    synchronous: 'NORMAL',
    MBps: mbps(norm.median),
  });
  if (last.length > 0) {
    // Bytes written per appended transaction, late in the run, against early and against the
    // transaction's own size: a B-tree index over random keys (the transaction id) dirties
    // more of its pages per block as it grows, and SQLite's log takes each dirty page whole.
    const l = summarize(last);
    const f = summarize(first).median;
    emit({
      bench: 'ledger',
      name: 'store.write_bytes_per_tx.sqlite',
      unit: 'bytes',
      ...l,
      first_quarter: f,
      ratio_vs_first_quarter: Math.round((l.median / f) * 100) / 100,
      ratio_vs_tx_bytes: Math.round((l.median / w.txBytes) * 100) / 100,
      chainTxs: w.commits.length * PER_BLOCK,
      blockTxs: PER_BLOCK,
    });
  }
  if (!PG_URL) {
    emit({
      bench: 'ledger',
      name: 'store.append.postgres',
      unit: 'tx/s',
      median: 0,
      min: 0,
      max: 0,
      runs: 0,
      skipped: true,
      reason: 'set QLEDGER_BENCH_PG=postgres://…',
    });
    return;
  }
  const postgres: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const schema = `bench_${randomBytes(5).toString('hex')}`;
    const url = new URL(PG_URL);
    url.searchParams.set('schema', schema);
    try {
      postgres.push((await appendRun(w, url.toString())).rate);
    } finally {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  }
  const ps = summarize(postgres);
  emit({
    bench: 'ledger',
    name: 'store.append.postgres',
    unit: 'tx/s',
    ...ps,
    target: 10_000,
    blockTxs: PER_BLOCK,
    MBps: mbps(ps.median),
  });
}

async function benchHeaders(w: Workload): Promise<void> {
  const config = parseGenesisText(w.genesisText);
  const chain = [genesisBlock(config, nativeHashes).block, ...w.blocks];
  const rates: number[] = [];
  const bound: number[] = [];
  const ratios: number[] = [];
  const txBytes = w.blocks.flatMap((b) => b.txs.map((t) => t.bytes));
  for (let r = 0; r < RUNS; r++) {
    // The ceiling: one bare SHA3-256 per transaction over its bytes (what any commitment to
    // the signed transactions must at least hash), measured alternately with the real check.
    let t0 = performance.now();
    for (const b of txBytes) nativeHashes.sha3_256(b);
    const raw = txBytes.length / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    const rep = await verifyChain(config, chain, { ...env, mode: 'headers' });
    const secs = (performance.now() - t0) / 1000;
    if (!rep.valid) throw new Error(rep.error?.message);
    rates.push(rep.transactions / secs);
    bound.push(raw);
    ratios.push(rep.transactions / secs / raw);
  }
  const avgBytes = Math.round(txBytes.reduce((a, b) => a + b.length, 0) / txBytes.length);
  emit({
    bench: 'ledger',
    name: 'sha3_256.tx_bytes',
    unit: 'tx/s',
    ...summarize(bound),
    txBytes: avgBytes,
    cores: 1,
  });
  emit({
    bench: 'ledger',
    name: 'verify.headers',
    unit: 'tx/s',
    ...summarize(rates),
    ratio_vs_bare_sha3: summarize(ratios).median,
    target: 200_000,
  });
}

async function benchSignatures(w: Workload): Promise<void> {
  const cores = availableParallelism();
  const oqs = await createOqsBackend();
  const one = oqs.signer('ml-dsa-44');
  const pool = await SignaturePool.create(cores);
  const sample = w.checks.slice(0, 2000);
  const single: number[] = [];
  const parallel: number[] = [];
  const ratios: number[] = [];
  try {
    await pool.check(sample); // warm the workers
    for (let r = 0; r < RUNS; r++) {
      // alternate single-core baseline and the pool, so noise hits both alike
      let t0 = performance.now();
      for (const c of sample)
        if (!one.verify(c.signature, c.message, c.publicKey)) throw new Error('bad signature');
      const base = sample.length / ((performance.now() - t0) / 1000);
      t0 = performance.now();
      // block by block, all in flight at once, as chain verification keeps a window of blocks
      const batches: Promise<number>[] = [];
      for (let i = 0; i < w.checks.length; i += PER_BLOCK)
        batches.push(pool.check(w.checks.slice(i, i + PER_BLOCK)));
      if ((await Promise.all(batches)).some((b) => b >= 0)) throw new Error('bad signature');
      const par = w.checks.length / ((performance.now() - t0) / 1000);
      single.push(base);
      parallel.push(par);
      ratios.push(par / (cores * base));
    }
  } finally {
    await pool.close();
    oqs.destroy();
  }
  emit({
    bench: 'ledger',
    name: 'verify.signatures.single_core',
    unit: 'tx/s',
    ...summarize(single),
    alg: 'ml-dsa-44',
    backend: 'liboqs',
  });
  emit({
    bench: 'ledger',
    name: 'verify.signatures',
    unit: 'tx/s',
    ...summarize(parallel),
    cores,
    ratio_vs_cores_x_single: summarize(ratios).median,
    target_ratio: 0.8,
  });
}

/**
 * The state accumulator's update for a block that changes 64 sequence numbers (64 senders, as
 * in the consensus bench), with the expansion cache (LtHashElements) and without it (max 0:
 * every old and new entry expanded), alternated within each run.
 */
function benchAccumulator(): void {
  const CHANGES = 64;
  const BLOCKS_PER_RUN = 120;
  const timed = (cache: LtHashElements): number => {
    let state = LedgerState.empty();
    const t: number[] = [];
    for (let h = 0; h < BLOCKS_PER_RUN; h++) {
      const d = state.draft();
      for (let k = 0; k < CHANGES; k++) d.put(`seq:sender-${k}`, h * CHANGES + k);
      const changes = d.changes();
      const t0 = performance.now();
      const acc = d.accumulatorAfter(nativeHashes, changes, cache);
      t.push(performance.now() - t0);
      state = d.finish(acc, { height: h, lastHash: new Uint8Array(32), lastTime: h });
    }
    return summarize(t.slice(1)).median; // the first block has nothing to remove
  };
  const cached: number[] = [];
  const plain: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    plain.push(timed(new LtHashElements(0)));
    cached.push(timed(new LtHashElements()));
  }
  emit({
    bench: 'ledger',
    name: 'state.accumulator_after',
    unit: 'ms',
    changes: CHANGES,
    ...summarize(cached),
    uncached_ms: summarize(plain).median,
    ratio_vs_uncached: summarize(cached.map((c, i) => c / plain[i]!)).median,
  });
}

export async function benchLedger(): Promise<void> {
  benchAccumulator();
  const w = await workload();
  await benchAppend(w);
  await benchHeaders(w);
  await benchSignatures(w);
}
