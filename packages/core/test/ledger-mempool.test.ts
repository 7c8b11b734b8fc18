/**
 * Mempool.rebase replays a pending transaction's recorded writes when nothing it read changed
 * (ledger/mempool.ts). Checked here against the plain reference (`replay: false`, every
 * pending transaction applied again) on random schedules of admissions, blocks (with
 * transactions from outside the pool), removals, key rotations, revocations, registrations
 * and beacon transactions, whose validity depends on the height.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  buildBlock,
  decodeTx,
  encode,
  epochOf,
  genesisBlock,
  type LedgerState,
  Mempool,
  parseGenesis,
  type QledgerError,
  type SigCheck,
  STATE_KEYS,
  type TxEnvelope,
  toHex,
  txIdHex,
} from '../src/index.js';
import { CHAIN, crypto, genesisJson, hashes, outcome, party, VALIDATORS } from './helpers/ledger.js';

const PEOPLE = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'].map((n, i) => party(n, 10 + i));
/** ann, bob, cat and dan are registered at genesis; eve and fay may register later. */
const AT_GENESIS = 4;
const EPOCH = 4;

const config = parseGenesis(
  genesisJson({
    params: { epochLength: EPOCH },
    identities: PEOPLE.slice(0, AT_GENESIS).map((p) => ({
      name: p.name,
      sigAlg: 'ml-dsa-44',
      sigKey: toHex(p.sig.publicKey),
      kemAlg: 'ml-kem-768',
      kemKey: toHex(p.kem.publicKey),
    })),
  }),
);

/** A transaction with a stand-in signature: signatures are deferred, never checked here. */
function fake(
  from: string,
  kind: string,
  seq: number,
  body: Record<string, unknown>,
  salt: number,
): TxEnvelope {
  const t = {
    v: 1,
    chain: CHAIN,
    kind,
    from,
    seq,
    alg: 'ml-dsa-44',
    body,
    sig: new Uint8Array(2420).fill(salt),
  };
  return decodeTx(encode(t as never), config.params, hashes);
}

type Op = { op: number; who: number; delta: number; k: number; salt: number };

const opArb: fc.Arbitrary<Op> = fc.record({
  op: fc.integer({ min: 0, max: 15 }),
  who: fc.nat({ max: 1000 }),
  delta: fc.constantFrom(-1, 0, 0, 0, 0, 1),
  k: fc.nat({ max: 1000 }),
  salt: fc.nat({ max: 255 }),
});

const idsOf = (txs: readonly TxEnvelope[]) => txs.map((t) => toHex(t.id));
const dropsOf = (d: { env: TxEnvelope; error: QledgerError }[]) =>
  d.map((x) => `${toHex(x.env.id)} ${x.error.code}`);

