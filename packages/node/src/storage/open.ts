/**
 * Opening a store from a location: a file path (or `sqlite:PATH`) for the embedded store,
 * `postgres://…` / `postgresql://…` for PostgreSQL (`?schema=NAME` picks the schema).
 * Also the helpers every caller needs: genesis initialisation, state loading, block decoding.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type Block,
  type CryptoBackend,
  decodeHeader,
  decodeTx,
  type GenesisConfig,
  genesisBlock,
  type HashSuite,
  type LedgerParams,
  LedgerState,
  parseGenesisText,
  QledgerError,
} from '@qledger/core';
import { PostgresDriver } from './postgres.js';
import { SqlChainStore, STORE_ERRORS } from './sql-store.js';
import { SqliteDriver, type SqliteOptions } from './sqlite.js';
import type { ChainStore, StoredBlock } from './types.js';

export interface OpenOptions extends SqliteOptions {
  readonly maxConnections?: number;
}

export async function openStore(location: string, opts: OpenOptions = {}): Promise<ChainStore> {
  let store: SqlChainStore;
  if (/^postgres(ql)?:\/\//.test(location)) {
    const url = new URL(location);
    const schema = url.searchParams.get('schema') ?? 'qledger';
    url.searchParams.delete('schema');
    store = new SqlChainStore(
      new PostgresDriver({
        url: url.toString(),
        schema,
        ...(opts.maxConnections ? { maxConnections: opts.maxConnections } : {}),
      }),
    );
    await store.db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } else {
    const file = location.startsWith('sqlite:') ? location.slice(7) : location;
    mkdirSync(dirname(file), { recursive: true });
    store = new SqlChainStore(new SqliteDriver(file, opts));
  }
  try {
    await store.migrate();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

export interface Env {
  readonly hashes: HashSuite;
  readonly crypto: CryptoBackend;
}

/** Reads and checks the genesis config kept in the store. */
export async function storedGenesis(store: ChainStore): Promise<{ text: string; config: GenesisConfig }> {
  const text = await store.genesisText();
  if (text === null)
    throw new QledgerError(STORE_ERRORS.NOT_INITIALISED, 'the store holds no chain (no genesis)');
  return { text, config: parseGenesisText(text) };
}

/** Writes genesis into an empty store from a config text; returns the genesis state. */
export async function initStore(store: ChainStore, genesisText: string, env: Env): Promise<LedgerState> {
  const g = genesisBlock(parseGenesisText(genesisText), env.hashes);
  await store.initGenesis(genesisText, { block: g.block, hash: g.hash, changes: g.changes, state: g.state });
  return g.state;
}

/** The state at the store's head, from its saved entries and accumulator. */
export async function loadState(store: ChainStore, env: Env): Promise<LedgerState> {
  const l = await store.loadState();
  if (!l) throw new QledgerError(STORE_ERRORS.NOT_INITIALISED, 'the store holds no chain (no genesis)');
  return LedgerState.fromEntries(
    l.entries,
    { height: l.head.height, lastHash: l.head.hash, lastTime: l.head.time },
    env.hashes,
    l.accumulator,
  );
}

export function toBlock(b: StoredBlock, params: LedgerParams, hashes: HashSuite): Block {
  return { header: decodeHeader(b.headerBytes), txs: b.txs.map((t) => decodeTx(t, params, hashes)) };
}

/** Every stored block from genesis to the head, decoded. */
export async function* storedChain(
  store: ChainStore,
  params: LedgerParams,
  hashes: HashSuite,
): AsyncIterable<Block> {
  const head = await store.head();
  if (!head) return;
  for await (const b of store.blocks(0, head.height)) yield toBlock(b, params, hashes);
}
