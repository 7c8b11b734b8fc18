import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type BeaconReveal,
  beaconCommit,
  beaconSeed,
  beaconVerify,
  hasCode,
  type QledgerError,
  randomBytes,
  seededStream,
  shuffle,
  toHex,
} from '../src/index.js';

const ctx = { chainId: 'qledger-devnet', epoch: 7 };
const validators = ['v1', 'v2', 'v3', 'v4'];

function round(values?: Uint8Array[]) {
  const reveals: BeaconReveal[] = validators.map((v, i) => ({
    validator: v,
    value: values?.[i] ?? randomBytes(32),
    salt: randomBytes(32),
  }));
  const commitments = new Map(
    reveals.map((r) => [r.validator, beaconCommit(ctx, r.validator, r.value, r.salt)]),
  );
  return { reveals, commitments };
}

test('a reveal opens its own commitment and nothing else', () => {
  const { reveals, commitments } = round();
  for (const r of reveals) assert.ok(beaconVerify(ctx, commitments.get(r.validator)!, r));
  const r = reveals[0]!;
  const c = commitments.get('v1')!;
  const flip = (b: Uint8Array) => b.map((x, i) => (i === 0 ? x ^ 1 : x));
  assert.equal(beaconVerify(ctx, c, { ...r, value: flip(r.value) }), false);
  assert.equal(beaconVerify(ctx, c, { ...r, salt: flip(r.salt) }), false);
  // bound to validator, epoch and chain: copying v1's commitment and reveal as v2 fails
  assert.equal(beaconVerify(ctx, c, { ...r, validator: 'v2' }), false);
  assert.equal(beaconVerify({ ...ctx, epoch: 8 }, c, r), false);
  assert.equal(beaconVerify({ ...ctx, chainId: 'other' }, c, r), false);
});

test('the seed needs the threshold of valid reveals and ignores their order', () => {
  const { reveals, commitments } = round();
  const seed = beaconSeed(ctx, commitments, reveals, 3);
  const reordered = shuffle(reveals, seededStream(new Uint8Array([1])));
  assert.equal(toHex(beaconSeed(ctx, commitments, reordered, 3)), toHex(seed));
  // any 3 of 4 also give a seed (a different one: it depends on who revealed)
  const three = beaconSeed(ctx, commitments, reveals.slice(1), 3);
  assert.notEqual(toHex(three), toHex(seed));
  assert.throws(
    () => beaconSeed(ctx, commitments, reveals.slice(2), 3),
    (e) => hasCode(e, 'QRNG_BEACON_QUORUM') && /2 valid reveals, 3 needed/.test((e as Error).message),
  );
});

test('no single contributor controls the seed: changing any one value changes it unpredictably', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (who, v) => {
      const honest = validators.map(() => randomBytes(32));
      const a = round(honest);
      const alt = honest.slice();
      alt[who] = v;
      const b = round(alt);
      const sa = beaconSeed(ctx, a.commitments, a.reveals, 4);
      const sb = beaconSeed(ctx, b.commitments, b.reveals, 4);
      if (toHex(v) === toHex(honest[who]!)) assert.equal(toHex(sa), toHex(sb));
      else assert.notEqual(toHex(sa), toHex(sb));
    }),
    { numRuns: 100 },
  );
  // A contributor who copies another's value (hoping to cancel it, as with an XOR combiner)
  // does not cancel anything: the seed is a hash over (validator, value) pairs.
  const v = randomBytes(32);
  const copy = round([v, v, randomBytes(32), randomBytes(32)]);
  const seed = beaconSeed(ctx, copy.commitments, copy.reveals, 4);
  const other = round([v, v, copy.reveals[2]!.value, copy.reveals[3]!.value]);
  assert.equal(toHex(beaconSeed(ctx, other.commitments, other.reveals, 4)), toHex(seed)); // salts do not matter
  assert.notEqual(toHex(seed), toHex(new Uint8Array(32)));
});

test('bad reveals are refused with a code naming the validator', () => {
  const { reveals, commitments } = round();
  const forged = { ...reveals[1]!, value: randomBytes(32) };
  assert.throws(
    () => beaconSeed(ctx, commitments, [reveals[0]!, forged, reveals[2]!], 2),
    (e) => hasCode(e, 'QRNG_BEACON_BAD_REVEAL') && (e as QledgerError).details?.validator === 'v2',
  );
  assert.throws(
    () => beaconSeed(ctx, commitments, [reveals[0]!, reveals[0]!], 1),
    (e) => hasCode(e, 'QRNG_BEACON_DUPLICATE_REVEAL'),
  );
  assert.throws(
    () => beaconSeed(ctx, commitments, [{ ...reveals[0]!, validator: 'v9' }], 1),
    (e) => hasCode(e, 'QRNG_BEACON_UNKNOWN_VALIDATOR') && /v9/.test((e as Error).message),
  );
  assert.throws(() => beaconCommit(ctx, 'v1', new Uint8Array(16), randomBytes(32)), /value must be 32 bytes/);
  assert.throws(
    () => beaconCommit({ chainId: '', epoch: 0 }, 'v1', randomBytes(32), randomBytes(32)),
    /chainId/,
  );
  assert.throws(() => beaconSeed(ctx, commitments, reveals, 5), /threshold must be in \[1, 4\]/);
});

test('the seed drives a deterministic leader order that every validator computes alike', () => {
  const { reveals, commitments } = round();
  const seed = beaconSeed(ctx, commitments, reveals, 3);
  const order1 = shuffle(validators, seededStream(seed));
  const order2 = shuffle(validators, seededStream(beaconSeed(ctx, commitments, [...reveals].reverse(), 3)));
  assert.deepEqual(order1, order2);
  assert.deepEqual([...order1].sort(), validators);
});
