/** sameBytes, the validator's fast compare of public bytes, against core's equalBytes. */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { equalBytes } from '@qledger/core';
import { sameBytes } from '../src/validator/value.js';

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
