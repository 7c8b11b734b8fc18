/** Whole-chain operations behind `qledger chain …`: verify, export, import. */
import {
  applyBlock,
  type Block,
  type ChainVerifyOptions,
  decode,
  decodeBlock,
  encode,
  equalBytes,
  type GenesisConfig,
  genesisBlock,
  nobleBackend,
  parseGenesisText,
  QledgerError,
  type VerifyReport,
  verifyChain,
} from '@qledger/core';
import { nativeHashes } from '../crypto/index.js';
import { storedChain, storedGenesis } from '../storage/open.js';
import type { ChainStore } from '../storage/types.js';
import { ExportReader, ExportWriter } from './export.js';
import { SignaturePool } from './sig-pool.js';

/** Hashes from node:crypto; noble only for the signature fallback (the pool uses liboqs). */
export const NODE_ENV = { hashes: nativeHashes, crypto: nobleBackend } as const;

export interface VerifyRun {
  readonly mode?: 'full' | 'state' | 'headers';
  /** Worker threads for signatures (default: one per core). */
  readonly workers?: number;
  readonly onProgress?: (height: number) => void;
}

async function withPool<T>(
  mode: VerifyRun['mode'],
  workers: number | undefined,
  fn: (o: Partial<ChainVerifyOptions>) => Promise<T>,
) {
  if ((mode ?? 'full') !== 'full') return fn({});
  const pool = await SignaturePool.create(workers);
  try {
    return await fn({ checker: pool.checker(), window: 4 * pool.size });
  } finally {
    await pool.close();
  }
}

export async function verifyStore(
  store: ChainStore,
  run: VerifyRun = {},
): Promise<VerifyReport & { genesis: GenesisConfig }> {
  const { config } = await storedGenesis(store);
  const report = await withPool(run.mode, run.workers, (extra) =>
    verifyChain(config, storedChain(store, config.params, nativeHashes), {
      ...NODE_ENV,
      mode: run.mode ?? 'full',
      ...extra,
      ...(run.onProgress ? { onProgress: run.onProgress } : {}),
    }),
  );
  return { ...report, genesis: config };
}

export async function exportChain(
  store: ChainStore,
  file: string,
  onProgress?: (h: number) => void,
): Promise<number> {
  const { text } = await storedGenesis(store);
  const head = await store.head();
  if (!head) throw new QledgerError('STORE_NOT_INITIALISED', 'the store holds no chain');
  const w = new ExportWriter(file, { genesis: text, height: head.height });
  try {
    for await (const b of store.blocks(0, head.height)) {
      w.record(rawBlock(b.headerBytes, b.txs));
      onProgress?.(b.height);
    }
  } finally {
    w.close();
  }
  return head.height;
}

/** `{ header, txs }` from stored bytes without re-validating (the store's own blocks). */
function rawBlock(headerBytes: Uint8Array, txs: readonly Uint8Array[]): Uint8Array {
  return encode({ header: decode(headerBytes), txs: [...txs] });
}

function* fileBlocks(
  path: string,
  genesis: GenesisConfig,
  onProgress?: (h: number) => void,
): Generator<Block> {
  const r = new ExportReader(path);
  try {
    for (let rec = r.next(); rec !== null; rec = r.next()) {
      const b = decodeBlock(rec, genesis.params, nativeHashes);
      onProgress?.(b.header.height);
      yield b;
    }
  } finally {
    r.close();
  }
}

export interface ImportResult {
  readonly report: VerifyReport;
  readonly imported: number;
}

/**
 * Imports an export file into an empty store: first a full verification pass over the file
 * (hashes, links, Merkle roots, state replay, every signature in parallel); only a valid
 * chain is then written, block by block, each block atomically.
 */
export async function importChain(
  file: string,
  store: ChainStore,
  run: { workers?: number; onVerify?: (h: number) => void; onWrite?: (h: number) => void } = {},
): Promise<ImportResult> {
  if ((await store.head()) !== null)
    throw new QledgerError('STORE_ALREADY_INITIALISED', 'import needs an empty store');
  const header = new ExportReader(file);
  const { genesis: text, height } = header.header;
  header.close();
  let config: GenesisConfig;
  try {
    config = parseGenesisText(text);
  } catch (e) {
    throw new QledgerError('IMPORT_INVALID', `the export's genesis is invalid: ${(e as Error).message}`);
  }
  // The file is read twice; remember each verified block's hash so that a file changed
  // between the passes is caught at the first changed block, before it is written.
  const hashes: Uint8Array[] = [];
  const report = await withPool('full', run.workers, (extra) =>
    verifyChain(config, fileBlocks(file, config, run.onVerify), {
      ...NODE_ENV,
      mode: 'full',
      ...extra,
      onProgress: (h, hash) => {
        hashes[h] = hash;
      },
    }),
  );
  if (!report.valid) return { report, imported: 0 };
  if (report.height !== height)
    throw new QledgerError(
      'IMPORT_INVALID',
      `the header promises height ${height} but the file holds ${report.height}`,
    );
  const g = genesisBlock(config, nativeHashes);
  await store.initGenesis(text, { block: g.block, hash: g.hash, changes: g.changes, state: g.state });
  let state = g.state;
  let first = true;
  for (const b of fileBlocks(file, config)) {
    if (first) {
      first = false;
      continue;
    }
    const r = applyBlock(state, b, { ...NODE_ENV, signatures: 'defer' });
    const want = hashes[b.header.height];
    if (!r.ok || !want || !equalBytes(r.hash, want))
      throw new QledgerError(
        'IMPORT_INVALID',
        `the file changed during import (block ${b.header.height} differs from the verified one)`,
      );
    await store.append({ block: b, hash: r.hash, changes: r.changes, state: r.state });
    state = r.state;
    run.onWrite?.(b.header.height);
  }
  return { report, imported: state.height };
}
