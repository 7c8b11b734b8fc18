/**
 * The little a ChainStore needs from a SQL database, so one store implementation serves
 * SQLite and PostgreSQL. SQL is written with `$1…` placeholders; the SQLite driver binds
 * them as named parameters.
 */
export type SqlValue = string | number | boolean | Uint8Array | null;
export type Row = Record<string, unknown>;

export interface TransactionOptions {
  readonly readOnly?: boolean;
  readonly durable?: boolean;
}

export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs statements separated by semicolons, without parameters (DDL). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` in one transaction: all of it commits, or none of it. `readOnly`: a snapshot
   * read that takes no write lock (every statement sees the same committed state).
   * `durable: false`: the commit does not wait for the disk. A process crash loses nothing; a
   * power loss may lose this transaction, never half of it, and never once a later durable
   * commit has returned (the journal is flushed in order, so that one carries this one too).
   */
  transaction<T>(fn: (tx: SqlDriver) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /**
   * Inserts rows (each an array in `columns` order) as fast as the database allows; with
   * `upsertKey`, a row whose key exists replaces it. `pgTypes` (PostgreSQL column types)
   * lets PostgreSQL take one array per column instead of a parameter per value.
   */
  insertMany(
    table: string,
    columns: readonly string[],
    rows: readonly SqlValue[][],
    upsertKey?: string,
    pgTypes?: readonly string[],
  ): Promise<void>;
  close(): Promise<void>;
}

/** Returns the byte contents of a BLOB/bytea column as a plain Uint8Array. */
export function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`expected a byte column, got ${typeof v}`);
}

/**
 * `INSERT INTO table (columns) source`, where source is `VALUES …` or a `SELECT`; with
 * `upsertKey`, `ON CONFLICT (key) DO UPDATE` (SQLite ≥ 3.24 and PostgreSQL alike).
 */
export function upsertSql(
  table: string,
  columns: readonly string[],
  source: string,
  upsertKey?: string,
): string {
  const base = `INSERT INTO ${table} (${columns.join(', ')}) ${source}`;
  if (!upsertKey) return base;
  const set = columns.filter((c) => c !== upsertKey).map((c) => `${c} = excluded.${c}`);
  return `${base} ON CONFLICT (${upsertKey}) DO UPDATE SET ${set.join(', ')}`;
}
