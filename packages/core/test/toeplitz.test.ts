import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  macDigest,
  nobleHashes,
  PadStream,
  randomBytes,
  ToeplitzMac,
  toeplitzHash,
  toHex,
} from '../src/index.js';

/** The obvious definition, bit by bit: h_i = ⊕_j T[i][j]·m_j with T[i][j] = k[i − j + n − 1]. */
function referenceToeplitz(key: Uint8Array, m: Uint8Array, t: number, n: number): Uint8Array {
  const bit = (b: Uint8Array, i: number) => (b[i >> 3]! >> (i & 7)) & 1;
  const out = new Uint8Array(Math.ceil(t / 8));
  for (let i = 0; i < t; i++) {
    let h = 0;
    for (let j = 0; j < n; j++) h ^= bit(key, i - j + n - 1) & bit(m, j);
    out[i >> 3]! |= h << (i & 7);
  }
  return out;
}

const arbCase = fc
  .record({ n: fc.integer({ min: 1, max: 1500 }), t: fc.integer({ min: 1, max: 300 }) })
  .chain(({ n, t }) =>
    fc.record({
      n: fc.constant(n),
      t: fc.constant(t),
      m: fc.uint8Array({ minLength: Math.ceil(n / 8), maxLength: Math.ceil(n / 8) }).map((m) => {
        if (n & 7) m[m.length - 1]! &= (1 << (n & 7)) - 1;
        return m;
      }),
      key: fc.uint8Array({
        minLength: Math.ceil((n + t - 1) / 8),
        maxLength: Math.ceil((n + t - 1) / 8) + 3,
      }),
    }),
  );

test('word-parallel Toeplitz hash equals the bit-by-bit reference on random sizes and keys', () => {
  fc.assert(
    fc.property(arbCase, ({ n, t, m, key }) => {
      assert.equal(toHex(toeplitzHash(key, m, t, n)), toHex(referenceToeplitz(key, m, t, n)));
    }),
    { numRuns: 400 },
  );
});

test('the fast path crosses its internal chunk boundary correctly (messages > 8 KiB)', () => {
  for (const bytes of [8192, 8193, 9000]) {
    const m = randomBytes(bytes);
    const key = randomBytes(bytes + 16);
    assert.equal(toHex(toeplitzHash(key, m, 128)), toHex(referenceToeplitz(key, m, 128, bytes * 8)));
  }
});

test('linearity: H(a ⊕ b) = H(a) ⊕ H(b)', () => {
  fc.assert(
    fc.property(arbCase, fc.infiniteStream(fc.integer({ min: 0, max: 255 })), ({ n, t, m, key }, s) => {
      const other = m.map(() => s.next().value as number);
      if (n & 7) other[other.length - 1]! &= (1 << (n & 7)) - 1;
      const x = m.map((v, i) => v ^ other[i]!);
      const hx = toeplitzHash(key, x, t, n);
      const ha = toeplitzHash(key, m, t, n);
      const hb = toeplitzHash(key, other, t, n);
      assert.deepEqual(
        hx,
        ha.map((v, i) => v ^ hb[i]!),
      );
    }),
    { numRuns: 200 },
  );
});

test('t = 8: the collision rate of fixed distinct messages over random keys stays at the 2^-8 bound', () => {
  const N = 40000;
  const t = 8;
  const pairs = [
    [new Uint8Array(16), Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 1 : 0))],
    [randomBytes(16), randomBytes(16)],
  ] as const;
  for (const [a, b] of pairs) {
    let collisions = 0;
    const keys = randomBytes(N * 17);
    for (let i = 0; i < N; i++) {
      const key = keys.subarray(i * 17, i * 17 + 17); // 135 ≥ 128 + 8 − 1 bits
      if (toeplitzHash(key, a, t)[0] === toeplitzHash(key, b, t)[0]) collisions++;
    }
    const p = 2 ** -t;
    const sigma = Math.sqrt((p * (1 - p)) / N);
    const rate = collisions / N;
    // for Toeplitz matrices T·(a ⊕ b) is uniform when a ≠ b, so the rate is 2^-t exactly in expectation
    assert.ok(rate <= p + 5 * sigma, `collision rate ${rate} exceeds 2^-8 + 5σ`);
    assert.ok(rate >= p - 5 * sigma, `collision rate ${rate} implausibly low (hash not random?)`);
  }
});

