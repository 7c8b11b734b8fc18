/**
 * The KME store's group commit with durability `full`: writes are answered only after the
 * log has been synced (off the event loop), close() answers what is still being synced, and
 * the checkpointer thread keeps the write-ahead log from growing without bound.
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
