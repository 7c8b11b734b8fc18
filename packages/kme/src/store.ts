/**
 * A KME's durable state in one SQLite file: the key streams of its links, the keys waiting
 * for their slave SAEs, and the record of every key_ID issued or received.
 *
 * Writes go through a group commit: an operation runs synchronously inside the open
 * transaction and its promise resolves only after the COMMIT that made it durable. With
 * durability `full` that means an fdatasync of the write-ahead log, run on libuv's thread
 * pool so the event loop keeps serving requests while the disk works. A commit's sync starts
 * at once, beside up to MAX_SYNCS - 1 others still under way (the disk serves concurrent
 * syncs of one file in parallel, so a commit need not wait out its predecessor's sync);
 * commits made while all are busy share the next. SQLite itself runs with synchronous =
 * NORMAL, which in WAL mode still syncs the log before every checkpoint and the database
 * after it, so the checkpoint never overwrites a log frame that is not yet in the database
 * file; our own sync adds what NORMAL leaves out, the log's durability at each commit.
 * Every caller answers its SAE or peer only after that, so nothing is ever handed out that a
 * crash could bring back: a key is removed in the same durable write that precedes its
 * delivery. Operations that arrive while a commit is open share it, which is what makes
 * thousands of keys per second possible with one sync per batch. secure_delete overwrites
 * freed pages, so erased key material does not linger in the database file.
 *
 * A stream is one direction of one link: the bytes that the KME named by `dir` hands out as
 * master. Bytes are kept in rows of at most ROW_BYTES, each deleted once used up. `alloc` is
 * the next byte to hand out, `end` the next byte to arrive and `ready` how far the peer is
 * known to hold the same bytes.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';

export const ROW_BYTES = 1024;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS streams (
  link TEXT NOT NULL, dir TEXT NOT NULL,
  alloc INTEGER NOT NULL DEFAULT 0, end_ INTEGER NOT NULL DEFAULT 0, ready INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (link, dir)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS material (
  link TEXT NOT NULL, dir TEXT NOT NULL, start INTEGER NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL,
  PRIMARY KEY (link, dir, start)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS material_seq ON material (link, seq);
CREATE TABLE IF NOT EXISTS links (
  link TEXT PRIMARY KEY, next_seq INTEGER NOT NULL DEFAULT 0, acked_seq INTEGER NOT NULL DEFAULT -1) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (
  key_id TEXT PRIMARY KEY, master TEXT NOT NULL, slaves TEXT NOT NULL, remaining TEXT NOT NULL,
  bits INTEGER NOT NULL, key BLOB, origin TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_expiry ON keys (expires);
`;

export class StoreError extends Error {
  constructor(
    readonly code: 'NO_KEY' | 'USED' | 'NOT_RECEIVED' | 'DUPLICATE' | 'CLOSED',
    message: string,
  ) {
    super(message);
  }
}

export interface StreamLevel {
  readonly alloc: number;
  readonly end: number;
  readonly ready: number;
}

export interface KeyRow {
  readonly keyId: string;
  readonly master: string;
  readonly slaves: readonly string[];
  readonly remaining: readonly string[];
  readonly bits: number;
  readonly key: Uint8Array | null;
  readonly origin: string;
  readonly expires: number;
}

export interface ChunkPart {
  readonly dir: string;
  readonly start: number;
  readonly bytes: Uint8Array;
}

/** A write's result, available at once, and the commit that makes it durable. */
export interface Staged<T> {
  readonly value: T;
  readonly durable: Promise<void>;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Log syncs under way at once. Each starts after the COMMIT of every waiter it answers, so
 * any number is correct. Two are enough that a commit never waits out another's sync before
 * its own starts; more would crowd libuv's four-thread pool, which other file work shares.
 */
const MAX_SYNCS = 2;

/** How often the checkpointer copies the log into the database file. */
const CHECKPOINT_MS = 250;
/** A log of more frames than this (4 KiB each) is rewound by a RESTART checkpoint. */
const RESTART_FRAMES = 16_384;

/**
 * The checkpointer thread: its own connection to the same file, a PASSIVE checkpoint every
 * CHECKPOINT_MS (a no-op when the log is empty). It is unref'd: it never keeps the process up.
 */
function startCheckpointer(path: string, onError: (e: unknown) => void): Worker {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const Database = require(workerData.sqlite);
     const db = new Database(workerData.path);
     db.pragma('busy_timeout = 1000');
     db.pragma('synchronous = NORMAL');
     db.pragma('secure_delete = ON');
     setInterval(() => {
       const [r] = db.pragma('wal_checkpoint(PASSIVE)');
       // Under load without pause the writer may never start on a fully copied log (only then
       // does it rewind it): past the limit, RESTART makes the next writer rewind.
       if (r.log > workerData.restartFrames) db.pragma('wal_checkpoint(RESTART)');
     }, workerData.ms);`,
    { eval: true, workerData: { sqlite, path, ms: CHECKPOINT_MS, restartFrames: RESTART_FRAMES } },
  );
  worker.unref();
  worker.on('error', onError);
  return worker;
}

export class KmeStore {
  readonly #db: Database.Database;
  #open = false;
  #closed = false;
  #waiters: Waiter[] = [];
  /** Committed but not yet synced (durability full on a file). */
  #unsynced: Waiter[] = [];
  /** The batches whose sync is under way (at most MAX_SYNCS). */
  readonly #inflight = new Set<Waiter[]>();
  /** Commits and log syncs so far, and the most syncs ever under way at once. */
  readonly #stats = { commits: 0, syncs: 0, maxConcurrentSyncs: 0 };
  /** The write-ahead log, opened at the first sync; null for `normal` or `:memory:`. */
  readonly #walPath: string | null;
  #walFd: number | null = null;
  readonly #checkpointer: Worker | null = null;
  readonly #onFatal: (e: unknown) => void;
  readonly #q;
  /** Runs a function as a savepoint inside the open transaction (built once: a hot path). */
  readonly #savepoint: (fn: () => unknown) => unknown;

  constructor(
    path: string,
    /** `full`: fsync every commit (survives power loss); `normal`: survives a process crash. */
    durability: 'full' | 'normal' = 'full',
    onFatal: (e: unknown) => void = (e) =>
      setImmediate(() => {
        throw e;
      }),
  ) {
    this.#db = new Database(path);
    this.#onFatal = onFatal;
    if (path !== ':memory:') this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#walPath = path !== ':memory:' && durability === 'full' ? `${path}-wal` : null;
    this.#db.pragma('secure_delete = ON');
    this.#db.exec(SCHEMA);
    if (path !== ':memory:') {
      // Checkpoints (copying the log into the database file, two fsyncs) take tens of
      // milliseconds; run on this connection they would stall every request behind them.
      // A second connection in a worker thread does them instead: in WAL mode a PASSIVE
      // checkpoint runs alongside this connection's writes.
      this.#db.pragma('wal_autocheckpoint = 0');
      // A rewound log is cut back to this size, so a burst does not keep its disk space.
      this.#db.pragma(`journal_size_limit = ${16 * 1024 * 1024}`);
      this.#checkpointer = startCheckpointer(path, (e) => {
        if (!this.#closed) this.#fail([], e);
      });
    }
    const db = this.#db;
    this.#savepoint = db.transaction((fn: () => unknown) => fn());
    this.#q = {
      stream: db.prepare<[string, string], { alloc: number; end_: number; ready: number }>(
        'SELECT alloc, end_, ready FROM streams WHERE link = ? AND dir = ?',
      ),
      ensureStream: db.prepare('INSERT OR IGNORE INTO streams (link, dir) VALUES (?, ?)'),
      setAlloc: db.prepare('UPDATE streams SET alloc = ? WHERE link = ? AND dir = ?'),
      setEnd: db.prepare('UPDATE streams SET end_ = ? WHERE link = ? AND dir = ?'),
      setReady: db.prepare('UPDATE streams SET ready = ? WHERE link = ? AND dir = ?'),
      rows: db.prepare<[string, string, number], { start: number; bytes: Buffer }>(
        'SELECT start, bytes FROM material WHERE link = ? AND dir = ? AND start < ? ORDER BY start',
      ),
      delRow: db.prepare('DELETE FROM material WHERE link = ? AND dir = ? AND start = ?'),
      putRow: db.prepare('INSERT INTO material (link, dir, start, seq, bytes) VALUES (?, ?, ?, ?, ?)'),
      unacked: db.prepare<[string, number], { dir: string; start: number; seq: number; bytes: Buffer }>(
        'SELECT dir, start, seq, bytes FROM material WHERE link = ? AND seq > ? ORDER BY seq, dir, start',
      ),
      link: db.prepare<[string], { next_seq: number; acked_seq: number }>(
        'SELECT next_seq, acked_seq FROM links WHERE link = ?',
      ),
      ensureLink: db.prepare('INSERT OR IGNORE INTO links (link) VALUES (?)'),
      setNextSeq: db.prepare('UPDATE links SET next_seq = ? WHERE link = ?'),
      setAcked: db.prepare('UPDATE links SET acked_seq = ? WHERE link = ?'),
      getKey: db.prepare<[string], KeyRowDb>('SELECT * FROM keys WHERE key_id = ?'),
      putKey: db.prepare(
        'INSERT INTO keys (key_id, master, slaves, remaining, bits, key, origin, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      updKey: db.prepare('UPDATE keys SET remaining = ?, key = ? WHERE key_id = ?'),
      expire: db.prepare('DELETE FROM keys WHERE expires <= ?'),
      waiting: db.prepare<[], { n: number; bits: number | null }>(
        'SELECT count(*) AS n, sum(bits) AS bits FROM keys WHERE key IS NOT NULL',
      ),
    };
  }

  // ---- group commit -------------------------------------------------------------------------

  /**
   * Run `fn` inside the open transaction (its own savepoint: if it throws, only its changes
   * are undone) and resolve with its result once the transaction has been committed.
   */
  write<T>(fn: () => T): Promise<T> {
    let staged: Staged<T>;
    try {
      staged = this.stage(fn);
    } catch (e) {
      return Promise.reject(e);
    }
    return staged.durable.then(() => staged.value);
  }

  /**
   * As write(), but `fn`'s result comes back at once (a throw from `fn` is thrown here, its
   * changes undone), with a promise for the commit that makes it durable. For a caller that
   * may start work on the result before then, but must answer nobody until `durable` resolves.
   */
  stage<T>(fn: () => T): Staged<T> {
    if (this.#closed) throw new StoreError('CLOSED', 'the KME store is closed');
    if (!this.#open) {
      this.#db.exec('BEGIN IMMEDIATE');
      this.#open = true;
      setImmediate(() => this.#commit());
    }
    // Inside the open transaction better-sqlite3 runs this as a prepared savepoint: if fn
    // throws, only its own changes are undone.
    const value = this.#savepoint(fn) as T;
    const durable = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    return { value, durable };
  }

  #commit(): void {
    if (!this.#open || this.#closed) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    this.#open = false;
    try {
      this.#db.exec('COMMIT');
    } catch (e) {
      this.#fail(waiters, e);
      return;
    }
    this.#stats.commits++;
    if (this.#walPath === null) {
      for (const w of waiters) w.resolve();
      return;
    }
    this.#unsynced.push(...waiters);
    this.#sync();
  }

  /** A commit or sync that fails leaves memory and disk disagreeing about what was handed
   * out: refuse everything from here on and let the process die rather than guess. */
  #fail(waiters: readonly Waiter[], e: unknown): void {
    for (const w of [...waiters, ...this.#unsynced, ...[...this.#inflight].flat()]) w.reject(e);
    this.#unsynced = [];
    if (!this.#closed) this.#shutdown();
    this.#onFatal(e);
  }

  /** An fdatasync of the log for everyone committed so far, unless MAX_SYNCS are under way:
   * then whoever committed meanwhile waits for the first of them to finish. */
  #sync(): void {
    if (this.#inflight.size >= MAX_SYNCS || this.#unsynced.length === 0 || this.#closed) return;
    const batch = this.#unsynced;
    this.#unsynced = [];
    let fd: number;
    try {
      fd = this.#wal();
    } catch (e) {
      this.#fail(batch, e);
      return;
    }
    this.#inflight.add(batch);
    this.#stats.syncs++;
    this.#stats.maxConcurrentSyncs = Math.max(this.#stats.maxConcurrentSyncs, this.#inflight.size);
    fdatasync(fd, (err) => {
      this.#inflight.delete(batch);
      if (this.#closed) {
        // close() synced and answered this batch itself; crash() and #fail() dropped it. The
        // last sync to finish closes the descriptor.
        this.#closeWal();
        return;
      }
      if (err) {
        this.#fail(batch, err);
        return;
      }
      for (const w of batch) w.resolve();
      this.#sync();
    });
  }

  /** The log's descriptor, opened at the first sync (SQLite creates the file on first write). */
  #wal(): number {
    this.#walFd ??= openSync(this.#walPath!, 'r');
    return this.#walFd;
  }

  /** Mark closed, then release the log descriptor, the checkpointer and the database. */
  #shutdown(): void {
    this.#closed = true;
    this.#closeWal();
    void this.#checkpointer?.terminate();
    this.#db.close();
  }

  /** Closes the log's descriptor unless a sync still uses it (its callback closes it then). */
  #closeWal(): void {
    if (this.#walFd === null || this.#inflight.size > 0) return;
    closeSync(this.#walFd);
    this.#walFd = null;
  }

  /** Commit what is open, sync it, answer everyone and close. */
  close(): void {
    if (this.#closed) return;
    this.#commit();
    const unsynced = [...[...this.#inflight].flat(), ...this.#unsynced];
    this.#unsynced = [];
    if (unsynced.length > 0) {
      try {
        fdatasyncSync(this.#wal());
      } catch (e) {
        this.#fail(unsynced, e);
        return;
      }
    }
    this.#shutdown();
    for (const w of unsynced) w.resolve();
  }

  /**
   * Tests only: die as a SIGKILL would, between a write and its commit. The open transaction
   * is lost and nobody waiting on it is answered.
   */
  crash(): void {
    if (this.#closed) return;
    if (this.#open) this.#db.exec('ROLLBACK');
    this.#open = false;
    const waiters = [...this.#waiters, ...this.#unsynced, ...[...this.#inflight].flat()];
    this.#waiters = [];
    this.#unsynced = [];
    this.#shutdown();
    for (const w of waiters) w.reject(new StoreError('CLOSED', 'the KME crashed'));
  }

  /** Group-commit counters (metrics and tests). */
  get stats(): Readonly<{ commits: number; syncs: number; maxConcurrentSyncs: number }> {
    return { ...this.#stats };
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- streams ------------------------------------------------------------------------------

  level(link: string, dir: string): StreamLevel {
    const r = this.#q.stream.get(link, dir);
    return r ? { alloc: r.alloc, end: r.end_, ready: r.ready } : { alloc: 0, end: 0, ready: 0 };
  }

  /** Bytes this KME can hand out now from a stream (as master or when following the peer). */
  available(link: string, dir: string, own: boolean): number {
    const l = this.level(link, dir);
    return (own ? l.ready : l.end) - l.alloc;
  }

  /**
   * Take `n` bytes starting at `start` (the master passes its alloc pointer; a follower the
   * offset the master announced, burning anything it skips). The bytes leave the store.
   * Call inside write().
   */
  take(
    link: string,
    dir: string,
    start: number | 'next',
    n: number,
    own: boolean,
  ): { start: number; bytes: Uint8Array } {
    const l = this.level(link, dir);
    const from = start === 'next' ? l.alloc : start;
    const limit = own ? l.ready : l.end;
    if (from < l.alloc) throw new StoreError('USED', `bytes ${from}… of ${link}/${dir} were already used`);
    if (from + n > limit) {
      throw start === 'next'
        ? new StoreError('NO_KEY', `${link}/${dir} holds ${limit - l.alloc} bytes, ${n} asked`)
        : new StoreError('NOT_RECEIVED', `bytes ${from}…${from + n} of ${link}/${dir} have not arrived`);
    }
    const to = from + n;
    const out = new Uint8Array(n);
    for (const row of this.#q.rows.all(link, dir, to)) {
      const rEnd = row.start + row.bytes.length;
      const a = Math.max(from, row.start);
      const b = Math.min(to, rEnd);
      if (b > a) out.set(row.bytes.subarray(a - row.start, b - row.start), a - from);
      // A row is erased once all of it is used (or skipped: burnt by a reservation that
      // failed upstream). A partly used row stays until then, since rewriting it for every
      // key would cost a page write per key: used bytes linger at most ROW_BYTES per stream.
      if (rEnd <= to) this.#q.delRow.run(link, dir, row.start);
      row.bytes.fill(0);
    }
    this.#q.setAlloc.run(to, link, dir);
    return { start: from, bytes: out };
  }

  /** Append produced or received bytes to a stream. Returns the new end. Call inside write(). */
  append(link: string, part: ChunkPart, seq: number): number {
    this.#q.ensureStream.run(link, part.dir);
    const l = this.level(link, part.dir);
    if (part.start !== l.end)
      throw new StoreError('NOT_RECEIVED', `${link}/${part.dir} expects ${l.end}, got ${part.start}`);
    for (let off = 0; off < part.bytes.length; off += ROW_BYTES) {
      const slice = part.bytes.subarray(off, Math.min(off + ROW_BYTES, part.bytes.length));
      this.#q.putRow.run(link, part.dir, part.start + off, seq, slice);
    }
    const end = part.start + part.bytes.length;
    this.#q.setEnd.run(end, link, part.dir);
    return end;
  }

  markReady(link: string, dir: string, ready: number): void {
    this.#q.ensureStream.run(link, dir);
    this.#q.setReady.run(ready, link, dir);
  }

  linkSeq(link: string): { next: number; acked: number } {
    this.#q.ensureLink.run(link);
    const r = this.#q.link.get(link)!;
    return { next: r.next_seq, acked: r.acked_seq };
  }

  setNextSeq(link: string, next: number): void {
    this.#q.ensureLink.run(link);
    this.#q.setNextSeq.run(next, link);
  }

  setAcked(link: string, acked: number): void {
    this.#q.ensureLink.run(link);
    this.#q.setAcked.run(acked, link);
  }

  /** The producer's chunks the peer has not acknowledged, grouped by seq. */
  unacked(link: string): { seq: number; parts: ChunkPart[] }[] {
    const { acked } = this.linkSeq(link);
    const bySeq = new Map<number, ChunkPart[]>();
    for (const r of this.#q.unacked.all(link, acked)) {
      const parts = bySeq.get(r.seq) ?? [];
      const last = parts.at(-1);
      // Rows of one chunk and direction are contiguous: join them back into one part.
      if (last && last.dir === r.dir && last.start + last.bytes.length === r.start)
        parts[parts.length - 1] = {
          dir: r.dir,
          start: last.start,
          bytes: Buffer.concat([last.bytes, r.bytes]),
        };
      else parts.push({ dir: r.dir, start: r.start, bytes: r.bytes });
      bySeq.set(r.seq, parts);
    }
    return [...bySeq].map(([seq, parts]) => ({ seq, parts }));
  }

  // ---- keys ---------------------------------------------------------------------------------

  getKey(keyId: string): KeyRow | undefined {
    const r = this.#q.getKey.get(keyId);
    return r ? fromDb(r) : undefined;
  }

  /** Record a key (with bytes when it waits for slaves, null for an issued-only record). */
  putKey(k: KeyRow): void {
    if (this.#q.getKey.get(k.keyId)) throw new StoreError('DUPLICATE', `key_ID ${k.keyId} is already known`);
    this.#q.putKey.run(
      k.keyId,
      k.master,
      JSON.stringify(k.slaves),
      JSON.stringify(k.remaining),
      k.bits,
      k.key,
      k.origin,
      k.expires,
    );
  }

  /** Mark `sae` as served; the key's bytes are erased once every slave has them. */
  served(keyId: string, sae: string): void {
    const k = this.getKey(keyId);
    if (!k) throw new StoreError('NO_KEY', `key_ID ${keyId} not found`);
    const remaining = k.remaining.filter((s) => s !== sae);
    this.#q.updKey.run(JSON.stringify(remaining), remaining.length === 0 ? null : k.key, keyId);
  }

  /** Drop keys and key_ID records whose time has passed. Call inside write(). */
  expire(now: number): number {
    return this.#q.expire.run(now).changes;
  }

  waitingKeys(): { count: number; bits: number } {
    const r = this.#q.waiting.get()!;
    return { count: r.n, bits: r.bits ?? 0 };
  }
}

interface KeyRowDb {
  key_id: string;
  master: string;
  slaves: string;
  remaining: string;
  bits: number;
  key: Buffer | null;
  origin: string;
  expires: number;
}

const fromDb = (r: KeyRowDb): KeyRow => ({
  keyId: r.key_id,
  master: r.master,
  slaves: JSON.parse(r.slaves) as string[],
  remaining: JSON.parse(r.remaining) as string[],
  bits: r.bits,
  key: r.key === null ? null : new Uint8Array(r.key),
  origin: r.origin,
  expires: r.expires,
});