/** Runs one schedule on both pools, comparing them after every step; returns the fast pool's counts. */
function run(ops: readonly Op[]): { replayed: number; applied: number } {
  let state: LedgerState = genesisBlock(config, hashes).state;
  const opts = { maxTxs: 400, maxBytes: 1 << 24, hashes, crypto };
  const fast = new Mempool(state, opts);
  const ref = new Mempool(state, { ...opts, replay: false });
  // The runtime's keep: a transaction stays while the checks it needs are those it passed.
  const passed = new Map<string, readonly SigCheck[]>();
  const keep = (env: TxEnvelope, checks: readonly SigCheck[]) => {
    const had = passed.get(toHex(env.id)) ?? [];
    return checks.every((c) => had.some((d) => d.alg === c.alg && toHex(d.publicKey) === toHex(c.publicKey)));
  };
  let now = state.lastTime + 1000;
  const pending = () => ref.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const nextSeq = (name: string) =>
    ((state.get(STATE_KEYS.seq(name)) as number | undefined) ?? 0) +
    pending().filter((t) => t.tx.from === name && !t.tx.kind.startsWith('beacon.')).length;
  const admit = (env: TxEnvelope) => {
    let checks: SigCheck[] = [];
    const a = outcome(() => {
      checks = fast.add(env, now, { deferSignatures: true });
    });
    let refChecks: SigCheck[] = [];
    const b = outcome(() => {
      refChecks = ref.add(env, now, { deferSignatures: true });
    });
    assert.equal(a, b, 'add');
    assert.deepEqual(checks, refChecks);
    if (a === 'ok') {
      passed.set(toHex(env.id), checks);
      fast.markVerified(env.id);
      ref.markVerified(env.id);
    }
  };
  for (const o of ops) {
    const p = PEOPLE[o.who % PEOPLE.length]!;
    const other = PEOPLE[(o.who + 1 + (o.k % (PEOPLE.length - 1))) % PEOPLE.length]!;
    const seq = Math.max(0, nextSeq(p.name) + o.delta);
    if (o.op <= 5) admit(fake(p.name, 'data', seq, { payload: new Uint8Array([o.k & 255, o.salt]) }, o.salt));
    else if (o.op === 6)
      admit(
        fake(
          p.name,
          'identity.register',
          0,
          { sigKey: p.sig.publicKey, kemAlg: 'ml-kem-768', kemKey: p.kem.publicKey, meta: {} },
          o.salt,
        ),
      );
    else if (o.op === 7)
      // A new signing key (another party's): the rotation's proof of possession is deferred too.
      admit(
        fake(
          p.name,
          'identity.rotate',
          seq,
          { sigAlg: 'ml-dsa-44', sigKey: other.sig.publicKey, pop: new Uint8Array(2420).fill(o.salt) },
          o.salt,
        ),
      );
    else if (o.op === 8) admit(fake(p.name, 'identity.revoke', seq, { by: 'self', reason: 'lost' }, o.salt));
    else if (o.op === 9)
      admit(
        fake(p.name, 'trust.record', seq, { user: other.name, action: 'interaction', target: 't' }, o.salt),
      );
    else if (o.op === 10) {
      const v = VALIDATORS[o.who % VALIDATORS.length]!;
      const epoch = epochOf(state.height + 1, EPOCH) + 1 + (o.k % 3);
      admit(fake(v.name, 'beacon.commit', 0, { epoch, commitment: new Uint8Array(32).fill(o.salt) }, o.salt));
    } else if (o.op === 11) {
      const all = pending();
      if (all.length === 0) continue;
      const gone = all[o.k % all.length]!;
      assert.deepEqual(dropsOf(fast.remove([gone.id], now)), dropsOf(ref.remove([gone.id], now)), 'remove');
    } else {
      // A block: a prefix of the pool, sometimes after a transaction the pool never saw (which
      // takes its sender's next sequence number from under the pending ones).
      const all = pending();
      let txs = all.slice(0, o.k % (all.length + 1));
      if (o.op >= 14) {
        const s = (state.get(STATE_KEYS.seq(p.name)) as number | undefined) ?? 0;
        const intruder = fake(p.name, 'data', s, { payload: new Uint8Array([9, 9, o.salt]) }, o.salt);
        if (
          outcome(() =>
            buildBlock(state, [intruder], { time: now, proposer: 'v1' }, { ...opts, signatures: 'defer' }),
          ) === 'ok'
        )
          txs = [intruder, ...txs.filter((t) => t.tx.from !== p.name)];
      }
      const built = buildBlock(state, txs, { time: now, proposer: 'v1' }, { ...opts, signatures: 'defer' });
      state = built.state;
      now += 1 + (o.salt % 3) * 1000;
      const ids = txs.map((t) => t.id);
      assert.deepEqual(
        dropsOf(fast.rebase(state, ids, now, keep)),
        dropsOf(ref.rebase(state, ids, now, keep)),
        'rebase',
      );
    }
    assert.deepEqual(idsOf(fast.take(1e9, 1e9)), idsOf(pending()), 'pool order');
    // The pool's promise: what it holds is a valid block on the chain's state, in order.
    buildBlock(state, fast.take(1e9, 1e9), { time: now, proposer: 'v1' }, { ...opts, signatures: 'defer' });
  }
  return { replayed: fast.stats.replayed, applied: fast.stats.applied };
}

test('mempool: replaying unchanged transactions after a block gives what applying them all again gives', () => {
  let replayed = 0;
  let applied = 0;
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 20, maxLength: 120 }), (ops) => {
      const r = run(ops);
      replayed += r.replayed;
      applied += r.applied;
    }),
    { numRuns: 150 },
  );
  // Both ways were taken: replays, and transactions applied again after a change.
  assert.ok(replayed > 300, `replayed ${replayed}`);
  assert.ok(applied > 100, `applied again ${applied}`);
});

