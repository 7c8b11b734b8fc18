/** sameBytes, the validator's fast compare of public bytes, against core's equalBytes; compact values. */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { DEFAULT_PARAMS, equalBytes, merkleLeaf, nobleHashes, QledgerError, txLeaf } from '@qledger/core';
import {
  compactValue,
  encodeRawValue,
  parseCompact,
  sameBytes,
  valueDigest,
} from '../src/validator/value.js';
import { signedBlock } from './helpers/blocks.js';

test('sameBytes agrees with equalBytes on random pairs: equal, one byte changed, lengths differing, views', () => {
  let equal = 0;
  let differ = 0;
  for (let i = 0; i < 2000; i++) {
    const a = new Uint8Array(randomBytes(randomInt(0, 3000)));
    let b: Uint8Array;
    switch (i % 4) {
      case 0:
        b = a.slice();
        break;
      case 1:
        b = a.slice();
        if (b.length > 0) b[randomInt(0, b.length)]! ^= 1 << randomInt(0, 8);
        else b = new Uint8Array(1);
        break;
      case 2:
        b = a.subarray(0, Math.max(0, a.length - 1));
        break;
      default: {
        // The same bytes as a view at an offset into a larger buffer.
        const big = new Uint8Array(a.length + 7);
        big.set(a, 5);
        b = big.subarray(5, 5 + a.length);
      }
    }
    const want = equalBytes(a, b);
    assert.equal(sameBytes(a, b), want, `case ${i % 4}, length ${a.length}`);
    assert.equal(sameBytes(b, a), want);
    if (want) equal++;
    else differ++;
  }
  assert.ok(equal > 900 && differ > 900, `${equal} equal, ${differ} differing`);
});

test('a compact value names the block by leaves; rebuilt from them it is the same value and digest', () => {
  for (const n of [0, 1, 5]) {
    const { txs, value } = signedBlock(n);
    const compact = compactValue(
      value,
      txs.map((t) => txLeaf(nobleHashes, t)),
    );
    const { header, leaves } = parseCompact(compact, DEFAULT_PARAMS, nobleHashes);
    assert.equal(leaves.length, n);
    for (const [i, l] of leaves.entries()) assert.ok(equalBytes(l, merkleLeaf(nobleHashes, txs[i]!.bytes)));
    const rebuilt = encodeRawValue(
      header,
      txs.map((t) => t.bytes),
    );
    assert.ok(equalBytes(rebuilt, value));
    assert.equal(valueDigest(nobleHashes, compact), valueDigest(nobleHashes, value));
    if (n > 0) assert.ok(compact.length < value.length / 4, `${compact.length} against ${value.length}`);
  }
});

test('a compact value whose leaves are not the header’s is refused: changed, reordered, missing, extra', () => {
  const { txs, value } = signedBlock(3);
  const leaves = txs.map((t) => txLeaf(nobleHashes, t));
  const flipped = leaves.map((l, i) => (i === 1 ? l.map((b, k) => (k === 0 ? b ^ 1 : b)) : l));
  const cases: [string, Uint8Array, string][] = [
    ['changed', compactValue(value, flipped), 'BLOCK_TX_ROOT'],
    ['reordered', compactValue(value, [leaves[1]!, leaves[0]!, leaves[2]!]), 'BLOCK_TX_ROOT'],
    ['missing', compactValue(value, leaves.slice(0, 2)), 'BLOCK_MALFORMED'],
    ['extra', compactValue(value, [...leaves, leaves[0]!]), 'BLOCK_MALFORMED'],
    ['torn', compactValue(value, leaves).subarray(0, -5), 'BLOCK_MALFORMED'],
  ];
  for (const [what, compact, code] of cases)
    assert.throws(
      () => parseCompact(compact, DEFAULT_PARAMS, nobleHashes),
      (e: unknown) => e instanceof QledgerError && e.code === code,
      what,
    );
});
