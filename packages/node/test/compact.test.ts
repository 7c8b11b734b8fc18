/** Compact proposals, receiving side: rebuilt from held envelopes, or completed by TX_GIVE. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Block,
  DEFAULT_PARAMS,
  encode,
  equalBytes,
  nobleHashes,
  type TxEnvelope,
  toHex,
  txLeaf,
} from '@qledger/core';
import { CompactInbox, PARKED_MAX, type ProposalMsg, wantedTxs } from '../src/validator/compact.js';
import { compactValue } from '../src/validator/value.js';
import { signedBlock } from './helpers/blocks.js';

function blockOf(n: number, height = 7) {
  const { txs, value } = signedBlock(n, height);
  const msg = (round = 0, block = compactValue(value, leavesOf(txs))): ProposalMsg => ({
    type: 'proposal',
    height,
    round,
    validRound: -1,
    block,
  });
  return { txs, value, msg };
}

const leavesOf = (txs: readonly TxEnvelope[]) => txs.map((t) => txLeaf(nobleHashes, t));

/** An inbox over a set of held envelopes, recording what it asks, delivers and refuses. */
function inbox(held: readonly TxEnvelope[]) {
  const byLeaf = new Map(held.map((t) => [toHex(txLeaf(nobleHashes, t)), t]));
  const wants: { from: number; leaves: Uint8Array }[] = [];
  const delivered: { from: number; msg: ProposalMsg; block: Block }[] = [];
  const refused: string[] = [];
  const box = new CompactInbox({
    params: DEFAULT_PARAMS,
    hashes: nobleHashes,
    envelope: (k) => byLeaf.get(k),
    want: (from, leaves) => wants.push({ from, leaves }),
    deliver: (from, msg, block) => delivered.push({ from, msg, block }),
    refuse: (_from, why) => refused.push(why),
  });
  return { box, wants, delivered, refused };
}

test('a compact proposal whose transactions are all held goes to consensus whole, at once', () => {
  const { txs, value, msg } = blockOf(4);
  const { box, wants, delivered, refused } = inbox(txs);
  box.receive(2, msg());
  assert.equal(wants.length, 0);
  assert.deepEqual(refused, []);
  assert.equal(delivered.length, 1);
  const d = delivered[0]!;
  assert.equal(d.from, 2);
  assert.ok(equalBytes(d.msg.block, value), 'the rebuilt value is the proposer’s value');
  assert.deepEqual(d.block.txs, txs, 'the held envelopes themselves, not fresh decodes');
  assert.equal(d.block.header.txCount, 4);
});

test('missing transactions are asked for; only a TX_GIVE with the right bytes completes it', () => {
  const { txs, value, msg } = blockOf(5);
  const { box, wants, delivered } = inbox([txs[0]!, txs[2]!, txs[4]!]);
  box.receive(1, msg());
  assert.equal(delivered.length, 0);
  assert.equal(box.parked, 1);
  assert.equal(wants.length, 1);
  assert.equal(wants[0]!.from, 1);
  assert.ok(
    equalBytes(wants[0]!.leaves, new Uint8Array([...leavesOf([txs[1]!, txs[3]!]).flatMap((l) => [...l])])),
  );
  // Bytes that match no wanted leaf (another block's, one held already), or only part: parked.
  const other = blockOf(1, 8).txs[0]!;
  box.give(encode([other.bytes, txs[0]!.bytes]));
  box.give(encode([txs[1]!.bytes]));
  assert.equal(delivered.length, 0);
  // The last one, from whichever peer answers: complete, in block order, the same value.
  box.give(encode([txs[3]!.bytes]));
  assert.equal(delivered.length, 1);
  assert.equal(box.parked, 0);
  assert.ok(equalBytes(delivered[0]!.msg.block, value));
  assert.deepEqual(
    delivered[0]!.block.txs.map((t) => toHex(t.id)),
    txs.map((t) => toHex(t.id)),
  );
  assert.deepEqual(box.stats, { received: 1, misses: 1, completed: 1 });
});

