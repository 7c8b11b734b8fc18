/** ChainStore over any SqlDriver: the one implementation behind SQLite and PostgreSQL. */
import {
  type CborValue,
  type DatasetRecord,
  decode,
  encode,
  equalBytes,
  type IdentityRecord,
  QledgerError,
  STATE_KEYS,
  toHex,
} from '@qledger/core';
import { bytesOf, type SqlDriver, type SqlValue } from './driver.js';
import { orgOf, project } from './projection.js';
import { MIGRATIONS } from './schema.js';
import type {
  BlockCommit,
  ChainHead,
  ChainStore,
  DatasetQuery,
  LoadedState,
  StoredBlock,
  StoredTx,
  StoreStats,
} from './types.js';

export const STORE_ERRORS = {
  /** The block does not extend the stored head (wrong height or parent), or another writer won. */
  CONFLICT: 'STORE_CONFLICT',
  NOT_INITIALISED: 'STORE_NOT_INITIALISED',
  ALREADY_INITIALISED: 'STORE_ALREADY_INITIALISED',
  /** The store's own records disagree (e.g. state without an accumulator). */
  CORRUPT: 'STORE_CORRUPT',
  /** The database is of a newer schema than this qledger understands. */
  SCHEMA_TOO_NEW: 'STORE_SCHEMA_TOO_NEW',
  /** A QKD key_ID was already recorded as used: the key must not be used again. */
  KEY_REUSED: 'STORE_KEY_REUSED',
} as const;

const enc = new TextEncoder();
const dec = new TextDecoder();
const PAGE = 64;
/** txs.pos = height × TX_POS + index (blocks hold at most 10⁶ transactions). */
const TX_POS = 2 ** 20;

type BlockRow = {
  height: number;
  hash: unknown;
  header: unknown;
  body: unknown;
  lens: unknown;
  cert: unknown;
};

/** A unique violation on `blocks`: another writer committed this height (or hash) first. */
function isBlockRace(e: unknown): boolean {
  const x = e as { code?: unknown; table?: unknown; message?: unknown };
  if (x.code === '23505') return x.table === 'blocks';
  return (
    (x.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || x.code === 'SQLITE_CONSTRAINT_UNIQUE') &&
    typeof x.message === 'string' &&
    /\bblocks\./.test(x.message)
  );
}

export class SqlChainStore implements ChainStore {
  readonly kind: 'sqlite' | 'postgres';

  constructor(readonly db: SqlDriver) {
    this.kind = db.dialect;
  }

