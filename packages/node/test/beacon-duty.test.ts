/**
 * The validator's beacon duty against the real ledger rules: what it sends at each height,
 * that the opening survives a restart between commitment and reveal, and what it does when the
 * opening is gone or a send is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildBlock,
  decodeTx,
  genesisBlock,
  type LedgerState,
  nobleBackend,
  nobleHashes,
  parseGenesis,
  STATE_KEYS,
  type TxEnvelope,
  toHex,
} from '@qledger/core';
import { pino } from 'pino';
import { BeaconDuty } from '../src/validator/beacon-duty.js';

const crypto = nobleBackend;
const hashes = nobleHashes;
const L = 4;
const keys = [1, 2, 3, 4].map((i) => crypto.signer('ml-dsa-44').keygen(new Uint8Array(32).fill(i)));
const genesisJson = {
  chainId: 'duty',
  time: 1_763_856_000_000,
  params: { epochLength: L },
  validators: keys.map((k, i) => ({ name: `v${i + 1}`, sigAlg: 'ml-dsa-44', sigKey: toHex(k.publicKey) })),
};
const genesis = parseGenesis(genesisJson);

class MemoryLocal {
  readonly map = new Map<string, Uint8Array>();
  writes = 0;
  async saveLocal(changes: Record<string, Uint8Array | null>): Promise<void> {
    this.writes++;
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) this.map.delete(key);
      else this.map.set(key, value.slice());
    }
  }
  async local(key: string): Promise<Uint8Array | null> {
    return this.map.get(key)?.slice() ?? null;
  }
}

/** A duty for validator v1 whose submissions land in `sent` (or are refused with `refuse`). */
function duty(
  store: MemoryLocal,
  chain: { state: LedgerState },
  sent: TxEnvelope[],
  refuse?: () => string | null,
  over: { slot?: number; params?: typeof genesis.params } = {},
) {
  let draws = 0;
  const d = new BeaconDuty({
    name: 'v1',
    slot: over.slot ?? 0,
    chainId: genesis.chainId,
    params: over.params ?? genesis.params,
    alg: 'ml-dsa-44',
    secretKey: keys[0]!.secretKey,
    crypto,
    hashes,
    store,
    state: () => chain.state,
    draw: (n) => new Uint8Array(n).fill(++draws),
    submit: async (bytes) => {
      const code = refuse?.();
      if (code) return { status: 'rejected', code };
      sent.push(decodeTx(bytes, genesis.params, hashes));
      return { status: 'pending' };
    },
    log: pino({ level: 'silent' }),
  });
  return d;
}

function settle(d: BeaconDuty): Promise<void> {
  return d.poke();
}

function grow(state: LedgerState, txs: TxEnvelope[], blocks = 1): LedgerState {
  for (let i = 0; i < blocks; i++)
    state = buildBlock(
      state,
      i === 0 ? txs : [],
      { time: state.lastTime + 1, proposer: 'v1' },
      { hashes, crypto },
    ).state;
  return state;
}

test('commit at epoch 0, reveal at epoch 1 from the stored opening, even after a restart', async () => {
  const store = new MemoryLocal();
  const chain = { state: genesisBlock(genesis, hashes).state };
  const sent: TxEnvelope[] = [];
  await settle(duty(store, chain, sent));
  assert.deepEqual(
    sent.map((t) => [t.tx.kind, (t.tx.body as { epoch: number }).epoch]),
    [['beacon.commit', 2]],
  );
  const opening = store.map.get('beacon:2');
  assert.equal(opening?.length, 64, 'the opening is stored before the commitment is sent');

  // A restart before the commitment reached a block sends the same commitment again.
  const again: TxEnvelope[] = [];
  await settle(duty(store, chain, again));
  assert.equal(again.length, 1);
  assert.deepEqual(again[0]!.id, sent[0]!.id);

  // The commitment commits; at epoch 1 a restarted duty reveals from the store, and the
  // chain accepts the reveal (the rules check it opens the commitment).
  chain.state = grow(chain.state, [sent[0]!], L);
  const third: TxEnvelope[] = [];
  await settle(duty(store, chain, third));
  const kinds = third.map((t) => `${t.tx.kind}:${(t.tx.body as { epoch: number }).epoch}`).sort();
  assert.deepEqual(kinds, ['beacon.commit:3', 'beacon.reveal:2']);
  const reveal = third.find((t) => t.tx.kind === 'beacon.reveal')!;
  const body = reveal.tx.body as { value: Uint8Array; salt: Uint8Array };
  assert.deepEqual([...body.value, ...body.salt], [...opening!]);
  chain.state = grow(chain.state, third);
  assert.notEqual(chain.state.get(STATE_KEYS.beaconReveal(2, 'v1')), undefined);

  // Nothing more is owed in this epoch.
  const fourth: TxEnvelope[] = [];
  await settle(duty(store, chain, fourth));
  assert.deepEqual(fourth, []);
  // In epoch 2 the opening of epoch 2 is forgotten; epoch 3's is kept until its reveal.
  chain.state = grow(chain.state, [], L);
  await settle(duty(store, chain, []));
  assert.equal(store.map.has('beacon:2'), false);
  assert.equal(store.map.has('beacon:3'), true);
});

