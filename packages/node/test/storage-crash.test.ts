/**
 * Crash safety: a writer process is killed with SIGKILL at random moments while appending,
 * many times. After every kill the store reopens at a consistent height whose saved state
 * (entries and accumulator) equals a replay of the stored chain from genesis.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { equalBytes, LedgerState, nobleBackend, parseGenesisText, toHex, verifyChain } from '@qledger/core';
import Database from 'better-sqlite3';
import { genesisJson, party } from '../../core/test/helpers/ledger.js';
import { nativeHashes } from '../src/crypto/index.js';
import { loadState, openStore, storedChain } from '../src/storage/index.js';
import { FACTORIES } from './helpers/stores.js';

const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const env = { hashes: nativeHashes, crypto: nobleBackend };
const KILLS = Number(process.env.QLEDGER_CRASH_KILLS ?? 12);
const ids = ['alice', 'bob', 'carol'].map((n, i) => {
  const p = party(n, 10 + i);
  return {
    name: n,
    sigAlg: 'ml-dsa-44',
    sigKey: toHex(p.sig.publicKey),
    kemAlg: 'ml-kem-768',
    kemKey: toHex(p.kem.publicKey),
    meta: { org: n },
  };
});
const genesisText = JSON.stringify(genesisJson({ identities: ids }));
const config = parseGenesisText(genesisText);

/** Runs the writer until it has appended `warm` more blocks plus a random extra delay, then SIGKILLs it. */
function runAndKill(location: string, genesisFile: string, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', writer, location, genesisFile],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let last = -1;
    let armed = false;
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.stdout.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      last = Number(lines[lines.length - 1]);
      if (!armed) {
        armed = true; // first append done: the writer is in its loop; kill it at a random moment
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`writer exited with ${code}: ${err}`));
    });
  });
}

for (const f of FACTORIES) {
  describe(`crash safety: ${f.kind}`, { skip: f.skip }, () => {
    test(`SIGKILL during appends, ${KILLS} times: every reopen is consistent with a replay`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'qledger-crash-'));
      const genesisFile = join(dir, 'genesis.json');
      writeFileSync(genesisFile, genesisText);
      const { store: first, location, drop } = await f.fresh();
      await first.close();
      let lastHeight = -1;
      try {
        for (let i = 0; i < KILLS; i++) {
          const printed = await runAndKill(location, genesisFile, randomInt(5, 400));
          if (f.kind === 'sqlite') {
            const db = new Database(location, { readonly: true });
            assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
            db.close();
          }
          const store = await openStore(location);
          try {
            const head = await store.head();
            assert.ok(head, 'genesis survives');
            // never behind what the writer reported as appended, at most the one in flight ahead
            assert.ok(
              head.height >= printed && head.height <= printed + 1,
              `head ${head.height}, writer printed ${printed}`,
            );
            assert.ok(head.height >= lastHeight, 'no committed block is lost');
            lastHeight = head.height;
            const saved = await loadState(store, env);
            const replay = await verifyChain(config, storedChain(store, config.params, nativeHashes), {
              ...env,
              mode: 'state',
            });
            assert.ok(replay.valid, replay.error?.message);
            assert.equal(replay.height, head.height);
            assert.ok(
              equalBytes(replay.state!.root(nativeHashes), saved.root(nativeHashes)),
              'saved accumulator = replay',
            );
            assert.deepEqual(saved.entries(), replay.state!.entries(), 'saved entries = replay');
            const recomputed = LedgerState.fromEntries(saved.entries(), saved, nativeHashes);
            assert.ok(
              equalBytes(recomputed.root(nativeHashes), saved.root(nativeHashes)),
              'accumulator = entries',
            );
            const stats = await store.stats();
            assert.equal(stats.transactions, head.height * 60);
            assert.equal(stats.datasets, head.height);
          } finally {
            await store.close();
          }
        }
        assert.ok(lastHeight >= KILLS, `the writer made progress (height ${lastHeight})`);
      } finally {
        await drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