test('toeplitzHash validates its arguments', () => {
  assert.throws(() => toeplitzHash(new Uint8Array(10), new Uint8Array(8)), /key must hold ≥ 191 bits/);
  assert.throws(() => toeplitzHash('k' as unknown as Uint8Array, new Uint8Array(1)), TypeError);
  assert.throws(() => toeplitzHash(new Uint8Array(40), new Uint8Array([0xff]), 8, 4), /bits set past bit n/);
  assert.throws(() => toeplitzHash(new Uint8Array(40), new Uint8Array(2), 8, 4), /message must be/);
  assert.throws(() => toeplitzHash(new Uint8Array(40), new Uint8Array(2), 0), RangeError);
});

/** A sender and a receiver holding the same key material, as the two ends of a QKD link do. */
function link(padBytes = 4096, macKeyBytes = 1040, mode: 'its' | 'digest' = 'its') {
  const pads = randomBytes(padBytes);
  const key = randomBytes(macKeyBytes);
  const opts = mode === 'digest' ? { mode, hashes: nobleHashes } : { mode };
  return {
    tx: { mac: new ToeplitzMac(key, opts), pads: new PadStream(pads.slice()) },
    rx: { mac: new ToeplitzMac(key, opts), pads: new PadStream(pads.slice()) },
  };
}

for (const mode of ['its', 'digest'] as const) {
  test(`${mode} MAC: honest tags verify; wrong, truncated, extended or moved tags do not`, () => {
    const { tx, rx } = link(4096, 1040, mode);
    for (let i = 0; i < 20; i++) {
      const m = randomBytes(i * 40);
      const { position, tag } = tx.mac.tag(m, tx.pads);
      assert.equal(tag.length, 16);
      if (i % 4 === 0) assert.ok(rx.mac.verify(m, tag, position, rx.pads), 'honest tag verifies');
      else if (i % 4 === 1) {
        const bad = tag.slice();
        bad[i % 16]! ^= 1;
        assert.equal(rx.mac.verify(m, bad, position, rx.pads), false, 'flipped tag bit');
      } else if (i % 4 === 2) {
        assert.equal(rx.mac.verify(m, tag.subarray(0, 15), position, rx.pads), false, 'truncated tag');
      } else {
        const m2 = new Uint8Array([...m, 0]);
        assert.equal(rx.mac.verify(m2, tag, position, rx.pads), false, 'message with a zero byte appended');
      }
    }
  });
}

test('a pad is never handed out twice: positions only advance and old ones are refused', () => {
  const { tx, rx } = link();
  const a = tx.mac.tag(new Uint8Array([1]), tx.pads);
  const b = tx.mac.tag(new Uint8Array([1]), tx.pads);
  assert.equal(b.position, a.position + 16);
  assert.notDeepEqual(a.tag, b.tag, 'same message, fresh pad, different tag');
  assert.ok(
    rx.mac.verify(new Uint8Array([1]), b.tag, b.position, rx.pads),
    'receiver may skip a lost message',
  );
  assert.throws(() => rx.mac.verify(new Uint8Array([1]), a.tag, a.position, rx.pads), {
    code: 'MAC_PAD_REUSED',
  });
  assert.throws(() => rx.mac.verify(new Uint8Array([1]), b.tag, b.position, rx.pads), {
    code: 'MAC_PAD_REUSED',
  });
});

