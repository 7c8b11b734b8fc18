import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Block,
  genesisBlock,
  inlineChecker,
  Mempool,
  parseGenesis,
  STATE_KEYS,
  type TxEnvelope,
  verifyChain,
} from '../src/index.js';
import {
  crypto,
  data,
  genesis,
  genesisJson,
  hashes,
  next,
  opts,
  outcome,
  party,
  register,
  tx,
} from './helpers/ledger.js';

const alice = party('alice', 1);
const bob = party('bob', 2);

function chain(n: number): { config: ReturnType<typeof genesis>['config']; blocks: Block[] } {
  const g = genesis();
  const blocks: Block[] = [g.block];
  let s = next(g.state, [register(alice), register(bob)]);
  blocks.push(s.block);
  for (let i = 0; i < n; i++) {
    s = next(
      s.state,
      [data(alice, 1 + i, `a${i}`), data(bob, 1 + i, `b${i}`)],
      ['v1', 'v2', 'v3', 'v4'][i % 4],
    );
    blocks.push(s.block);
  }
  return { config: g.config, blocks };
}

test('a valid chain verifies in every mode, inline and with a batch checker', async () => {
  const { config, blocks } = chain(6);
  for (const mode of ['full', 'state', 'headers'] as const) {
    const r = await verifyChain(config, blocks, { ...opts, mode });
    assert.ok(r.valid, `${mode}: ${r.error?.message}`);
    assert.equal(r.height, 7);
    assert.equal(r.transactions, 14);
  }
  const r = await verifyChain(config, blocks, { ...opts, checker: inlineChecker(crypto), window: 2 });
  assert.ok(r.valid);
  assert.equal(r.state?.get(STATE_KEYS.seq('bob')), 7);
});

test('a forged signature deep in the chain is reported at its height and index, whichever checker runs', async () => {
  const { config, blocks } = chain(6);
  const b = blocks[5]!;
  const t = b.txs[1]!;
  const sig = t.tx.sig.slice();
  sig[10]! ^= 1;
  const forged = { ...t, tx: { ...t.tx, sig } } as typeof t;
  const bad = [...blocks.slice(0, 5), { ...b, txs: [b.txs[0]!, forged] }, ...blocks.slice(6)];
  for (const o of [opts, { ...opts, checker: inlineChecker(crypto), window: 3 }]) {
    const r = await verifyChain(config, bad, o);
    assert.ok(!r.valid);
    assert.deepEqual([r.error?.height, r.error?.code, r.error?.index], [5, 'TX_BAD_SIGNATURE', 1]);
    assert.equal(r.height, 4);
  }
  // signatures are not part of the header or state checks
  assert.ok((await verifyChain(config, bad, { ...opts, mode: 'state' })).valid);
});

test('broken links, roots and genesis are reported at the first bad height', async () => {
  const { config, blocks } = chain(4);
  const cut = [...blocks.slice(0, 3), ...blocks.slice(4)];
  for (const mode of ['full', 'headers'] as const) {
    const r = await verifyChain(config, cut, { ...opts, mode });
    assert.deepEqual([r.valid, r.error?.height, r.error?.code], [false, 4, 'BLOCK_HEIGHT']);
  }
  const other = genesisBlock(parseGenesis(genesisJson({ chainId: 'othernet' })), hashes);
  const r = await verifyChain(config, [other.block, ...blocks.slice(1)], opts);
  assert.equal(r.error?.code, 'GENESIS_MISMATCH');
  const empty = await verifyChain(config, [], opts);
  assert.equal(empty.valid, false);
});

