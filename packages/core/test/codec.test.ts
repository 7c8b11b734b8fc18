import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type CborValue, concatBytes, decode, encode, fromHex, toHex, withoutMapKey } from '../src/index.js';

// RFC 8949 Appendix A examples that fall inside the supported data model
const RFC_EXAMPLES: [CborValue, string][] = [
  [0, '00'],
  [23, '17'],
  [24, '1818'],
  [100, '1864'],
  [1000, '1903e8'],
  [1000000, '1a000f4240'],
  [1000000000000, '1b000000e8d4a51000'],
  [18446744073709551615n, '1bffffffffffffffff'],
  [-1, '20'],
  [-1000, '3903e7'],
  [-18446744073709551616n, '3bffffffffffffffff'],
  [false, 'f4'],
  [true, 'f5'],
  [null, 'f6'],
  [new Uint8Array([1, 2, 3, 4]), '4401020304'],
  ['', '60'],
  ['IETF', '6449455446'],
  ['\u00fc', '62c3bc'],
  ['\u6c34', '63e6b0b4'],
  ['\ud800\udd51', '64f0908591'],
  [[], '80'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [{}, 'a0'],
  [
    new Map<number, CborValue>([
      [1, 2],
      [3, 4],
    ]),
    'a201020304',
  ],
  [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
  [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145'],
];

test('encodes the RFC 8949 Appendix A examples exactly, and decodes them back', () => {
  for (const [v, hex] of RFC_EXAMPLES) {
    assert.equal(toHex(encode(v)), hex, `encode ${String(v)}`);
    assert.equal(toHex(encode(decode(fromHex(hex)))), hex);
  }
});

test('map keys are sorted by their encoded bytes (RFC 8949 §4.2.1), whatever the insertion order', () => {
  const a = encode({ zz: 1, a: 2, b: 3, aa: 4 });
  const b = encode({ aa: 4, b: 3, a: 2, zz: 1 });
  assert.deepEqual(a, b);
  // shorter keys first: "a" (61 61) < "b" (61 62) < "aa" (62 61 61) < "zz"
  assert.equal(toHex(a), 'a46161026162036261610462 7a7a01'.replace(' ', ''));
  assert.equal(
    toHex(
      encode(
        new Map<number | string, CborValue>([
          ['a', 1],
          [10, 2],
          [-1, 3],
        ]),
      ),
    ),
    'a30a0220036161 01'.replace(' ', ''),
  );
});

const value: fc.Arbitrary<CborValue> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(1n << 64n), max: (1n << 64n) - 1n }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 5 }),
  ),
})).node as fc.Arbitrary<CborValue>;

// bigints inside the safe range decode as numbers: compare the canonical encodings instead
test('round trip: decode(encode(v)) re-encodes to the same bytes for random values', () => {
  fc.assert(
    fc.property(value, (v) => {
      const b = encode(v);
      const again = encode(decode(b));
      assert.deepEqual(again, b);
    }),
    { numRuns: 2000 },
  );
});

test('withoutMapKey gives the encoding of the map without that entry (against encoding it again)', () => {
  const key = fc.oneof(fc.constantFrom('sig', 'a', 'body', 'v'), fc.stringMatching(/^[a-z]{0,23}$/));
  fc.assert(
    fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 30 }), fc.nat(), (m, pick) => {
      const keys = Object.keys(m);
      const k = keys[pick % keys.length]!;
      const rest = Object.fromEntries(Object.entries(m).filter(([x]) => x !== k));
      const parts = withoutMapKey(encode(m), k);
      assert.deepEqual(concatBytes(...parts), encode(rest));
    }),
    { numRuns: 2000 },
  );
  // Integer keys sort before text ones and are skipped over; a missing key and a non-map throw.
  const mixed = encode(
    new Map<string | number, CborValue>([
      [1, 'x'],
      [-3, [1, 2]],
      ['sig', new Uint8Array(30)],
      ['z', null],
    ]),
  );
  assert.deepEqual(
    toHex(concatBytes(...withoutMapKey(mixed, 'sig'))),
    toHex(
      encode(
        new Map<string | number, CborValue>([
          [1, 'x'],
          [-3, [1, 2]],
          ['z', null],
        ]),
      ),
    ),
  );
  assert.throws(() => withoutMapKey(encode({ a: 1 }), 'b'), /no key "b"/);
  assert.throws(() => withoutMapKey(encode([1, 2]), 'a'), /not a map/);
  assert.throws(() => withoutMapKey(encode({ a: 1 }), 'é'), /ASCII/);
});

test('round trip keeps values: numbers, strings, bytes, nesting', () => {
  fc.assert(
    fc.property(
      fc.record({
        n: fc.maxSafeInteger().map((x) => x + 0),
        s: fc.string(),
        b: fc.uint8Array(),
        l: fc.array(fc.integer().map((x) => x + 0)),
      }), // -0 encodes as 0
      (v) => {
        assert.deepEqual(decode(encode(v)), { ...v }); // fast-check records have a null prototype
      },
    ),
    { numRuns: 500 },
  );
});