test('pads run out with a coded error, and appended key material continues the stream', () => {
  const s = new PadStream(randomBytes(20));
  s.next(16);
  assert.throws(() => s.next(16), { code: 'MAC_PAD_EXHAUSTED' });
  s.append(randomBytes(30));
  assert.equal(s.next(16).position, 16);
  assert.equal(s.remaining, 18);
  const material = randomBytes(32);
  const owned = new PadStream(material);
  owned.next(32);
  assert.ok(
    material.every((b) => b === 0),
    'consumed pad bytes are zeroed in place',
  );
});

test('its mode refuses a message longer than its key allows, without revealing key material', () => {
  const { tx } = link(4096, 48); // 384 key bits: width 257, at most 32 bytes
  assert.equal(tx.mac.maxMessageBytes, 32);
  tx.mac.tag(randomBytes(32), tx.pads);
  let err: unknown;
  try {
    tx.mac.tag(randomBytes(33), tx.pads);
  } catch (e) {
    err = e;
  }
  assert.equal((err as { code: string }).code, 'MAC_MESSAGE_TOO_LONG');
  assert.match((err as Error).message, /33 bytes.*32 bytes/);
  assert.doesNotMatch((err as Error).message, /[0-9a-f]{16}/, 'no hex key material in the message');
});

test('digest mode needs a 639-bit key for t = 128 and takes messages of any length', () => {
  assert.equal(ToeplitzMac.keyBits('digest'), 639);
  assert.throws(
    () => new ToeplitzMac(new Uint8Array(79), { mode: 'digest', hashes: nobleHashes }),
    RangeError,
  );
  const { tx, rx } = link(64, 80, 'digest');
  const big = randomBytes(100_000);
  const { position, tag } = tx.mac.tag(big, tx.pads);
  assert.ok(rx.mac.verify(big, tag, position, rx.pads));
});

test('digest mode: a digest computed once gives on every link the tag hashing the message would; its mode refuses one', () => {
  // Three links, three keys, one message: what a broadcast does.
  const links = [link(64, 80, 'digest'), link(64, 80, 'digest'), link(64, 80, 'digest')];
  for (const size of [0, 1, 100, 5000]) {
    const m = randomBytes(size);
    const d = macDigest(nobleHashes, m);
    assert.equal(d.length, 64);
    for (const { tx, rx } of links) {
      const pre = tx.mac.tag(m, tx.pads, d);
      // The receiver hashes the message itself: the precomputed digest must be exactly m̃.
      assert.ok(rx.mac.verify(m, pre.tag, pre.position, rx.pads), `size ${size}`);
    }
  }
  // Byte for byte the same tag as without it, from twin MACs with the same key and pads.
  const key = randomBytes(80);
  const pads = randomBytes(64);
  const a = {
    mac: new ToeplitzMac(key, { mode: 'digest', hashes: nobleHashes }),
    pads: new PadStream(pads.slice()),
  };
  const b = {
    mac: new ToeplitzMac(key, { mode: 'digest', hashes: nobleHashes }),
    pads: new PadStream(pads.slice()),
  };
  for (let i = 0; i < 3; i++) {
    const m = randomBytes(300 * i);
    assert.deepEqual(a.mac.tag(m, a.pads, macDigest(nobleHashes, m)), b.mac.tag(m, b.pads));
  }
  // A digest of another message makes a tag that fails.
  const { tx, rx } = link(64, 80, 'digest');
  const m = randomBytes(50);
  const wrong = tx.mac.tag(m, tx.pads, macDigest(nobleHashes, randomBytes(50)));
  assert.equal(rx.mac.verify(m, wrong.tag, wrong.position, rx.pads), false);
  assert.throws(() => tx.mac.tag(m, tx.pads, new Uint8Array(32)), RangeError);
  const its = link();
  assert.throws(() => its.tx.mac.tag(m, its.tx.pads, macDigest(nobleHashes, m)), /digest mode/);
});

test('a destroyed MAC refuses to work', () => {
  const { tx } = link();
  tx.mac.destroy();
  assert.throws(() => tx.mac.tag(new Uint8Array(1), tx.pads), { code: 'MAC_KEY_DESTROYED' });
});
