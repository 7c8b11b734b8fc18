/** The leader-order beacon carried on the chain (ledger/beacon.ts, ledger/rules.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyBlock,
  type Block,
  beaconCommit,
  beaconThreshold,
  blockHash,
  DOMAIN,
  decodeTx,
  domainHash,
  encode,
  epochOf,
  epochSeed,
  equalBytes,
  type LedgerState,
  Mempool,
  STATE_KEYS,
  type TxEnvelope,
} from '../src/index.js';
import {
  CHAIN,
  crypto,
  data,
  genesis,
  hashes,
  mustFail,
  next,
  opts,
  type Party,
  party,
  register,
  tx,
  VALIDATORS,
} from './helpers/ledger.js';

const L = 4;
const bytes = (v: number, n = 32) => new Uint8Array(n).fill(v);
const valueFor = (epoch: number, i: number) => bytes(epoch * 16 + i + 1);
const saltFor = (epoch: number, i: number) => bytes(200 + epoch * 4 + i);

function commit(v: Party, epoch: number, i = VALIDATORS.indexOf(v)): TxEnvelope {
  const c = beaconCommit({ chainId: CHAIN, epoch }, v.name, valueFor(epoch, i), saltFor(epoch, i), hashes);
  return tx(v, 'beacon.commit', 0, { epoch, commitment: c });
}

function reveal(v: Party, epoch: number, i = VALIDATORS.indexOf(v)): TxEnvelope {
  return tx(v, 'beacon.reveal', 0, { epoch, value: valueFor(epoch, i), salt: saltFor(epoch, i) });
}

/** Appends blocks (one per entry of `plan`, each with its transactions) and returns every block. */
function grow(state: LedgerState, plan: TxEnvelope[][]): { state: LedgerState; blocks: Block[] } {
  const blocks: Block[] = [];
  for (const txs of plan) {
    const b = next(state, txs);
    blocks.push(b.block);
    state = b.state;
  }
  return { state, blocks };
}

/** The seed by the definition, written out: H(label, [chain, epoch, [[name, value]…] by name]). */
function referenceSeed(epoch: number, contributors: number[]): Uint8Array {
  const pairs = contributors
    .map((i) => [VALIDATORS[i]!.name, valueFor(epoch, i)] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return domainHash(hashes, DOMAIN.BEACON_SEED, encode([CHAIN, epoch, pairs.map(([n, v]) => [n, v])]));
}

const empty = (k: number): TxEnvelope[][] => Array.from({ length: k }, () => []);

test('genesis: epochLength defaults to 64, is checked, and the state holds the validator set', () => {
  assert.equal(genesis().config.params.epochLength, 64);
  assert.equal(genesis({ params: { epochLength: L } }).config.params.epochLength, L);
  for (const bad of [3, 1.5, '16'])
    mustFail(
      () => genesis({ params: { epochLength: bad } }),
      'GENESIS_INVALID',
      'genesis.params.epochLength',
    );
  assert.deepEqual(
    genesis().state.get(STATE_KEYS.validatorSet),
    VALIDATORS.map((v) => v.name),
  );
});

test('epochs and the reveal threshold', () => {
  assert.deepEqual(
    [0, 1, 4, 5, 8, 9].map((h) => epochOf(h, 4)),
    [0, 0, 0, 1, 1, 2],
  );
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 10].map(beaconThreshold), [1, 1, 1, 3, 3, 3, 5, 7]);
});

