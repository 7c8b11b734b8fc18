/**
 * PostgreSQL row-level security: a read-only role of one organisation sees only that
 * organisation's identities, trust scores, datasets and transactions, reads block headers'
 * public columns but not header blobs, and can write nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { buildBlock } from '@qledger/core';
import pg from 'pg';
import { data, genesisJson, hashes, opts, party, register, tx } from '../../core/test/helpers/ledger.js';
import { grantOrgReader, initStore, type SqlChainStore } from '../src/storage/index.js';
import { PG_URL, pgSkip, postgresFactory } from './helpers/stores.js';

test('an organisation reader sees only its organisation', { skip: pgSkip }, async () => {
  const { store, location, drop } = await postgresFactory.fresh();
  const schema = new URL(location).searchParams.get('schema')!;
  const role = `reader_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    const g = await initStore(store, JSON.stringify(genesisJson()), opts);
    const [alice, bob, carol] = [party('alice', 1), party('bob', 2), party('carol', 3)];
    const b1 = buildBlock(
      g,
      [register(alice, { org: 'acme' }), register(bob, { org: 'globex' }), register(carol, { org: 'acme' })],
      { time: g.lastTime + 1, proposer: 'v1' },
      opts,
    );
    await store.append({ block: b1.block, hash: b1.hash, changes: b1.changes, state: b1.state });
    const h = hashes.sha3_256(new Uint8Array([1]));
    const b2 = buildBlock(
      b1.state,
      [
        data(alice, 1, 'acme secret'),
        data(bob, 1, 'globex secret'),
        tx(alice, 'dataset.register', 2, {
          id: 'acme-data',
          name: 'A',
          licence: 'MIT',
          contentHash: h,
          quality: 1,
        }),
        tx(bob, 'dataset.register', 2, {
          id: 'globex-data',
          name: 'G',
          licence: 'MIT',
          contentHash: h,
          quality: 1,
        }),
      ],
      { time: b1.state.lastTime + 1, proposer: 'v1' },
      opts,
    );
    await store.append({ block: b2.block, hash: b2.hash, changes: b2.changes, state: b2.state });

    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await grantOrgReader((store as SqlChainStore).db, schema, role, 'acme');

    const url = new URL(PG_URL!);
    url.username = role;
    url.password = password;
    const reader = new pg.Client({ connectionString: url.toString(), options: `-c search_path=${schema}` });
    await reader.connect();
    try {
      const q = async (sql: string) => (await reader.query(sql)).rows;
      assert.deepEqual(
        (await q('SELECT name FROM identities ORDER BY name')).map((r) => r.name),
        ['alice', 'carol'],
      );
      assert.deepEqual(
        (await q('SELECT name FROM trust ORDER BY name')).map((r) => r.name),
        ['alice', 'carol'],
      );
      assert.deepEqual(
        (await q('SELECT id FROM datasets')).map((r) => r.id),
        ['acme-data'],
      );
      const senders = (await q('SELECT DISTINCT sender FROM txs ORDER BY sender')).map((r) => r.sender);
      assert.deepEqual(senders, ['alice', 'carol']);
      assert.equal((await q('SELECT height FROM blocks')).length, 3, 'public header columns are readable');
      const own = await q('SELECT sender, bytes FROM org_txs ORDER BY height, idx');
      assert.deepEqual(
        [...new Set(own.map((r) => r.sender))].sort(),
        senders,
        'transaction bytes only of the own organisation',
      );
      assert.equal(own.length, 4);
      const mine = b2.block.txs[0]!;
      assert.ok(own.some((r) => Buffer.from(mine.bytes).equals(r.bytes)));
      await assert.rejects(reader.query('SELECT body FROM blocks'), /permission denied/);
      await assert.rejects(reader.query('SELECT header FROM blocks'), /permission denied/);
      await assert.rejects(reader.query('SELECT value FROM state'), /permission denied/);
      await assert.rejects(
        reader.query("INSERT INTO identities VALUES ('x','acme','a','b','active',0,1)"),
        /permission denied/,
      );
      await assert.rejects(
        reader.query("UPDATE trust SET score = 1000000 WHERE name = 'alice'"),
        /permission denied/,
      );
      await assert.rejects(
        reader.query("INSERT INTO org_access VALUES (current_user, 'globex')"),
        /permission denied/,
      );
      // the writer (table owner) still sees everything
      assert.equal((await (store as SqlChainStore).db.query('SELECT name FROM identities')).length, 3);
    } finally {
      await reader.end();
    }
  } finally {
    await store.close();
    await drop();
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin.end();
  }
});
