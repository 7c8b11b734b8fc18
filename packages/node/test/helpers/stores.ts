/** The stores every storage test runs against: a temporary SQLite file, and PostgreSQL when reachable. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../../src/storage/index.js';
import type { ChainStore } from '../../src/storage/types.js';

/**
 * PostgreSQL for tests: QLEDGER_TEST_PG (a superuser URL; .ci/run starts a server and sets
 * it). Unset on a developer machine → the PostgreSQL cases are skipped with a message; unset
 * under CI → they fail, so a missing server never passes silently.
 */
export const PG_URL = process.env.QLEDGER_TEST_PG;
export const pgSkip: string | false = PG_URL
  ? false
  : process.env.CI
    ? false
    : 'set QLEDGER_TEST_PG=postgres://… to run the PostgreSQL cases';

export interface StoreFactory {
  readonly kind: 'sqlite' | 'postgres';
  readonly skip: string | false;
  /** A fresh, empty store and its location (reopenable). */
  fresh(): Promise<{ store: ChainStore; location: string; drop: () => Promise<void> }>;
}

export const sqliteFactory: StoreFactory = {
  kind: 'sqlite',
  skip: false,
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'qledger-store-'));
    const location = join(dir, 'chain.sqlite');
    const store = await openStore(location);
    return { store, location, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

export const postgresFactory: StoreFactory = {
  kind: 'postgres',
  skip: pgSkip,
  async fresh() {
    if (!PG_URL) throw new Error('QLEDGER_TEST_PG is not set, but CI requires the PostgreSQL store tests');
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const url = new URL(PG_URL);
    url.searchParams.set('schema', schema);
    const store = await openStore(url.toString());
    return {
      store,
      location: url.toString(),
      drop: async () => {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      },
    };
  },
};

export const FACTORIES = [sqliteFactory, postgresFactory];