test('commit, reveal, seed: each block header carries its epoch seed and a wrong one is refused', () => {
  const g = genesis({ params: { epochLength: L } });
  // Epoch 0 (heights 1–4): commitments for epoch 2. Epoch 1 (5–8): three reveal, all commit
  // for epoch 3. Epoch 2 (9–12): nobody reveals for epoch 3, so its seed is the fallback.
  const e0 = grow(g.state, [VALIDATORS.map((v) => commit(v, 2)), ...empty(3)]);
  assert.ok(
    equalBytes(
      e0.state.get(STATE_KEYS.beaconCommit(2, 'v3')) as Uint8Array,
      (commit(VALIDATORS[2]!, 2).tx.body as { commitment: Uint8Array }).commitment,
    ),
  );
  const e1 = grow(e0.state, [
    [reveal(VALIDATORS[2]!, 2), reveal(VALIDATORS[0]!, 2), ...VALIDATORS.map((v) => commit(v, 3))],
    [reveal(VALIDATORS[3]!, 2)],
    ...empty(2),
  ]);
  for (const b of [...e0.blocks, ...e1.blocks]) assert.equal(b.header.beacon.length, 0);
  const s2 = epochSeed(e1.state, 2);
  assert.ok(s2, 'seed of epoch 2 fixed at height 8');
  assert.deepEqual(s2.contributors, ['v1', 'v3', 'v4']);
  assert.ok(equalBytes(s2.seed, referenceSeed(2, [0, 2, 3])));
  // The commitments and reveals of epoch 2 are gone; epoch 3's commitments stay.
  assert.equal(e1.state.get(STATE_KEYS.beaconCommit(2, 'v1')), undefined);
  assert.equal(e1.state.get(STATE_KEYS.beaconReveal(2, 'v1')), undefined);
  assert.notEqual(e1.state.get(STATE_KEYS.beaconCommit(3, 'v1')), undefined);

  const e2 = grow(e1.state, empty(4));
  for (const b of e2.blocks) assert.ok(equalBytes(b.header.beacon, s2.seed), `block ${b.header.height}`);
  const s3 = epochSeed(e2.state, 3);
  assert.ok(s3);
  assert.deepEqual(s3.contributors, []);
  assert.ok(equalBytes(s3.seed, domainHash(hashes, DOMAIN.BEACON_FALLBACK, encode([CHAIN, 3, s2.seed]))));
  // Seeds are fixed at the second-to-last height of the epoch before (7 for epoch 2, 11 for 3),
  // and dropped once their epoch is over and the next seed is fixed (epoch 2's at height 15).
  assert.ok(epochSeed(grow(e1.state, empty(3)).state, 3), 'the seed of epoch 3 is fixed at height 11');
  assert.equal(epochSeed(grow(e1.state, empty(2)).state, 3), undefined);
  assert.ok(epochSeed(e2.state, 2), 'kept while epoch 2 is not over');
  assert.equal(
    epochSeed(grow(e2.state, empty(3)).state, 2),
    undefined,
    'the seed of a past epoch is dropped',
  );
  const b13 = next(e2.state, []);
  assert.ok(equalBytes(b13.block.header.beacon, s3.seed));

  // A block whose header names another seed (or none) is refused before anything else runs.
  for (const beacon of [new Uint8Array(0), bytes(7), s2.seed]) {
    const forged = { ...b13.block, header: { ...b13.block.header, beacon } };
    const r = applyBlock(e2.state, forged, opts);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'BLOCK_BEACON');
  }
  const ok = applyBlock(e2.state, b13.block, opts);
  assert.ok(ok.ok && equalBytes(ok.hash, blockHash(hashes, b13.block.header)));
  // A header that claims a seed in an epoch without one is refused too.
  const early = next(g.state, []);
  const r = applyBlock(
    g.state,
    { ...early.block, header: { ...early.block.header, beacon: bytes(1) } },
    opts,
  );
  assert.ok(!r.ok && r.error.code === 'BLOCK_BEACON');
});

