import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  concatBytes,
  DOMAIN,
  domainHash,
  equalBytes,
  nobleHashes as hashes,
  LtHash,
  lthashElement,
  merkleLeaf,
  merkleProof,
  merkleRoot,
  type TxEnvelope,
  txLeaf,
  txRoot,
  verifyMerkleProof,
} from '../src/index.js';

/** Slow, obvious reference: split at the largest power of two below n (what promotion of odd nodes amounts to). */
function refRoot(items: Uint8Array[]): Uint8Array {
  const leaf = (d: Uint8Array) => domainHash(hashes, DOMAIN.MERKLE_LEAF, d);
  const node = (l: Uint8Array, r: Uint8Array) => domainHash(hashes, DOMAIN.MERKLE_NODE, concatBytes(l, r));
  if (items.length === 0) return domainHash(hashes, DOMAIN.MERKLE_NODE, new Uint8Array(0));
  const rec = (xs: Uint8Array[]): Uint8Array => {
    if (xs.length === 1) return leaf(xs[0]!);
    // Level-by-level pairing with promotion equals this recursion over the left complete subtree.
    let k = 1;
    while (k * 2 < xs.length) k *= 2;
    return node(rec(xs.slice(0, k)), rec(xs.slice(k)));
  };
  return rec(items);
}

const itemsArb = fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 40 });

test('txRoot over envelopes (leaves remembered per envelope) equals the reference, first and again', () => {
  fc.assert(
    fc.property(itemsArb, (items) => {
      // txRoot reads only the bytes of an envelope.
      const envs = items.map((bytes) => ({ bytes }) as unknown as TxEnvelope);
      const first = txRoot(hashes, envs);
      const again = txRoot(hashes, envs);
      return equalBytes(first, refRoot(items)) && equalBytes(again, first);
    }),
    { numRuns: 200 },
  );
  const env = { bytes: new Uint8Array([1, 2, 3]) } as unknown as TxEnvelope;
  const leaf = txLeaf(hashes, env);
  assert.ok(equalBytes(leaf, merkleLeaf(hashes, env.bytes)));
  assert.equal(txLeaf(hashes, env), leaf, 'the leaf is hashed once per envelope');
});

test('merkle root equals the recursive reference on random lists', () => {
  fc.assert(
    fc.property(itemsArb, (items) => equalBytes(merkleRoot(hashes, items), refRoot(items))),
    { numRuns: 300 },
  );
});

test('every inclusion proof verifies, and fails for another item or root', () => {
  fc.assert(
    fc.property(
      itemsArb.filter((a) => a.length > 0),
      fc.nat(),
      (items, k) => {
        const i = k % items.length;
        const root = merkleRoot(hashes, items);
        const proof = merkleProof(hashes, items, i);
        assert.ok(verifyMerkleProof(hashes, root, items[i]!, proof));
        const other = concatBytes(items[i]!, new Uint8Array([1]));
        assert.ok(!verifyMerkleProof(hashes, root, other, proof));
        const badRoot = root.slice();
        badRoot[0]! ^= 1;
        assert.ok(!verifyMerkleProof(hashes, badRoot, items[i]!, proof));
      },
    ),
    { numRuns: 200 },
  );
});

test('repeating the last transaction changes the root (no CVE-2012-2459 malleability)', () => {
  const a = new Uint8Array([1]);
  const b = new Uint8Array([2]);
  const c = new Uint8Array([3]);
  assert.ok(!equalBytes(merkleRoot(hashes, [a, b, c]), merkleRoot(hashes, [a, b, c, c])));
  // A leaf can never pass for an inner node: different domain labels.
  const inner = concatBytes(
    domainHash(hashes, DOMAIN.MERKLE_LEAF, a),
    domainHash(hashes, DOMAIN.MERKLE_LEAF, b),
  );
  assert.ok(!equalBytes(merkleRoot(hashes, [a, b]), merkleRoot(hashes, [inner])));
});

test('LtHash: incremental updates equal the accumulator built from scratch, in any order', () => {
  const entry = fc.tuple(fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 24 }));
  fc.assert(
    fc.property(fc.uniqueArray(entry, { selector: (e) => e[0], maxLength: 20 }), fc.nat(), (entries, cut) => {
      // scratch: all entries
      const scratch = new LtHash();
      for (const [k, v] of entries) scratch.mix(lthashElement(hashes, k, v), 1);
      // incremental: add in reverse, add and remove a junk entry, replace one value and put it back
      const inc = new LtHash();
      for (const [k, v] of [...entries].reverse()) inc.mix(lthashElement(hashes, k, v), 1);
      const junk = lthashElement(hashes, '\u0000junk', new Uint8Array([9]));
      inc.mix(junk, 1);
      inc.mix(junk, -1);
      if (entries.length > 0) {
        const [k, v] = entries[cut % entries.length]!;
        inc.mix(lthashElement(hashes, k, v), -1);
        inc.mix(lthashElement(hashes, k, concatBytes(v, new Uint8Array([1]))), 1);
        assert.ok(
          !equalBytes(inc.root(hashes), scratch.root(hashes)),
          'a changed value must change the root',
        );
        inc.mix(lthashElement(hashes, k, concatBytes(v, new Uint8Array([1]))), -1);
        inc.mix(lthashElement(hashes, k, v), 1);
      }
      assert.ok(equalBytes(inc.root(hashes), scratch.root(hashes)));
      assert.ok(equalBytes(LtHash.fromBytes(scratch.toBytes()).root(hashes), scratch.root(hashes)));
    }),
    { numRuns: 100 },
  );
});

test('LtHash: key and value boundaries are unambiguous', () => {
  const a = lthashElement(hashes, 'ab', new Uint8Array([99]));
  const b = lthashElement(hashes, 'a', new Uint8Array([98, 99]));
  assert.ok(!equalBytes(a, b));
});