test('decoding rejects every non-canonical or unsupported form with a coded error', () => {
  const cases: [string, string][] = [
    ['1817', 'CODEC_NON_CANONICAL'], // 23 in two bytes
    ['190017', 'CODEC_NON_CANONICAL'],
    ['1a0000ffff', 'CODEC_NON_CANONICAL'],
    ['1b00000000ffffffff', 'CODEC_NON_CANONICAL'],
    ['5801ff', 'CODEC_NON_CANONICAL'], // length 1 in long form
    ['5f41ff', 'CODEC_UNSUPPORTED'], // indefinite bytes
    ['9f01ff', 'CODEC_UNSUPPORTED'], // indefinite array
    ['a2616201616101', 'CODEC_NON_CANONICAL'], // keys out of order
    ['a2616101616102', 'CODEC_DUPLICATE_KEY'],
    ['f93c00', 'CODEC_UNSUPPORTED'], // half float 1.0
    ['fb3ff0000000000000', 'CODEC_UNSUPPORTED'], // double
    ['c11a514b67b0', 'CODEC_UNSUPPORTED'], // tag 1
    ['f7', 'CODEC_UNSUPPORTED'], // undefined
    ['f0', 'CODEC_UNSUPPORTED'], // simple(16)
    ['1c', 'CODEC_UNSUPPORTED'], // reserved info 28
    ['62c328', 'CODEC_INVALID_UTF8'],
    ['0000', 'CODEC_TRAILING_BYTES'],
    ['19ff', 'CODEC_TRUNCATED'],
    ['43010203ff'.slice(0, 6), 'CODEC_TRUNCATED'],
    ['9b0000000100000000', 'CODEC_TRUNCATED'], // absurd array length
    ['', 'CODEC_TRUNCATED'],
    ['a10102', 'CODEC_UNSUPPORTED'.replace('CODEC_UNSUPPORTED', 'NONE')],
  ];
  for (const [hex, code] of cases) {
    if (code === 'NONE') {
      assert.ok(decode(fromHex(hex)) instanceof Map, 'integer-keyed maps decode as Map');
      continue;
    }
    assert.throws(() => decode(fromHex(hex)), { code }, `${hex} → ${code}`);
  }
  // nesting bomb
  assert.throws(() => decode(new Uint8Array(100).fill(0x81)), { code: 'CODEC_TOO_DEEP' });
});

test('random byte strings either decode to a value that re-encodes identically, or fail with a code', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 30 }), (b) => {
      let v: CborValue;
      try {
        v = decode(b);
      } catch (e) {
        assert.match((e as { code?: string }).code ?? '', /^CODEC_/);
        return;
      }
      assert.deepEqual(encode(v), b, 'accepted input is canonical');
    }),
    { numRuns: 20000 },
  );
});

test('encoding refuses what has no canonical form, naming the path', () => {
  assert.throws(() => encode(1.5), /\$: only safe integers/);
  assert.throws(() => encode({ a: [1, 2 ** 60] }), /\$\.a\[1\]/);
  assert.throws(() => encode(1n << 64n), RangeError);
  assert.throws(() => encode({ d: new Date() } as unknown as CborValue), TypeError);
  assert.throws(() => encode('\ud800'), /lone surrogates/);
  assert.throws(
    () =>
      encode(
        new Map<number | bigint | string, CborValue>([
          [1, 1],
          [1n, 2],
        ]),
      ),
    /duplicate map key/,
  );
  assert.deepEqual(encode({ a: 1, b: undefined }), encode({ a: 1 }), 'absent optional fields');
  const proto = decode(encode(JSON.parse('{"__proto__": 5}'))) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype, '"__proto__" stays a plain key');
  assert.equal(Object.getOwnPropertyDescriptor(proto, '__proto__')?.value, 5);
});

test('toHex agrees with a digit-by-digit reference on random bytes, views and lengths past its scratch buffer, and fromHex inverts it', () => {
  const reference = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 80 }),
        // Past the 4,096 bytes the reused scratch buffer holds.
        fc.uint8Array({ minLength: 4090, maxLength: 12_300 }),
      ),
      fc.nat(7),
      (bytes, cut) => {
        const view = bytes.subarray(Math.min(cut, bytes.length));
        const hex = toHex(view);
        assert.equal(hex, reference(view));
        assert.deepEqual(fromHex(hex), view);
      },
    ),
    { numRuns: 300 },
  );
  assert.equal(toHex(new Uint8Array(0)), '');
  assert.equal(toHex(new Uint8Array([0, 9, 10, 15, 16, 160, 255])), '00090a0f10a0ff');
});

