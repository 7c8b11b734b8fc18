/**
 * PostgreSQL driver (node-postgres). Each store lives in its own schema (default `qledger`);
 * BIGINT columns come back as numbers (heights and times stay far below 2⁵³).
 */
import pg from 'pg';
import { type Row, type SqlDriver, type SqlValue, type TransactionOptions, upsertSql } from './driver.js';

export interface PostgresOptions {
  readonly url: string;
  readonly schema?: string;
  readonly maxConnections?: number;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const MAX_PARAMS = 60_000;

const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v); // int8
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const param = (v: SqlValue) =>
  v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;

interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

class PgSession implements SqlDriver {
  readonly dialect = 'postgres' as const;
  constructor(
    protected readonly q: Queryable,
    private readonly inTx: boolean,
  ) {}

  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.q.query(sql, params.map(param))).rows as T[];
  }

  async exec(sql: string): Promise<void> {
    await this.q.query(sql);
  }

  async transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this);
    throw new Error('transaction() needs the pool driver');
  }

  async insertMany(
    table: string,
    columns: readonly string[],
    rows: readonly SqlValue[][],
    upsertKey?: string,
    pgTypes?: readonly string[],
  ): Promise<void> {
    if (rows.length === 0) return;
    if (pgTypes) {
      // One array parameter per column: parsing and planning stay constant however many rows.
      const arrays = columns.map((_, c) => rows.map((r) => param(r[c]!)));
      const sel = `SELECT * FROM unnest(${pgTypes.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;
      await this.q.query(upsertSql(table, columns, sel, upsertKey), arrays);
      return;
    }
    const per = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      const params: SqlValue[] = [];
      const tuples = chunk.map((r) => `(${r.map((v) => `$${params.push(v)}`).join(', ')})`);
      await this.query(upsertSql(table, columns, `VALUES ${tuples.join(', ')}`, upsertKey), params);
    }
  }

  async close(): Promise<void> {}
}

export class PostgresDriver extends PgSession {
  readonly schema: string;
  private readonly pool: pg.Pool;

  constructor(opts: PostgresOptions) {
    const schema = opts.schema ?? 'qledger';
    if (!SCHEMA_RE.test(schema)) throw new RangeError(`schema must match ${SCHEMA_RE}`);
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.maxConnections ?? 4,
      types,
      options: `-c search_path=${schema}`,
    });
    super(pool, false);
    this.pool = pool;
    this.schema = schema;
  }

  override async transaction<T>(
    fn: (tx: SqlDriver) => Promise<T>,
    opts: TransactionOptions = {},
  ): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(opts.readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
      // An asynchronous commit: WAL is flushed in order, so a later synchronous commit (or the
      // WAL writer, within a second) makes this one durable as well.
      if (opts.durable === false && !opts.readOnly) await client.query('SET LOCAL synchronous_commit = off');
      const out = await fn(new PgSession(client, true));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  override async close(): Promise<void> {
    await this.pool.end();
  }
}