test('a lost opening means no reveal, counted; a refused send is tried again at the next poke', async () => {
  const store = new MemoryLocal();
  const chain = { state: genesisBlock(genesis, hashes).state };
  const sent: TxEnvelope[] = [];
  let refusals = 1;
  const d = duty(store, chain, sent, () => (refusals-- > 0 ? 'MEMPOOL_FULL' : null));
  await settle(d);
  assert.equal(sent.length, 0);
  assert.equal(d.stats.sendsRefused, 1);
  const d2 = duty(store, chain, sent);
  await settle(d2);
  assert.equal(sent.length, 1);
  assert.equal(d2.stats.commitsSent, 1);

  chain.state = grow(chain.state, [sent[0]!], L);
  store.map.delete('beacon:2');
  const after: TxEnvelope[] = [];
  const d3 = duty(store, chain, after);
  await settle(d3);
  assert.deepEqual(
    after.map((t) => t.tx.kind),
    ['beacon.commit'],
  );
  assert.equal(d3.stats.openingsLost, 1);
  assert.equal(d3.stats.revealsSent, 0);
  // Counted (and logged) once, not at every block of the window.
  await d3.poke();
  assert.equal(d3.stats.openingsLost, 1);
});

test('no reveal once its window has closed (the height that fixes the seed has passed)', async () => {
  const store = new MemoryLocal();
  const chain = { state: genesisBlock(genesis, hashes).state };
  const sent: TxEnvelope[] = [];
  await settle(duty(store, chain, sent));
  // The commitment commits at height 1; the duty next looks at height 7, when the seed of
  // epoch 2 is already fixed (the next block is height 8).
  chain.state = grow(chain.state, [sent[0]!], 2 * L - 1);
  const late: TxEnvelope[] = [];
  const d = duty(store, chain, late);
  await settle(d);
  assert.deepEqual(
    late.map((t) => `${t.tx.kind}:${(t.tx.body as { epoch: number }).epoch}`),
    ['beacon.commit:3'],
  );
  assert.equal(d.stats.revealsSent, 0);
});

test('validators take turns within the epoch; one store write per epoch after the first', async () => {
  // Epochs of 16: validator slot 2 sends from the epoch's third height on (slots spread over
  // the first quarter), so not every validator bursts at the epoch's first height.
  const long = parseGenesis({ ...genesisJson, params: { epochLength: 16 } });
  const store = new MemoryLocal();
  const chain = { state: genesisBlock(long, hashes).state };
  const sent: TxEnvelope[] = [];
  const d = duty(store, chain, sent, undefined, { slot: 2, params: long.params });
  const step = () => {
    chain.state = buildBlock(
      chain.state,
      [],
      { time: chain.state.lastTime + 1, proposer: 'v1' },
      { hashes, crypto },
    ).state;
  };
  await d.poke(); // next height 1: position 0
  step();
  await d.poke(); // position 1
  assert.equal(sent.length, 0);
  step();
  await d.poke(); // position 2: its turn
  assert.deepEqual(
    sent.map((t) => t.tx.kind),
    ['beacon.commit'],
  );
  // The start-up clean-up and the opening: two writes; further looks in the epoch write nothing.
  assert.equal(store.writes, 2);
  step();
  await d.poke();
  assert.equal(store.writes, 2);
});
