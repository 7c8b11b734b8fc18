/**
 * One compliance suite for every ChainStore implementation (SQLite and PostgreSQL), run
 * against real databases.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Block,
  buildBlock,
  DEFAULT_PARAMS,
  equalBytes,
  genesisBlock,
  hasCode,
  type LedgerState,
  parseGenesisText,
  STATE_KEYS,
  toHex,
} from '@qledger/core';
import { data, genesisJson, hashes, opts, party, register, tx } from '../../core/test/helpers/ledger.js';
import { initStore, loadState, openStore, storedChain, toBlock } from '../src/storage/index.js';
import type { ChainStore } from '../src/storage/types.js';
import { FACTORIES } from './helpers/stores.js';

const alice = party('alice', 1);
const bob = party('bob', 2);
const genesisText = JSON.stringify(genesisJson());
const H = hashes.sha3_256(new TextEncoder().encode('dataset'));

async function appendNext(
  store: ChainStore,
  state: LedgerState,
  txs: Parameters<typeof buildBlock>[1],
  proposer = 'v1',
) {
  const b = buildBlock(state, txs, { time: state.lastTime + 1000, proposer }, opts);
  await store.append({ block: b.block, hash: b.hash, changes: b.changes, state: b.state });
  return b;
}

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => hasCode(e, code));
}

for (const f of FACTORIES) {
  describe(`ChainStore compliance: ${f.kind}`, { skip: f.skip }, () => {
    test('an empty store has no head, no genesis, and refuses appends', async () => {
      const { store, drop } = await f.fresh();
      try {
        assert.equal(await store.head(), null);
        assert.equal(await store.genesisText(), null);
        assert.equal(await store.loadState(), null);
        const g = buildBlock(initless(), [], { time: 1, proposer: 'v1' }, opts);
        await rejects(
          store.append({ block: g.block, hash: g.hash, changes: g.changes, state: g.state }),
          'STORE_NOT_INITIALISED',
        );
        assert.deepEqual(await store.stats(), {
          height: -1,
          blocks: 0,
          transactions: 0,
          identities: 0,
          datasets: 0,
        });
      } finally {
        await store.close();
        await drop();
      }
    });

    test('commit certificates, the consensus snapshot, local records and used QKD key_IDs persist across a reopen', async () => {
      const { store, location, drop } = await f.fresh();
      let reopened: ChainStore | undefined;
      try {
        const state = await initStore(store, genesisText, opts);
        const b = buildBlock(state, [register(alice)], { time: state.lastTime + 1, proposer: 'v1' }, opts);
        const cert = new Uint8Array([1, 2, 3, 250]);
        // Appended as a validator appends a decided block: not waiting for the disk.
        await store.append(
          { block: b.block, hash: b.hash, changes: b.changes, state: b.state, cert },
          { durable: false },
        );
        assert.equal((await store.head())?.height, 1, 'readable at once');
        assert.equal(await store.consensus(), null);
        await store.saveConsensus(new Uint8Array([9]));
        await store.saveConsensus(new Uint8Array([7, 7]));
        await store.saveLocal({ 'beacon:5': new Uint8Array([5, 5]), 'beacon:6': new Uint8Array([6]) });
        await store.saveLocal({ 'beacon:6': new Uint8Array([6, 6]), 'beacon:7': new Uint8Array([7]) });
        await store.saveLocal({ 'beacon:7': null, 'beacon:8': null });
        await store.recordKeyIds('v1|v2', ['k1', 'k2']);
        await store.recordKeyIds('v1|v3', ['k1']); // the same id on another link is another key
        // A batch with one used id is refused whole: k3 stays unrecorded.
        await rejects(store.recordKeyIds('v1|v2', ['k3', 'k2']), 'STORE_KEY_REUSED');
        await store.close();
        reopened = await openStore(location);
        assert.deepEqual((await reopened.blockByHeight(1))?.cert, cert);
        assert.equal((await reopened.blockByHeight(0))?.cert, null);
        for await (const sb of reopened.blocks(1, 1)) assert.deepEqual(sb.cert, cert);
        assert.deepEqual(await reopened.consensus(), new Uint8Array([7, 7]));
        assert.deepEqual(await reopened.local('beacon:5'), new Uint8Array([5, 5]));
        assert.deepEqual(await reopened.local('beacon:6'), new Uint8Array([6, 6]));
        assert.equal(await reopened.local('beacon:7'), null);
        assert.equal(await reopened.local('consensus'), null, 'local records have their own namespace');
        await rejects(reopened.recordKeyIds('v1|v2', ['k1']), 'STORE_KEY_REUSED');
        await reopened.recordKeyIds('v1|v2', ['k3']);
      } finally {
        await (reopened ?? store).close().catch(() => {});
        await drop();
      }
    });

    test('blocks, transactions, identities, trust and datasets read back exactly; stats count them', async () => {
      const { store, location, drop } = await f.fresh();
      try {
        let state = await initStore(store, genesisText, opts);
        await rejects(initStore(store, genesisText, opts), 'STORE_ALREADY_INITIALISED');
        const blocks: Block[] = [];
        let b = await appendNext(store, state, [
          register(alice, { org: 'acme' }),
          register(bob, { org: 'globex' }),
        ]);
        blocks.push(b.block);
        b = await appendNext(store, b.state, [
          data(alice, 1),
          tx(alice, 'trust.record', 2, { user: 'bob', action: 'rating', target: 'x' }),
          tx(alice, 'dataset.register', 3, {
            id: 'music-1',
            name: 'Open Music',
            licence: 'CC-BY-4.0',
            contentHash: H,
            quality: 900_000,
          }),
          tx(bob, 'dataset.register', 1, {
            id: 'weather',
            name: 'Weather 2026',
            licence: 'CC0-1.0',
            contentHash: H,
            quality: 700_000,
          }),
        ]);
        blocks.push(b.block);
        b = await appendNext(
          store,
          b.state,
          [tx(bob, 'dataset.verify', 2, { id: 'music-1', contentHash: H })],
          'v2',
        );
        blocks.push(b.block);
        state = b.state;

        const head = await store.head();
        assert.equal(head?.height, 3);
        assert.ok(equalBytes(head!.hash, b.hash));
        const byH = await store.blockByHeight(2);
        const byHash = await store.blockByHash(byH!.hash);
        assert.deepEqual(byH, byHash);
        const decoded = toBlock(byH!, DEFAULT_PARAMS, hashes);
        assert.ok(equalBytes(decoded.header.stateRoot, blocks[1]!.header.stateRoot));
        assert.deepEqual(
          decoded.txs.map((t) => toHex(t.id)),
          blocks[1]!.txs.map((t) => toHex(t.id)),
        );
        assert.equal(await store.blockByHeight(99), null);

        const t = blocks[1]!.txs[2]!;
        const st = await store.transaction(t.id);
        assert.deepEqual([st?.height, st?.index, st?.kind, st?.sender], [2, 2, 'dataset.register', 'alice']);
        assert.ok(equalBytes(st!.bytes, t.bytes));
        assert.equal(await store.transaction(new Uint8Array(32)), null);

        assert.equal((await store.identity('alice'))?.meta.org, 'acme');
        assert.equal(await store.identity('nobody'), null);
        assert.equal(await store.trustScore('bob'), 530_000);
        const music = await store.dataset('music-1');
        assert.deepEqual([music?.verified, music?.verifications, music?.owner], [true, 1, 'alice']);
        assert.deepEqual(
          (await store.datasets({ search: 'OPEN' })).map((d) => d.id),
          ['music-1'],
        );
        assert.deepEqual(
          (await store.datasets({})).map((d) => d.id),
          ['music-1', 'weather'],
        );
        assert.deepEqual(
          (await store.datasets({ limit: 1, after: 'music-1' })).map((d) => d.id),
          ['weather'],
        );
        assert.deepEqual(await store.datasets({ search: '%' }), [], 'LIKE wildcards in a search are literal');
        assert.deepEqual(await store.stats(), {
          height: 3,
          blocks: 4,
          transactions: 7,
          identities: 2,
          datasets: 2,
        });

        // a range streams in order; a reopen sees the same chain and the same state root
        const heights: number[] = [];
        for await (const sb of store.blocks(1, 3)) heights.push(sb.height);
        assert.deepEqual(heights, [1, 2, 3]);
        await store.close();
        const again = await openStore(location);
        try {
          const loaded = await loadState(again, opts);
          assert.ok(equalBytes(loaded.root(hashes), state.root(hashes)));
          assert.equal(loaded.height, 3);
          assert.deepEqual(loaded.entries(), state.entries());
          let n = 0;
          for await (const blk of storedChain(again, DEFAULT_PARAMS, hashes))
            assert.equal(blk.header.height, n++);
          assert.equal(n, 4);
        } finally {
          await again.close();
        }
      } finally {
        await drop();
      }
    });

    test('a block that does not extend the head is refused and changes nothing', async () => {
      const { store, drop } = await f.fresh();
      try {
        const g = await initStore(store, genesisText, opts);
        const b1 = await appendNext(store, g, [register(alice)]);
        const before = await store.stats();
        // same height again (a competing block), and a block whose parent is not the head
        const rival = buildBlock(g, [register(bob)], { time: g.lastTime + 5, proposer: 'v2' }, opts);
        await rejects(
          store.append({ block: rival.block, hash: rival.hash, changes: rival.changes, state: rival.state }),
          'STORE_CONFLICT',
        );
        const skip = buildBlock(b1.state, [], { time: b1.state.lastTime + 1, proposer: 'v1' }, opts);
        const skip2 = buildBlock(skip.state, [], { time: skip.state.lastTime + 1, proposer: 'v1' }, opts);
        await rejects(
          store.append({ block: skip2.block, hash: skip2.hash, changes: skip2.changes, state: skip2.state }),
          'STORE_CONFLICT',
        );
        assert.deepEqual(await store.stats(), before);
        assert.equal(await store.identity('bob'), null);
      } finally {
        await store.close();
        await drop();
      }
    });

    test('a write that fails half-way leaves no trace (one database transaction per block)', async () => {
      const { store, drop } = await f.fresh();
      try {
        const g = await initStore(store, genesisText, opts);
        const b = buildBlock(
          g,
          [register(alice), register(bob)],
          { time: g.lastTime + 1, proposer: 'v1' },
          opts,
        );
        // The same transaction twice: the block row and the first tx row are written, then the
        // second tx row violates the primary key inside the database.
        const broken = { ...b.block, txs: [b.block.txs[0]!, b.block.txs[0]!] };
        await assert.rejects(
          store.append({ block: broken, hash: b.hash, changes: b.changes, state: b.state }),
        );
        assert.equal(await store.blockByHeight(1), null);
        assert.equal(await store.identity('alice'), null);
        assert.equal((await store.stats()).transactions, 0);
        await store.append({ block: b.block, hash: b.hash, changes: b.changes, state: b.state });
        assert.equal((await store.head())?.height, 1);
      } finally {
        await store.close();
        await drop();
      }
    });

    test('two writers racing for one height: exactly one wins', async () => {
      const { store, location, drop } = await f.fresh();
      const second = await openStore(location);
      try {
        const g = await initStore(store, genesisText, opts);
        const x = buildBlock(g, [register(alice)], { time: g.lastTime + 1, proposer: 'v1' }, opts);
        const y = buildBlock(g, [register(bob)], { time: g.lastTime + 2, proposer: 'v2' }, opts);
        const results = await Promise.allSettled([
          store.append({ block: x.block, hash: x.hash, changes: x.changes, state: x.state }),
          second.append({ block: y.block, hash: y.hash, changes: y.changes, state: y.state }),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.ok(
          hasCode(lost.reason, 'STORE_CONFLICT') || /busy|locked/i.test(String(lost.reason)),
          String(lost.reason),
        );
        assert.equal((await store.head())?.height, 1);
        assert.equal((await store.stats()).identities, 1);
      } finally {
        await second.close();
        await store.close();
        await drop();
      }
    });
  });
}

/** A genesis state that no store holds, to build a block for an uninitialised store. */
function initless(): LedgerState {
  return genesisBlock(parseGenesisText(genesisText), hashes).state;
}

test('the state key helpers the store projects from are stable', () => {
  assert.equal(STATE_KEYS.identity('a'), 'id:a');
  assert.equal(STATE_KEYS.dataset('d'), 'ds:d');
});
