import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  encode,
  equalBytes,
  nobleHashes as hashes,
  LedgerState,
  LtHash,
  lthashElement,
  toHex,
} from '../src/index.js';

/**
 * The layered, copy-on-write state against a plain Map: random puts and deletes over many
 * blocks (past the flattening depth), checking every old state is untouched and every
 * accumulator equals one built from scratch.
 */
test('layered state equals a plain map, old states stay intact, accumulators match from scratch', () => {
  const op = fc.record({
    key: fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `k${i}`)),
    del: fc.boolean(),
    val: fc.nat(50),
  });
  fc.assert(
    fc.property(fc.array(fc.array(op, { maxLength: 6 }), { minLength: 1, maxLength: 45 }), (blocks) => {
      let state = LedgerState.empty();
      const model = new Map<string, number>();
      const history: [LedgerState, Map<string, number>][] = [];
      blocks.forEach((ops, h) => {
        const d = state.draft();
        for (const o of ops) {
          if (o.del) {
            d.delete(o.key);
            model.delete(o.key);
          } else {
            d.put(o.key, o.val);
            model.set(o.key, o.val);
          }
        }
        const changes = d.changes();
        state = d.finish(d.accumulatorAfter(hashes, changes), {
          height: h,
          lastHash: new Uint8Array(32),
          lastTime: h,
        });
        history.push([state, new Map(model)]);
      });
      for (const [s, m] of history) {
        const want = [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => [k, toHex(encode(v))]);
        assert.deepEqual(
          s.entries().map(([k, v]) => [k, toHex(v)]),
          want,
        );
        const scratch = new LtHash();
        for (const [k, v] of m) scratch.mix(lthashElement(hashes, k, encode(v)), 1);
        assert.ok(equalBytes(scratch.root(hashes), s.root(hashes)));
      }
    }),
    { numRuns: 60 },
  );
});

test('changes() lists only real changes, in key order', () => {
  const base = (() => {
    const d = LedgerState.empty().draft();
    d.put('b', 1);
    d.put('a', 2);
    return d.finish(d.accumulatorAfter(hashes, d.changes()), {
      height: 0,
      lastHash: new Uint8Array(32),
      lastTime: 0,
    });
  })();
  const d = base.draft();
  d.put('b', 1); // rewrite with the same value: no change
  d.put('c', 3);
  d.delete('a');
  d.delete('zz'); // deleting what does not exist: no change
  assert.deepEqual(
    d.changes().map((c) => [c.key, c.value === null ? null : toHex(c.value)]),
    [
      ['a', null],
      ['c', toHex(encode(3))],
    ],
  );
  const child = d.child();
  child.put('d', 4);
  assert.equal(d.get('d'), undefined, 'a nested draft is invisible until commit');
  child.commit();
  assert.equal(d.get('d'), 4);
});