test('mempool: data transactions behind a block are replayed, not applied again', () => {
  const state = genesisBlock(config, hashes).state;
  const pool = new Mempool(state, { maxTxs: 1000, maxBytes: 1 << 24, hashes, crypto });
  const senders = PEOPLE.slice(0, AT_GENESIS);
  const keyOf = new Map<string, Uint8Array>();
  for (let seq = 0; seq < 50; seq++)
    for (const p of senders) {
      const env = fake(p.name, 'data', seq, { payload: new Uint8Array([seq]) }, seq);
      const [check] = pool.add(env, state.lastTime, { deferSignatures: true });
      keyOf.set(toHex(env.id), check!.publicKey);
      pool.markVerified(env.id);
    }
  const asked: string[] = [];
  const keep = (env: TxEnvelope, checks: readonly SigCheck[]) => {
    asked.push(`${env.tx.from} ${env.tx.seq}`);
    return checks.every((c) => toHex(c.publicKey) === toHex(keyOf.get(toHex(env.id))!));
  };
  const defer = { hashes, crypto, signatures: 'defer' } as const;
  const txs = pool.take(60, 1 << 24);
  const t1 = state.lastTime + 1000;
  const built = buildBlock(state, txs, { time: t1, proposer: 'v1' }, defer);
  assert.deepEqual(
    pool.rebase(
      built.state,
      txs.map((t) => t.id),
      t1,
      keep,
    ),
    [],
  );
  assert.deepEqual(pool.stats, { replayed: 140, applied: 0 });
  // Replayed transactions read what they read on admission: no signature is judged again.
  assert.deepEqual(asked, []);
  // The next block rotates ann's key, taking her seq 15: her 35 pending transactions read a
  // changed identity or sequence number, so they are applied again, and all fail (16 is
  // signed with the old key, and the rest follow it); the others' 105 are replayed.
  const ann = senders[0]!;
  const body = { sigAlg: 'ml-dsa-44', sigKey: PEOPLE[5]!.sig.publicKey, pop: new Uint8Array(2420) };
  const rot = fake(ann.name, 'identity.rotate', 15, body, 1);
  const next = buildBlock(built.state, [rot], { time: t1 + 1000, proposer: 'v1' }, defer);
  const dropped = pool.rebase(next.state, [rot.id], t1 + 1000, keep);
  assert.deepEqual(
    dropped.map((d) => `${d.env.tx.from} ${d.env.tx.seq} ${d.error.code}`),
    Array.from(
      { length: 35 },
      (_, i) => `ann ${15 + i} ${['TX_SEQ_REPLAY', 'TX_BAD_SIGNATURE'][i] ?? 'TX_SEQ_GAP'}`,
    ),
  );
  assert.deepEqual(pool.stats, { replayed: 245, applied: 35 });
  // Only ann 16 got as far as its signature (15 repeats the rotation's seq, 17 on leave a gap),
  // and it is signed with the key she no longer has.
  assert.deepEqual(asked, ['ann 16']);
});

test('txIdHex is toHex of the id, remembered per envelope; the pool answers for an envelope as for its id', () => {
  const state = genesisBlock(config, hashes).state;
  const pool = new Mempool(state, { maxTxs: 1000, maxBytes: 1 << 24, hashes, crypto });
  fc.assert(
    fc.property(fc.nat({ max: 40 }), fc.nat({ max: 255 }), (seq, salt) => {
      const env = fake(
        PEOPLE[salt % AT_GENESIS]!.name,
        'data',
        seq,
        { payload: new Uint8Array([salt]) },
        salt,
      );
      const hex = txIdHex(env);
      assert.equal(hex, toHex(env.id));
      assert.equal(txIdHex(env), hex);
      // Another envelope of the same bytes has the same id.
      const again = decodeTx(env.bytes, config.params, hashes);
      assert.notEqual(again, env);
      assert.equal(txIdHex(again), hex);
      assert.equal(pool.has(env), pool.has(env.id));
    }),
    { numRuns: 200 },
  );
  const env = fake(PEOPLE[0]!.name, 'data', 0, { payload: new Uint8Array([1]) }, 1);
  pool.add(env, state.lastTime, { deferSignatures: true });
  assert.equal(pool.has(env), true);
  assert.equal(pool.has(env.id), true);
  assert.deepEqual(pool.take(10, 1 << 24), [], 'not verified yet');
  pool.markVerified(env);
  assert.deepEqual(pool.take(10, 1 << 24), [env]);
});