test('the seed depends on every contributed value and not on the order reveals arrived in', () => {
  const g = genesis({ params: { epochLength: L } });
  const e0 = grow(g.state, [VALIDATORS.map((v) => commit(v, 2)), ...empty(3)]);
  const one = grow(e0.state, [VALIDATORS.map((v) => reveal(v, 2)), ...empty(3)]);
  const other = grow(e0.state, [
    [reveal(VALIDATORS[3]!, 2)],
    [reveal(VALIDATORS[1]!, 2), reveal(VALIDATORS[0]!, 2)],
    [reveal(VALIDATORS[2]!, 2)],
    [],
  ]);
  const a = epochSeed(one.state, 2)!;
  const b = epochSeed(other.state, 2)!;
  assert.ok(equalBytes(a.seed, b.seed));
  assert.ok(equalBytes(a.seed, referenceSeed(2, [0, 1, 2, 3])));
  // Leaving one reveal out (still a quorum) gives another seed.
  const three = grow(e0.state, [VALIDATORS.slice(1).map((v) => reveal(v, 2)), ...empty(3)]);
  const c = epochSeed(three.state, 2)!;
  assert.ok(!equalBytes(a.seed, c.seed));
  assert.ok(equalBytes(c.seed, referenceSeed(2, [1, 2, 3])));
});

test('fewer than 2f + 1 reveals: the fallback seed, with no contributors', () => {
  const g = genesis({ params: { epochLength: L } });
  const e0 = grow(g.state, [VALIDATORS.map((v) => commit(v, 2)), ...empty(3)]);
  const e1 = grow(e0.state, [[reveal(VALIDATORS[0]!, 2), reveal(VALIDATORS[1]!, 2)], ...empty(3)]);
  const s = epochSeed(e1.state, 2)!;
  assert.deepEqual(s.contributors, []);
  assert.ok(
    equalBytes(s.seed, domainHash(hashes, DOMAIN.BEACON_FALLBACK, encode([CHAIN, 2, new Uint8Array(0)]))),
  );
});

test('beacon transactions are refused with a code naming what is wrong, and change nothing', () => {
  const g = genesis({ params: { epochLength: L } });
  const [v1, v2] = [VALIDATORS[0]!, VALIDATORS[1]!];
  mustFail(() => next(g.state, [commit(v1, 3)]), 'BEACON_WRONG_EPOCH', 'tx.body.epoch');
  mustFail(() => next(g.state, [commit(v1, 1)]), 'BEACON_WRONG_EPOCH', 'tx.body.epoch');
  mustFail(() => next(g.state, [commit(v1, 2), commit(v1, 2, 3)]), 'BEACON_DUPLICATE');
  mustFail(() => next(g.state, [reveal(v1, 2)]), 'BEACON_WRONG_EPOCH');
  mustFail(
    () => next(g.state, [tx(v1, 'beacon.commit', 1, { epoch: 2, commitment: bytes(1) })]),
    'TX_MALFORMED',
    'tx.seq',
  );
  mustFail(
    () =>
      next(g.state, [tx(v1, 'beacon.commit', 0, { epoch: 2, commitment: bytes(1) }, {}, v2.sig.secretKey)]),
    'TX_BAD_SIGNATURE',
  );
  const alice = party('alice', 1);
  const withAlice = next(g.state, [register(alice)]).state;
  mustFail(
    () => next(withAlice, [tx(alice, 'beacon.commit', 0, { epoch: 2, commitment: bytes(1) })]),
    'TX_UNKNOWN_SENDER',
  );
  const other = crypto.signer('ml-dsa-65').keygen(bytes(5));
  mustFail(
    () =>
      next(g.state, [
        tx(v1, 'beacon.commit', 0, { epoch: 2, commitment: bytes(1) }, { alg: 'ml-dsa-65' }, other.secretKey),
      ]),
    'TX_ALG_MISMATCH',
    'tx.alg',
  );

  const e0 = grow(g.state, [[commit(v1, 2)], ...empty(3)]);
  mustFail(() => next(e0.state, [reveal(v2, 2)]), 'BEACON_NO_COMMITMENT');
  mustFail(
    () => next(e0.state, [tx(v1, 'beacon.reveal', 0, { epoch: 2, value: valueFor(2, 0), salt: bytes(9) })]),
    'BEACON_BAD_REVEAL',
  );
  mustFail(
    () =>
      next(e0.state, [tx(v1, 'beacon.reveal', 0, { epoch: 2, value: valueFor(2, 1), salt: saltFor(2, 0) })]),
    'BEACON_BAD_REVEAL',
  );
  // The reveal window closes at height 7, one before the epoch ends (ledger/beacon.ts).
  mustFail(
    () => next(grow(e0.state, empty(3)).state, [reveal(v1, 2)]),
    'BEACON_WRONG_EPOCH',
    'tx.body.epoch',
  );
  // At height 7 it is still open (and that block, fixing the seed, consumes the reveal).
  assert.equal(next(grow(e0.state, empty(2)).state, [reveal(v1, 2)]).block.txs.length, 1);
  const revealed = next(e0.state, [reveal(v1, 2)]).state;
  mustFail(() => next(revealed, [reveal(v1, 2)]), 'BEACON_DUPLICATE');
  // A rejected block leaves the state it was built on as it was.
  assert.equal(e0.state.get(STATE_KEYS.beaconReveal(2, 'v1')), undefined);
  assert.notEqual(revealed.get(STATE_KEYS.beaconReveal(2, 'v1')), undefined);
});