test('text strings: the ASCII fast path agrees with a fatal TextDecoder (the reference) on random bytes', () => {
  const reference = new TextDecoder('utf-8', { fatal: true });
  // A text-string head for n bytes, then the bytes: short ones take the fast path, longer
  // ones (over 64 bytes) and any with a byte ≥ 0x80 go through TextDecoder.
  const textItem = (bytes: Uint8Array) => {
    const n = bytes.length;
    const head = n < 24 ? [0x60 | n] : n < 256 ? [0x78, n] : [0x79, n >> 8, n & 0xff];
    return Uint8Array.from([...head, ...bytes]);
  };
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 80 }).map((b) => b.map((x) => x & 0x7f)),
        fc.uint8Array({ maxLength: 80 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => new TextEncoder().encode(s)),
      ),
      (bytes) => {
        let want: string | null;
        try {
          want = reference.decode(bytes);
        } catch {
          want = null;
        }
        let got: string | null;
        try {
          got = decode(textItem(bytes)) as string;
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'CODEC_INVALID_UTF8');
          got = null;
        }
        assert.equal(got, want);
      },
    ),
    { numRuns: 2000 },
  );
});

test('short strings are shared between decodes, and stay right when many distinct ones collide in the table', () => {
  const reference = new TextDecoder('utf-8', { fatal: true });
  // 20,000 distinct short ASCII strings against a table of 1,024: most slots are taken over
  // many times. Each pass decodes every string and compares it with the reference; the second
  // pass, in another order, finds some in the table and rebuilds the others.
  const strings = Array.from({ length: 20_000 }, (_, i) => `k${i.toString(36)}${'x'.repeat(i % 25)}`);
  const encoded = strings.map((s) => encode(s));
  for (const order of [strings.keys(), [...strings.keys()].reverse()])
    for (const i of order) {
      const got = decode(encoded[i]!);
      assert.equal(got, reference.decode(encoded[i]!.subarray(encoded[i]![0]! < 0x78 ? 1 : 2)));
      assert.equal(got, strings[i]);
    }
  // A message whose short strings are all in the table by now decodes to the same object
  // twice, keys in canonical order, values right whatever the slots held before.
  const msg = encode({ alg: 'ml-dsa-44', chain: 'devnet', from: 'client-17', kind: 'data' });
  const a = decode(msg) as Record<string, string>;
  const b = decode(msg) as Record<string, string>;
  assert.deepEqual(a, b);
  assert.deepEqual(Object.keys(a), ['alg', 'from', 'kind', 'chain']);
  assert.equal(a.from, 'client-17');
});

test('a text-keyed map with a later non-text key is refused at that key; integer keys make a Map', () => {
  // {"a": 1, 1: 2}: the integer key sorts before "a", so it is out of canonical order.
  const bad = fromHex('a26161010102');
  assert.throws(
    () => decode(bad),
    (e: { code?: string; details?: { offset?: number } }) => {
      assert.equal(e.code, 'CODEC_NON_CANONICAL');
      assert.equal(e.details?.offset, 4, 'the offending key, after the first entry');
      return true;
    },
  );
  // {1: "x", "a": 2} in canonical order: a Map, keys and values in order.
  const mixed = decode(
    encode(
      new Map<number | string, CborValue>([
        [1, 'x'],
        ['a', 2],
      ]),
    ),
  );
  assert.ok(mixed instanceof Map);
  assert.deepEqual(
    [...mixed.entries()],
    [
      [1, 'x'],
      ['a', 2],
    ],
  );
  // A map inside an object inside a Map: each reads as its own kind.
  const nested = decode(encode(new Map<number, CborValue>([[0, { b: new Map([[2, 'y']]) }]]))) as Map<
    number,
    { b: Map<number, string> }
  >;
  assert.equal(nested.get(0)?.b.get(2), 'y');
});

test('decoded byte strings are copies, also from a Node.js Buffer (whose slice is a view)', () => {
  const payload = Uint8Array.from([1, 2, 3, 4]);
  const input = Buffer.from(encode([payload, 'x']));
  const [bytes] = decode(input) as [Uint8Array, string];
  assert.deepEqual(bytes, payload);
  input.fill(0); // the input's memory is reused
  assert.deepEqual(bytes, payload, 'the decoded bytes did not change with it');
  assert.ok(!Buffer.isBuffer(bytes), 'a plain Uint8Array');
});

test('decode with views: the same values, byte strings sharing the input; without, copies', () => {
  fc.assert(
    fc.property(value, (v) => {
      const bytes = encode(v);
      assert.deepEqual(decode(bytes, { views: true }), decode(bytes));
    }),
    { numRuns: 300 },
  );
  const bytes = encode({ a: new Uint8Array([1, 2, 3]), b: [new Uint8Array([4])] });
  const viewed = decode(bytes, { views: true }) as { a: Uint8Array; b: Uint8Array[] };
  const copied = decode(bytes) as { a: Uint8Array; b: Uint8Array[] };
  assert.equal(viewed.a.buffer, bytes.buffer);
  assert.notEqual(copied.a.buffer, bytes.buffer);
  bytes[bytes.length - 1] = 9; // the last byte is b[0]'s content
  assert.deepEqual(viewed.b[0], new Uint8Array([9]));
  assert.deepEqual(copied.b[0], new Uint8Array([4]));
  // A Node.js Buffer input gives plain Uint8Array views too.
  const buf = Buffer.from(encode(new Uint8Array([7, 8])));
  const out = decode(buf, { views: true }) as Uint8Array;
  assert.equal(out.constructor, Uint8Array);
  assert.equal(out.buffer, buf.buffer);
});
