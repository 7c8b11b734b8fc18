/**
 * The KME store's group commit with durability `full`: writes are answered only after the
 * log has been synced (off the event loop), close() answers what is still being synced, and
 * the checkpointer thread keeps the write-ahead log from growing without bound; syncs overlap
 * (at most two at once) and stage() hands a result back before its commit is durable.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KmeStore } from '@qledger/kme';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tempDb(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-kme-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'kme.sqlite');
}

test('writes answered under durability full are there after reopening; close() answers writes still syncing', async (t) => {
  const path = tempDb(t);
  const store = new KmeStore(path, 'full');
  const answered: number[] = [];
  const writes = Array.from({ length: 50 }, (_, i) =>
    store
      .write(() => store.append('ab', { dir: 'a', start: i * 32, bytes: new Uint8Array(32).fill(i) }, i + 1))
      .then(() => answered.push(i)),
  );
  // Some writes are committed and waiting for their sync when close() comes.
  await writes[0];
  store.write(() => store.setNextSeq('ab', 99));
  store.close();
  await Promise.all(writes);
  assert.equal(answered.length, 50);
  const again = new KmeStore(path, 'full');
  try {
    assert.equal(again.level('ab', 'a').end, 50 * 32);
    assert.equal(again.linkSeq('ab').next, 99);
  } finally {
    again.close();
  }
});

test('the checkpointer thread copies the log into the database file', async (t) => {
  const path = tempDb(t);
  const store = new KmeStore(path, 'full');
  const row = new Uint8Array(1024);
  let start = 0;
  // 8 MiB in 64 separate commits spread over about 1.3 s. This connection never
  // checkpoints (wal_autocheckpoint = 0): without the checkpointer, the database file would
  // stay at its empty schema and everything would sit in the log.
  for (let batch = 0; batch < 64; batch++) {
    await store.write(() => {
      for (let i = 0; i < 128; i++) {
        store.append('ab', { dir: 'a', start, bytes: row }, batch + 1);
        start += row.length;
      }
    });
    await sleep(20);
  }
  await sleep(600); // two checkpoint periods
  const db = statSync(path).size;
  store.close();
  assert.ok(db > 8 * 1024 * 1024, `the database file holds only ${db} bytes`);
  const again = new KmeStore(path, 'full');
  try {
    assert.equal(again.level('ab', 'a').end, start);
  } finally {
    again.close();
  }
});

test('a commit starts its sync while the previous one is still under way, never more than two at once', async (t) => {
  const path = tempDb(t);
  const store = new KmeStore(path, 'full');
  const answered: number[] = [];
  const pending: Promise<unknown>[] = [];
  // One write per event-loop turn: each turn commits on its own, so commits keep arriving
  // while earlier syncs run.
  for (let i = 0; i < 200; i++) {
    pending.push(
      store
        .write(() =>
          store.append('ab', { dir: 'a', start: i * 32, bytes: new Uint8Array(32).fill(i) }, i + 1),
        )
        .then(() => answered.push(i)),
    );
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pending);
  const s = store.stats;
  assert.equal(answered.length, 200);
  assert.equal(s.maxConcurrentSyncs, 2, JSON.stringify(s));
  assert.ok(s.syncs > 1 && s.syncs <= s.commits, JSON.stringify(s));
  // Everything answered is in the file: a crash (the open transaction lost) keeps it all.
  store.crash();
  const again = new KmeStore(path, 'full');
  try {
    assert.equal(again.level('ab', 'a').end, 200 * 32);
  } finally {
    again.close();
  }
});

test('stage() hands back the result at once and resolves durable after the commit; a throw undoes only its own changes', async (t) => {
  const path = tempDb(t);
  const store = new KmeStore(path, 'full');
  const first = store.stage(() => store.append('ab', { dir: 'a', start: 0, bytes: new Uint8Array(64) }, 1));
  assert.equal(first.value, 64);
  assert.equal(store.stats.commits, 0);
  assert.throws(
    () =>
      store.stage(() => {
        store.setNextSeq('ab', 7);
        store.append('ab', { dir: 'a', start: 999, bytes: new Uint8Array(8) }, 2);
      }),
    /expects 64, got 999/,
  );
  await first.durable;
  assert.equal(store.stats.commits, 1);
  store.crash();
  const again = new KmeStore(path, 'full');
  try {
    assert.equal(again.level('ab', 'a').end, 64);
    assert.equal(again.linkSeq('ab').next, 0);
  } finally {
    again.close();
  }
  // A closed store refuses at once.
  assert.throws(() => again.stage(() => 1), /closed/);
});
