/** The consensus wire codec: round trips on random messages, and every malformed field named. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ConsensusMsg,
  decodeCert,
  decodeConsensusMsg,
  decodeSnapshot,
  encode,
  encodeCert,
  encodeConsensusMsg,
  encodeSnapshot,
  QledgerError,
  type Snapshot,
} from '@qledger/core';
import fc from 'fast-check';

const hex = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b).toString('hex'));
const bytes = fc.uint8Array({ maxLength: 300 });
const u = fc.integer({ min: 0, max: 2 ** 40 });
const sigs = fc.array(fc.record({ voter: fc.integer({ min: 0, max: 999 }), sig: bytes }), { maxLength: 5 });
const cert = fc.record({ height: u, round: u, digest: hex, sigs });

const msg: fc.Arbitrary<ConsensusMsg> = fc.oneof(
  fc.record({ height: u, round: u, validRound: fc.integer({ min: -1, max: 100 }), block: bytes }).chain((p) =>
    fc.option(sigs, { nil: undefined }).map((pol) => ({
      type: 'proposal' as const,
      ...p,
      ...(pol ? { pol } : {}),
    })),
  ),
  fc
    .record({
      type: fc.constantFrom('prevote' as const, 'precommit' as const),
      height: u,
      round: u,
      digest: fc.option(hex, { nil: null }),
    })
    .chain((v) => fc.option(bytes, { nil: undefined }).map((sig) => ({ ...v, ...(sig ? { sig } : {}) }))),
  fc.record({ type: fc.constant('decision' as const), height: u, block: bytes, cert }),
);

test('consensus messages, certificates and snapshots survive encode → decode unchanged', () => {
  fc.assert(
    fc.property(msg, (m) => {
      assert.deepEqual(decodeConsensusMsg(encodeConsensusMsg(m)), structuredClone(m));
    }),
    { numRuns: 500 },
  );
  fc.assert(fc.property(cert, (c) => assert.deepEqual(decodeCert(encodeCert(c)), structuredClone(c))));
  const locked = fc.option(fc.record({ round: u, digest: hex, block: bytes, pol: sigs }), { nil: null });
  const snap: fc.Arbitrary<Snapshot> = fc.record({
    height: u,
    round: u,
    step: fc.constantFrom('propose' as const, 'prevote' as const, 'precommit' as const),
    locked,
    valid: locked,
    votes: fc.array(
      fc
        .record({
          type: fc.constantFrom('prevote' as const, 'precommit' as const),
          round: u,
          digest: fc.option(hex, { nil: null }),
        })
        .chain((v) => fc.option(bytes, { nil: undefined }).map((sig) => ({ ...v, ...(sig ? { sig } : {}) }))),
      { maxLength: 4 },
    ),
    proposals: fc.array(fc.record({ round: u, block: bytes }), { maxLength: 3 }),
  });
  fc.assert(
    fc.property(snap, (s) => assert.deepEqual(decodeSnapshot(encodeSnapshot(s)), structuredClone(s))),
  );
});

test('malformed messages are refused with WIRE_MALFORMED naming the field', () => {
  const cases: [unknown, string][] = [
    [[9, 1, 0, null, null], 'msg.type'],
    [[1, -1, 0, null, null], 'msg.height'],
    [[1, 1, 'x', null, null], 'msg.round'],
    [[1, 1, 0, 'ab', null], 'msg.digest'],
    [[1, 1, 0, new Uint8Array(65), null], 'msg.digest'],
    [[2, 1, 0, new Uint8Array(32), 'sig'], 'msg.sig'],
    [[1, 1, 0, null], 'msg'],
    [[0, 1, 0, -2, new Uint8Array(1), null], 'msg.validRound'],
    [[0, 1, 0, 0, new Uint8Array(1), [[1]]], 'msg.pol.0'],
    [
      [3, 1, new Uint8Array(1), [1, 0, new Uint8Array(32), [[-1, new Uint8Array(1)]]]],
      'msg.cert.sigs.0.voter',
    ],
    [{ type: 'prevote' }, 'msg'],
  ];
  for (const [v, field] of cases) {
    assert.throws(
      () => decodeConsensusMsg(encode(v as never)),
      (e: unknown) => e instanceof QledgerError && e.code === 'WIRE_MALFORMED' && e.details?.field === field,
      JSON.stringify(field),
    );
  }
  // Not CBOR at all, and trailing bytes after a valid message.
  for (const b of [new Uint8Array([0xff]), new Uint8Array([...encode([1, 1, 0, null, null]), 0])])
    assert.throws(() => decodeConsensusMsg(b), /WIRE_MALFORMED|not canonical CBOR/);
});

test('a snapshot stores each block once, reads back snapshots written before the table, and refuses a bad reference', () => {
  const block = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
  const copy = block.slice(); // equal bytes, another array: still stored once
  const other = new Uint8Array(50_000).fill(3);
  const pol = [{ voter: 1, sig: new Uint8Array([1, 2]) }];
  const s: Snapshot = {
    height: 9,
    round: 1,
    step: 'precommit',
    locked: { round: 1, digest: 'ab', block, pol },
    valid: { round: 1, digest: 'ab', block: copy, pol },
    votes: [{ type: 'prevote', round: 1, digest: 'ab', sig: new Uint8Array([9]) }],
    proposals: [
      { round: 0, block: other },
      { round: 1, block },
    ],
  };
  const bytes = encodeSnapshot(s);
  assert.ok(bytes.length < 150_000 + 200, `${bytes.length} bytes: each block once`);
  assert.deepEqual(decodeSnapshot(bytes), structuredClone(s));

  // The layout before the table (7 fields, blocks in place) still reads back.
  const legacy = encode([
    9,
    1,
    2,
    [1, new Uint8Array([0xab]), block, [[1, new Uint8Array([1, 2])]]],
    null,
    [[0, 1, new Uint8Array([0xab]), new Uint8Array([9])]],
    [[0, other]],
  ]);
  const old = decodeSnapshot(legacy);
  assert.deepEqual(old.locked?.block, block);
  assert.deepEqual(old.proposals[0]?.block, other);
  assert.equal(old.valid, null);

  // A reference past the table is refused, naming the field.
  const bad = encode([9, 1, 2, [1, new Uint8Array([0xab]), 5, []], null, [], [], [block]]);
  assert.throws(
    () => decodeSnapshot(bad),
    (e: unknown) =>
      e instanceof QledgerError &&
      e.code === 'WIRE_MALFORMED' &&
      e.details?.field === 'snapshot.locked.block',
  );
});