test('mempool: only valid transactions, pending sequence numbers, duplicates and a full pool are coded', () => {
  const g = genesis();
  const s = next(g.state, [register(alice), register(bob)]).state;
  const pool = new Mempool(s, { maxTxs: 3, maxBytes: 1 << 20, ...opts });
  const now = s.lastTime + 1000;
  const a1 = data(alice, 1);
  pool.add(a1, now);
  pool.add(data(alice, 2), now); // valid on top of the pending a1
  assert.equal(
    outcome(() => pool.add(a1, now)),
    'MEMPOOL_DUPLICATE',
  );
  assert.equal(
    outcome(() => pool.add(data(alice, 4), now)),
    'TX_SEQ_GAP',
  );
  assert.equal(
    outcome(() => pool.add(data(bob, 1, 'x'), now)),
    'ok',
  );
  assert.equal(
    outcome(() => pool.add(data(bob, 2), now)),
    'MEMPOOL_FULL',
  );
  assert.equal(
    outcome(() => pool.add(tx(bob, 'data', 2, { payload: new Uint8Array(0) }, {}, alice.sig.secretKey), now)),
    'MEMPOOL_FULL',
  );
  assert.equal(pool.size, 3);
  // take → build → rebase: committed ones leave, the rest stay valid
  const take = pool.take(2, 1 << 20);
  const b = next(s, take);
  const dropped = pool.rebase(
    b.state,
    take.map((t) => t.id),
    now,
  );
  assert.equal(dropped.length, 0);
  assert.equal(pool.size, 1);
  // a competing block that used bob's seq 1 elsewhere makes the pending one invalid
  const other = next(s, [data(bob, 1, 'elsewhere')]);
  const pool2 = new Mempool(s, { maxTxs: 10, maxBytes: 1 << 20, ...opts });
  pool2.add(data(bob, 1, 'mine'), now);
  const d2 = pool2.rebase(other.state, [], now);
  assert.deepEqual(
    d2.map((d) => d.error.code),
    ['TX_SEQ_REPLAY'],
  );
  assert.equal(pool2.size, 0);
  const small = new Mempool(s, { maxTxs: 10, maxBytes: 100, ...opts });
  assert.equal(
    outcome(() => small.add(data(alice, 1), now)),
    'MEMPOOL_FULL',
  );
  assert.equal(small.size, 0);
});

test('mempool with deferred signatures: checks handed out, nothing taken before it is verified, removal and rebase', () => {
  const g = genesis();
  const s = next(g.state, [register(alice), register(bob)]).state;
  let verifies = 0;
  const counting = {
    ...crypto,
    signer: (alg: Parameters<typeof crypto.signer>[0]) => {
      const real = crypto.signer(alg);
      const verify = (...a: Parameters<typeof real.verify>) => {
        verifies++;
        return real.verify(...a);
      };
      return { ...real, verify };
    },
  };
  const pool = new Mempool(s, { maxTxs: 10, maxBytes: 1 << 20, hashes, crypto: counting });
  const now = s.lastTime + 1000;
  const a1 = data(alice, 1);
  const forged = tx(alice, 'data', 2, { payload: new Uint8Array(1) }, {}, bob.sig.secretKey);
  const b1 = data(bob, 1);
  const checks = pool.add(a1, now, { deferSignatures: true });
  assert.equal(checks.length, 1);
  assert.deepEqual(checks[0]!.publicKey, alice.sig.publicKey);
  assert.deepEqual(checks[0]!.signature, a1.tx.sig);
  pool.add(forged, now, { deferSignatures: true }); // admitted on seq; its signature is pending
  pool.add(b1, now); // checked here
  assert.equal(verifies, 1);
  assert.deepEqual(pool.take(10, 1 << 20), [], 'a1 is not verified yet');
  pool.markVerified(a1.id);
  assert.deepEqual(pool.take(10, 1 << 20), [a1], 'stops at the unverified forged transaction');
  // The forged one fails its check: removing it keeps the others.
  assert.deepEqual(pool.remove([forged.id], now), []);
  assert.deepEqual(pool.take(10, 1 << 20), [a1, b1]);
  // A revocation reads the height, so every rebase applies it again (and shows it to keep).
  const revoke = tx(bob, 'identity.revoke', 2, { by: 'self', reason: 'lost' });
  pool.add(revoke, now, { deferSignatures: true });
  pool.markVerified(revoke.id);
  // Rebase with keep: no signature is checked again; keep = false drops with a coded error.
  // b1 is replayed (it read what it read on admission), so keep is not asked about it.
  const before = verifies;
  const committed = next(s, [a1]).state;
  const asked: TxEnvelope[] = [];
  const dropped = pool.rebase(committed, [a1.id], now, (env) => {
    asked.push(env);
    return env !== revoke;
  });
  assert.equal(verifies, before);
  assert.deepEqual(asked, [revoke]);
  assert.deepEqual(
    dropped.map((d) => [d.env, d.error.code]),
    [[revoke, 'TX_BAD_SIGNATURE']],
  );
  assert.deepEqual(pool.take(10, 1 << 20), [b1]);
});