test('beacon bodies are checked field by field when decoded', () => {
  const g = genesis({ params: { epochLength: L } });
  const params = { ...(g.state.get(STATE_KEYS.params) as object) } as never;
  const good = commit(VALIDATORS[0]!, 2);
  const { sig, ...unsigned } = good.tx;
  for (const [body, field] of [
    [{ epoch: 2, commitment: bytes(1, 31) }, 'tx.body.commitment'],
    [{ epoch: -1, commitment: bytes(1) }, 'tx.body.epoch'],
    [{ epoch: 2, commitment: bytes(1), extra: 1 }, 'tx.body.extra'],
  ] as const) {
    const raw = encode({ ...unsigned, body, sig } as never);
    mustFail(() => decodeTx(raw, params, hashes), 'TX_MALFORMED', field);
  }
  const r = tx(VALIDATORS[0]!, 'beacon.reveal', 0, { epoch: 2, value: bytes(1), salt: bytes(2) });
  const { sig: rs, ...ru } = r.tx;
  const raw = encode({ ...ru, body: { epoch: 2, value: bytes(1), salt: bytes(2, 16) }, sig: rs } as never);
  mustFail(() => decodeTx(raw, params, hashes), 'TX_MALFORMED', 'tx.body.salt');
});

test('the mempool admits beacon transactions past its limits, and only those the rules allow', () => {
  const g = genesis({ params: { epochLength: L } });
  const alice = party('alice', 1);
  const s = next(g.state, [register(alice)]).state;
  const pool = new Mempool(s, { maxTxs: 1, maxBytes: 1 << 20, ...opts });
  pool.add(data(alice, 1), 0);
  mustFail(() => pool.add(data(alice, 2), 0), 'MEMPOOL_FULL');
  // Full for clients, yet every validator's commitment gets in, and does not take a client's place.
  for (const v of VALIDATORS) pool.add(commit(v, 2), 0);
  assert.equal(pool.size, 5);
  mustFail(() => pool.add(data(alice, 2), 0), 'MEMPOOL_FULL');
  // A second commitment from one validator is refused by the rules on the pending state.
  mustFail(() => pool.add(commit(VALIDATORS[0]!, 2, 3), 0), 'BEACON_DUPLICATE');
  // After a block takes the client transaction, a client one fits again; the count survives rebase.
  const take = pool.take(1, 1 << 20);
  const b = next(s, take);
  pool.rebase(
    b.state,
    take.map((t) => t.id),
    0,
  );
  assert.equal(pool.size, 4);
  pool.add(data(alice, 2), 0);
  mustFail(() => pool.add(data(alice, 3), 0), 'MEMPOOL_FULL');
});