  async migrate(): Promise<void> {
    await this.db.exec(
      `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ${this.kind === 'sqlite' ? 'BLOB' : 'BYTEA'} NOT NULL)`,
    );
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    const current = await this.schemaVersion();
    if (current > latest)
      throw new QledgerError(
        STORE_ERRORS.SCHEMA_TOO_NEW,
        `store schema ${current} is newer than this qledger's ${latest}`,
      );
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await this.db.transaction(async (tx) => {
        const sql = this.kind === 'sqlite' ? m.sqlite : m.postgres;
        if (sql.trim()) await tx.exec(sql);
        await this.putMeta(tx, 'schema_version', enc.encode(String(m.version)));
      });
    }
  }

  private async schemaVersion(): Promise<number> {
    const v = await this.meta('schema_version');
    return v ? Number(dec.decode(v)) : 0;
  }

  private async meta(key: string, db: SqlDriver = this.db): Promise<Uint8Array | null> {
    const rows = await db.query<{ value: unknown }>('SELECT value FROM meta WHERE key = $1', [key]);
    return rows[0] ? bytesOf(rows[0].value) : null;
  }

  private async putMeta(db: SqlDriver, key: string, value: Uint8Array): Promise<void> {
    await db.insertMany('meta', ['key', 'value'], [[key, value]], 'key');
  }

  async genesisText(): Promise<string | null> {
    const v = await this.meta('genesis');
    return v ? dec.decode(v) : null;
  }

  async initGenesis(genesisText: string, commit: BlockCommit): Promise<void> {
    if (commit.block.header.height !== 0) throw new RangeError('initGenesis takes block 0');
    await this.db.transaction(async (tx) => {
      if ((await this.meta('genesis', tx)) !== null)
        throw new QledgerError(STORE_ERRORS.ALREADY_INITIALISED, 'the store already holds a chain');
      await this.putMeta(tx, 'genesis', enc.encode(genesisText));
      await this.write(tx, commit, 0);
    });
  }

  async head(db: SqlDriver = this.db): Promise<ChainHead | null> {
    const rows = await db.query<{ height: number; hash: unknown; time: number }>(
      'SELECT height, hash, time FROM blocks ORDER BY height DESC LIMIT 1',
    );
    const r = rows[0];
    return r ? { height: Number(r.height), hash: bytesOf(r.hash), time: Number(r.time) } : null;
  }

  async append(commit: BlockCommit, opts: { durable?: boolean } = {}): Promise<void> {
    const h = commit.block.header;
    try {
      await this.db.transaction(async (tx) => {
        const head = await this.head(tx);
        if (!head)
          throw new QledgerError(STORE_ERRORS.NOT_INITIALISED, 'the store has no genesis; run init first');
        if (h.height !== head.height + 1 || !equalBytes(h.prev, head.hash))
          throw new QledgerError(
            STORE_ERRORS.CONFLICT,
            `block ${h.height} does not extend the stored head ${head.height} (${toHex(head.hash).slice(0, 16)}…)`,
            { height: h.height, head: head.height },
          );
        const count = await this.meta('tx_count', tx);
        await this.write(tx, commit, (count ? Number(dec.decode(count)) : 0) + commit.block.txs.length);
      }, opts);
    } catch (e) {
      if (isBlockRace(e))
        throw new QledgerError(
          STORE_ERRORS.CONFLICT,
          `block ${h.height} was appended by another writer`,
          { height: h.height },
          { cause: e },
        );
      throw e;
    }
  }

  private async write(tx: SqlDriver, c: BlockCommit, txCount: number): Promise<void> {
    const h = c.block.header;
    const headerBytes = encode(h as unknown as CborValue);
    const lens = new Uint8Array(4 * c.block.txs.length);
    const view = new DataView(lens.buffer);
    let size = 0;
    c.block.txs.forEach((t, i) => {
      view.setUint32(4 * i, t.bytes.length);
      size += t.bytes.length;
    });
    const body = new Uint8Array(size);
    const rows: SqlValue[][] = [];
    let off = 0;
    c.block.txs.forEach((t, i) => {
      body.set(t.bytes, off);
      rows.push([
        h.height * TX_POS + i,
        t.id,
        h.height,
        i,
        t.tx.kind,
        t.tx.from,
        orgOf(c.state, t.tx.from),
        off,
        t.bytes.length,
      ]);
      off += t.bytes.length;
    });
    await tx.insertMany(
      'blocks',
      ['height', 'hash', 'time', 'proposer', 'tx_count', 'header', 'body', 'lens', 'cert'],
      [[h.height, c.hash, h.time, h.proposer, c.block.txs.length, headerBytes, body, lens, c.cert ?? null]],
    );
    await tx.insertMany(
      'txs',
      ['pos', 'id', 'height', 'idx', 'kind', 'sender', 'org', 'off', 'len'],
      rows,
      undefined,
      ['int8', 'bytea', 'int8', 'int4', 'text', 'text', 'text', 'int4', 'int4'],
    );
    const puts: SqlValue[][] = [];
    for (const ch of c.changes) {
      if (ch.value === null) await tx.query('DELETE FROM state WHERE key = $1', [ch.key]);
      else puts.push([ch.key, ch.value]);
    }
    await tx.insertMany('state', ['key', 'value'], puts, 'key', ['text', 'bytea']);
    await project(tx, c.changes, c.state);
    await this.putMeta(tx, 'accumulator', c.state.accumulator());
    await this.putMeta(tx, 'tx_count', enc.encode(String(txCount)));
  }

  private row(r: BlockRow): StoredBlock {
    const body = bytesOf(r.body);
    const lens = bytesOf(r.lens);
    const view = new DataView(lens.buffer, lens.byteOffset, lens.byteLength);
    const txs: Uint8Array[] = [];
    for (let i = 0, off = 0; i < lens.length / 4; i++) {
      const len = view.getUint32(4 * i);
      txs.push(body.subarray(off, off + len));
      off += len;
    }
    return {
      height: Number(r.height),
      hash: bytesOf(r.hash),
      headerBytes: bytesOf(r.header),
      txs,
      cert: r.cert === null || r.cert === undefined ? null : bytesOf(r.cert),
    };
  }

  private async blockWhere(where: string, v: SqlValue): Promise<StoredBlock | null> {
    const rows = await this.db.query<BlockRow>(
      `SELECT height, hash, header, body, lens, cert FROM blocks WHERE ${where} = $1`,
      [v],
    );
    return rows[0] ? this.row(rows[0]) : null;
  }

  blockByHeight(height: number): Promise<StoredBlock | null> {
    return this.blockWhere('height', height);
  }

  blockByHash(hash: Uint8Array): Promise<StoredBlock | null> {
    return this.blockWhere('hash', hash);
  }

  async *blocks(from: number, to: number): AsyncIterable<StoredBlock> {
    for (let lo = from; lo <= to; lo += PAGE) {
      const hi = Math.min(to, lo + PAGE - 1);
      const rows = await this.db.query<BlockRow>(
        'SELECT height, hash, header, body, lens, cert FROM blocks WHERE height >= $1 AND height <= $2 ORDER BY height',
        [lo, hi],
      );
      for (const r of rows) yield this.row(r);
      if (rows.length < hi - lo + 1) return;
    }
  }

  async transaction(id: Uint8Array): Promise<StoredTx | null> {
    const slice =
      this.kind === 'sqlite'
        ? 'substr(b.body, t.off + 1, t.len)'
        : 'substring(b.body FROM t.off + 1 FOR t.len)';
    const rows = await this.db.query<{
      height: number;
      idx: number;
      kind: string;
      sender: string;
      bytes: unknown;
    }>(
      `SELECT t.height, t.idx, t.kind, t.sender, ${slice} AS bytes FROM txs t JOIN blocks b ON b.height = t.height WHERE t.id = $1`,
      [id],
    );
    const r = rows[0];
    return r
      ? {
          id,
          height: Number(r.height),
          index: Number(r.idx),
          kind: r.kind,
          sender: r.sender,
          bytes: bytesOf(r.bytes),
        }
      : null;
  }

  private async stateValue(key: string): Promise<unknown> {
    const rows = await this.db.query<{ value: unknown }>('SELECT value FROM state WHERE key = $1', [key]);
    return rows[0] ? decode(bytesOf(rows[0].value)) : null;
  }

  async identity(name: string): Promise<IdentityRecord | null> {
    return (await this.stateValue(STATE_KEYS.identity(name))) as IdentityRecord | null;
  }

  async trustScore(name: string): Promise<number | null> {
    return (await this.stateValue(STATE_KEYS.trust(name))) as number | null;
  }

  async dataset(id: string): Promise<DatasetRecord | null> {
    return (await this.stateValue(STATE_KEYS.dataset(id))) as DatasetRecord | null;
  }

  async datasets(q: DatasetQuery): Promise<DatasetRecord[]> {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const search = `%${(q.search ?? '').toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = await this.db.query<{ value: unknown }>(
      `SELECT s.value FROM datasets d JOIN state s ON s.key = 'ds:' || d.id
       WHERE (lower(d.id) LIKE $1 ESCAPE '\\' OR lower(d.name) LIKE $1 ESCAPE '\\') AND d.id > $2
       ORDER BY d.id LIMIT ${limit}`,
      [search, q.after ?? ''],
    );
    return rows.map((r) => decode(bytesOf(r.value)) as unknown as DatasetRecord);
  }

  async stats(): Promise<StoreStats> {
    const head = await this.head();
    const count = async (table: string) =>
      Number((await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]?.n ?? 0);
    const txc = await this.meta('tx_count');
    return {
      height: head?.height ?? -1,
      blocks: head ? head.height + 1 : 0,
      transactions: txc ? Number(dec.decode(txc)) : 0,
      identities: await count('identities'),
      datasets: await count('datasets'),
    };
  }

  async loadState(): Promise<LoadedState | null> {
    return this.db.transaction(async (tx) => {
      const head = await this.head(tx);
      if (!head) return null;
      const acc = await this.meta('accumulator', tx);
      if (!acc) throw new QledgerError(STORE_ERRORS.CORRUPT, 'the store has blocks but no state accumulator');
      const rows = await tx.query<{ key: string; value: unknown }>(
        'SELECT key, value FROM state ORDER BY key',
      );
      return {
        entries: rows.map((r) => [r.key, bytesOf(r.value)] as [string, Uint8Array]),
        accumulator: acc,
        head,
      };
    });
  }

  async saveConsensus(snapshot: Uint8Array): Promise<void> {
    await this.putMeta(this.db, 'consensus', snapshot);
  }

  consensus(): Promise<Uint8Array | null> {
    return this.meta('consensus');
  }

  async saveLocal(changes: Readonly<Record<string, Uint8Array | null>>): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) await tx.query('DELETE FROM meta WHERE key = $1', [`local:${key}`]);
        else await this.putMeta(tx, `local:${key}`, value);
      }
    });
  }

  local(key: string): Promise<Uint8Array | null> {
    return this.meta(`local:${key}`);
  }

  async recordKeyIds(link: string, keyIds: readonly string[]): Promise<void> {
    if (keyIds.length === 0) return;
    try {
      await this.db.transaction(async (tx) => {
        await tx.insertMany(
          'qkd_keys',
          ['link', 'key_id'],
          keyIds.map((k) => [link, k]),
          undefined,
          ['text', 'text'],
        );
      });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === '23505' || (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')))
        throw new QledgerError(
          STORE_ERRORS.KEY_REUSED,
          `a QKD key_ID on link ${link} was already used`,
          { link },
          { cause: e },
        );
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
