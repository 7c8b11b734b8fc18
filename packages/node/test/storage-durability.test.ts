/**
 * `durable: false` transactions on both drivers: inside one, the commit does not wait for the
 * disk; every other transaction, before and after it, still does (a vote must never be sent
 * before it is on disk). Checked through the databases' own settings.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { PostgresDriver } from '../src/storage/postgres.js';
import { SqliteDriver } from '../src/storage/sqlite.js';
import { PG_URL, pgSkip } from './helpers/stores.js';

describe('durable: false on SQLite', () => {
  test('relaxes synchronous for its own commit only, also when it fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qledger-durable-'));
    const db = new SqliteDriver(join(dir, 'x.sqlite'));
    const sync = async (d = db) =>
      Number((await d.query<{ synchronous: number }>('PRAGMA synchronous'))[0]!.synchronous);
    try {
      await db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
      assert.equal(await sync(), 2, 'FULL by default');
      let inside = -1;
      await db.transaction(
        async (tx) => {
          await tx.query('INSERT INTO t VALUES ($1, $2)', [1, new Uint8Array([1])]);
          inside = await sync();
        },
        { durable: false },
      );
      assert.equal(inside, 1, 'NORMAL inside');
      assert.equal(await sync(), 2, 'FULL again after it');
      await assert.rejects(
        db.transaction(
          async (tx) => {
            await tx.query('INSERT INTO t VALUES ($1, $2)', [2, new Uint8Array([2])]);
            throw new Error('boom');
          },
          { durable: false },
        ),
        /boom/,
      );
      assert.equal(await sync(), 2, 'FULL again after a failed one');
      assert.deepEqual(
        (await db.query<{ k: number }>('SELECT k FROM t')).map((r) => r.k),
        [1],
        'the failed one rolled back',
      );
      await db.transaction(async () => {
        inside = await sync();
      });
      assert.equal(inside, 2, 'an ordinary transaction stays FULL');
      // A write on its own (the consensus snapshot is saved so) is a durable transaction too.
      const before = db.durableCommits;
      await db.query('INSERT INTO t VALUES ($1, $2)', [4, new Uint8Array([4])]);
      await db.insertMany('t', ['k', 'v'], [[5, new Uint8Array([5])]]);
      assert.equal(db.durableCommits, before + 2, 'each lone write was a FULL commit of its own');
      // A store opened NORMAL is not raised to FULL by a relaxed transaction.
      const normal = new SqliteDriver(join(dir, 'y.sqlite'), { synchronous: 'NORMAL' });
      await normal.transaction(async () => {}, { durable: false });
      assert.equal(await sync(normal), 1);
      await normal.close();
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a write on its own waits for the transaction under way instead of joining it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qledger-durable-'));
    const db = new SqliteDriver(join(dir, 'x.sqlite'));
    try {
      await db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let opened!: () => void;
      const inside = new Promise<void>((r) => (opened = r));
      const first = db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES ($1)', [1]);
        opened();
        await held;
        throw new Error('rolled back');
      });
      await inside; // the transaction is open on the connection
      const lone = db.query('INSERT INTO t VALUES ($1)', [2]);
      await new Promise((r) => setTimeout(r, 20));
      release();
      await assert.rejects(first, /rolled back/);
      await lone;
      assert.deepEqual(
        (await db.query<{ k: number }>('SELECT k FROM t')).map((r) => r.k),
        [2],
        'the lone write survived the rollback of the transaction it would have slipped into',
      );
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('durable: false on PostgreSQL', { skip: pgSkip }, () => {
  test('commits asynchronously inside it only', async () => {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = new PostgresDriver({ url: PG_URL!, schema, maxConnections: 1 });
    const setting = async (d: { query: PostgresDriver['query'] }) =>
      (await d.query<{ synchronous_commit: string }>('SHOW synchronous_commit'))[0]!.synchronous_commit;
    try {
      await db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
      let inside = '';
      await db.transaction(
        async (tx) => {
          await tx.query('INSERT INTO t VALUES ($1)', [1]);
          inside = await setting(tx);
        },
        { durable: false },
      );
      assert.equal(inside, 'off');
      // One pooled connection: the next transaction runs on the same session.
      await db.transaction(async (tx) => {
        inside = await setting(tx);
      });
      assert.equal(inside, 'on', 'SET LOCAL ended with its transaction');
      assert.equal(Number((await db.query<{ n: unknown }>('SELECT count(*) AS n FROM t'))[0]!.n), 1);
    } finally {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  });
});
