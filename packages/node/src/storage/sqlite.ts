/**
 * SQLite driver (better-sqlite3): one file, WAL journal, synchronous=FULL by default so a
 * committed block survives power loss as well as a killed process.
 */
import Database from 'better-sqlite3';
import { type Row, type SqlDriver, type SqlValue, type TransactionOptions, upsertSql } from './driver.js';

export interface SqliteOptions {
  /** `FULL` (default) fsyncs every commit; `NORMAL` survives a process crash but may lose the last blocks on power loss. */
  readonly synchronous?: 'FULL' | 'NORMAL';
}

const param = (v: SqlValue) =>
  typeof v === 'boolean'
    ? v
      ? 1
      : 0
    : v instanceof Uint8Array && !Buffer.isBuffer(v)
      ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) // a view, no copy; better-sqlite3 binds Buffers fastest
      : v;
/** `$1…` are SQLite named parameters called "1", "2"…: bind them by name. */
function named(params: readonly SqlValue[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < params.length; i++) o[i + 1] = param(params[i]!);
  return o;
}

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement>();
  private lock: Promise<void> = Promise.resolve();
  private readonly synchronous: 'FULL' | 'NORMAL';
  /** What a transaction's callback gets: this connection's statements, run inside it. */
  private readonly inside: SqlDriver;
  #durableCommits = 0;

  constructor(file: string, opts: SqliteOptions = {}) {
    this.db = new Database(file);
    // Block bodies are megabytes of incompressible signatures: 16 KiB pages quarter the
    // overflow chain, and a 64 MiB WAL checkpoints every few dozen blocks, not every one.
    // (page_size only takes effect on a new database, before WAL is switched on.)
    this.db.pragma('page_size = 16384');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('wal_autocheckpoint = 4096');
    this.synchronous = opts.synchronous ?? 'FULL';
    this.db.pragma(`synchronous = ${this.synchronous}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.inside = {
      dialect: 'sqlite',
      query: (sql, params) => this.run(sql, params),
      exec: async (sql) => {
        this.db.exec(sql);
      },
      // Already inside one: a nested transaction is part of it.
      transaction: (fn) => fn(this.inside),
      insertMany: async (table, columns, rows, upsertKey) => this.insertRows(table, columns, rows, upsertKey),
      close: () => Promise.reject(new Error('close() inside a transaction')),
    };
  }

  /** Commits that waited for the disk (tests: which writes were durable). */
  get durableCommits(): number {
    return this.#durableCommits;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  /** A statement on this connection, as it stands (inside a transaction or autocommit). */
  private async run<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const s = this.stmt(sql);
    const args = params.length > 0 ? [named(params)] : [];
    if (s.reader) return s.all(...args) as T[];
    s.run(...args);
    return [];
  }

  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    // A write on its own is a transaction of its own, queued behind the one under way. Run at
    // once it would land inside that one (one connection) and be undone by its rollback, or
    // wait for its commit, after this promise had already said it was stored.
    if (this.stmt(sql).reader) return this.run<T>(sql, params);
    return this.transaction((tx) => tx.query<T>(sql, params));
  }

  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlDriver) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    // One connection: transactions queue behind each other instead of nesting.
    const run = this.lock.then(async () => {
      // In WAL mode NORMAL skips the commit's fsync; the next FULL commit syncs the log,
      // this transaction's frames with it. (The pragma cannot change inside a transaction.)
      const relaxed = opts.durable === false && this.synchronous === 'FULL' && !opts.readOnly;
      if (relaxed) this.db.pragma('synchronous = NORMAL');
      // IMMEDIATE takes the write lock up front (no deadlock between two upgrading readers);
      // a read-only snapshot begins DEFERRED and never blocks the writer (WAL).
      this.db.exec(opts.readOnly ? 'BEGIN DEFERRED' : 'BEGIN IMMEDIATE');
      try {
        const out = await fn(this.inside);
        this.db.exec('COMMIT');
        if (!relaxed && !opts.readOnly && this.synchronous === 'FULL') this.#durableCommits++;
        return out;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      } finally {
        if (relaxed) this.db.pragma('synchronous = FULL');
      }
    });
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  insertMany(
    table: string,
    columns: readonly string[],
    rows: readonly SqlValue[][],
    upsertKey?: string,
  ): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.transaction((tx) => tx.insertMany(table, columns, rows, upsertKey));
  }

  private insertRows(
    table: string,
    columns: readonly string[],
    rows: readonly SqlValue[][],
    upsertKey?: string,
  ): void {
    if (rows.length === 0) return;
    const ph = columns.map((_, i) => `$${i + 1}`).join(', ');
    const sql = upsertSql(table, columns, `VALUES (${ph})`, upsertKey);
    const s = this.stmt(sql);
    for (const r of rows) s.run(named(r));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