test('a parked proposal completes from gossip that arrives after it, without waiting for TX_GIVE', () => {
  const { txs, value, msg } = blockOf(3);
  const held = [txs[0]!];
  const byLeaf = new Map<string, TxEnvelope>();
  const delivered: ProposalMsg[] = [];
  const box = new CompactInbox({
    params: DEFAULT_PARAMS,
    hashes: nobleHashes,
    envelope: (k) => byLeaf.get(k),
    want: () => {},
    deliver: (_from, m) => delivered.push(m),
    refuse: () => assert.fail('refused'),
  });
  for (const t of held) byLeaf.set(toHex(txLeaf(nobleHashes, t)), t);
  box.receive(1, msg());
  box.recheck();
  assert.equal(delivered.length, 0, 'still lacks two');
  byLeaf.set(toHex(txLeaf(nobleHashes, txs[1]!)), txs[1]!);
  box.recheck();
  assert.equal(delivered.length, 0, 'still lacks one');
  byLeaf.set(toHex(txLeaf(nobleHashes, txs[2]!)), txs[2]!);
  box.recheck();
  assert.equal(delivered.length, 1);
  assert.equal(box.parked, 0);
  assert.ok(equalBytes(delivered[0]!.block, value));
  // A TX_GIVE that comes afterwards finds nothing to complete.
  box.give(encode(txs.map((t) => t.bytes)));
  assert.equal(delivered.length, 1);
});

test('leaves that are not the header’s are refused and nothing is asked or delivered', () => {
  const { txs, value, msg } = blockOf(3);
  const { box, wants, delivered, refused } = inbox(txs);
  box.receive(
    0,
    msg(
      0,
      compactValue(
        value,
        [txs[1]!, txs[0]!, txs[2]!].map((t) => txLeaf(nobleHashes, t)),
      ),
    ),
  );
  box.receive(0, msg(0, compactValue(value, leavesOf(txs).slice(1))));
  assert.equal(refused.length, 2);
  assert.equal(wants.length + delivered.length + box.parked, 0);
});

test('a decided height drops what waits for it; parked proposals are bounded', () => {
  const { txs, msg } = blockOf(2);
  const { box, wants } = inbox([]);
  for (let round = 0; round < PARKED_MAX + 5; round++) box.receive(1, msg(round));
  assert.equal(wants.length, PARKED_MAX + 5);
  assert.equal(box.parked, PARKED_MAX);
  box.committed(6);
  assert.equal(box.parked, PARKED_MAX);
  box.committed(7);
  assert.equal(box.parked, 0);
  // Bytes that arrive afterwards complete nothing.
  box.give(encode(txs.map((t) => t.bytes)));
  assert.equal(box.stats.completed, 0);
});

test('a malformed TX_GIVE is refused with a message naming the frame, and completes nothing', () => {
  const { txs, msg } = blockOf(2);
  const { box, delivered } = inbox([]);
  box.receive(1, msg());
  const tooMany = Array.from({ length: DEFAULT_PARAMS.maxBlockTxs + 1 }, () => txs[0]!.bytes);
  for (const bad of [encode('not a list'), encode([txs[0]!.bytes, 7]), encode(tooMany)])
    assert.throws(() => box.give(bad), /TX_GIVE/);
  assert.equal(delivered.length, 0);
  assert.equal(box.parked, 1);
});

test('TX_WANT is answered with the known transactions only; a malformed one is refused', () => {
  const { txs } = blockOf(3);
  const byLeaf = new Map(txs.slice(0, 2).map((t) => [toHex(txLeaf(nobleHashes, t)), t]));
  const want = new Uint8Array([...leavesOf(txs).flatMap((l) => [...l])]);
  const out = wantedTxs(want, 500, (k) => byLeaf.get(k));
  assert.deepEqual(out, [txs[0]!.bytes, txs[1]!.bytes]);
  assert.throws(() => wantedTxs(want.subarray(1), 500, (k) => byLeaf.get(k)), /TX_WANT/);
  assert.throws(() => wantedTxs(want, 2, (k) => byLeaf.get(k)), /TX_WANT/);
});
