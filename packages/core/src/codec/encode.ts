/**
 * Deterministic CBOR encoder (RFC 8949 §4.2.1, "core deterministic encoding"):
 * shortest-form arguments, definite lengths only, map keys sorted by the bytewise order of
 * their own encodings, no duplicate keys. The supported data model is the subset in
 * `CborValue`: integers up to 64 bits, byte and text strings, arrays, maps, booleans, null.
 */
import { describe, isBytes } from '../bytes.js';
import type { CborValue } from './types.js';

const MAX_DEPTH = 64;
const TWO_64 = 1n << 64n;
const textEncoder = new TextEncoder();

class Writer {
  buf: Uint8Array;
  len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Major type + argument in the shortest form (§4.2.1 preferred serialization). */
  head(major: number, arg: number | bigint): void {
    const m = major << 5;
    if (typeof arg === 'number') {
      if (arg < 24) {
        this.byte(m | arg);
        return;
      }
      if (arg < 0x100) {
        this.reserve(2);
        this.buf[this.len++] = m | 24;
        this.buf[this.len++] = arg;
        return;
      }
      if (arg < 0x10000) {
        this.reserve(3);
        this.buf[this.len++] = m | 25;
        this.buf[this.len++] = arg >>> 8;
        this.buf[this.len++] = arg & 0xff;
        return;
      }
      if (arg < 0x100000000) {
        this.reserve(5);
        this.buf[this.len++] = m | 26;
        new DataView(this.buf.buffer).setUint32(this.len, arg);
        this.len += 4;
        return;
      }
      this.head(major, BigInt(arg));
      return;
    }
    if (arg < 0x100000000n) {
      this.head(major, Number(arg));
      return;
    }
    this.reserve(9);
    this.buf[this.len++] = m | 27;
    new DataView(this.buf.buffer).setBigUint64(this.len, arg);
    this.len += 8;
  }
}

function encodeInt(w: Writer, v: number | bigint, path: string): void {
  const big = typeof v === 'bigint' ? v : BigInt(v);
  if (big >= 0n) {
    if (big >= TWO_64) throw new RangeError(`${path}: integer ${big} does not fit in 64 bits`);
    w.head(0, typeof v === 'number' ? v : big);
  } else {
    const n = -1n - big;
    if (n >= TWO_64) throw new RangeError(`${path}: integer ${big} does not fit in 64 bits`);
    w.head(1, typeof v === 'number' ? -1 - v : n);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Encoded text keys: the same few field names recur in every record. */
const keyCache = new Map<string, Uint8Array>();
const KEY_CACHE_MAX = 4096;

function encodedKey(k: CborValue, path: string, depth: number): Uint8Array {
  const cached = typeof k === 'string' ? keyCache.get(k) : undefined;
  if (cached) return cached;
  const kw = new Writer(16);
  encodeValue(kw, k, `${path}.<key>`, depth + 1);
  const bytes = kw.buf.slice(0, kw.len);
  if (typeof k === 'string' && keyCache.size < KEY_CACHE_MAX) keyCache.set(k, bytes);
  return bytes;
}

function encodeMap(w: Writer, entries: [CborValue, CborValue][], path: string, depth: number): void {
  const encoded = entries.map(([k, v]) => ({ key: encodedKey(k, path, depth), value: v, name: String(k) }));
  encoded.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < encoded.length; i++) {
    if (compareBytes(encoded[i - 1]!.key, encoded[i]!.key) === 0) {
      throw new RangeError(`${path}: duplicate map key ${encoded[i]!.name}`);
    }
  }
  w.head(5, encoded.length);
  for (const e of encoded) {
    w.bytes(e.key);
    encodeValue(w, e.value, `${path}.${e.name}`, depth + 1);
  }
}

function encodeValue(w: Writer, v: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError(`${path}: nesting deeper than ${MAX_DEPTH}`);
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v)) {
        throw new RangeError(`${path}: only safe integers are encodable (no floats), got ${v}`);
      }
      encodeInt(w, v, path);
      return;
    case 'bigint':
      encodeInt(w, v, path);
      return;
    case 'string': {
      if (!v.isWellFormed()) throw new RangeError(`${path}: string has lone surrogates (not valid UTF-8)`);
      const b = textEncoder.encode(v);
      w.head(3, b.length);
      w.bytes(b);
      return;
    }
    case 'boolean':
      w.byte(v ? 0xf5 : 0xf4);
      return;
    case 'object': {
      if (v === null) {
        w.byte(0xf6);
        return;
      }
      if (isBytes(v)) {
        w.head(2, v.length);
        w.bytes(v);
        return;
      }
      if (Array.isArray(v)) {
        w.head(4, v.length);
        for (let i = 0; i < v.length; i++) encodeValue(w, v[i], `${path}[${i}]`, depth + 1);
        return;
      }
      if (v instanceof Map) {
        const entries: [CborValue, CborValue][] = [];
        for (const [k, val] of v) {
          if (typeof k !== 'string' && typeof k !== 'bigint' && !Number.isSafeInteger(k)) {
            throw new TypeError(`${path}: map keys must be integers or strings, got ${describe(k)}`);
          }
          entries.push([k, val]);
        }
        encodeMap(w, entries, path, depth);
        return;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`${path}: cannot encode ${describe(v)}`);
      }
      const entries: [CborValue, CborValue][] = [];
      for (const k of Object.keys(v)) {
        const val = (v as Record<string, unknown>)[k];
        if (val !== undefined) entries.push([k, val as CborValue]); // absent optional fields
      }
      encodeMap(w, entries, path, depth);
      return;
    }
    default:
      throw new TypeError(`${path}: cannot encode ${describe(v)}`);
  }
}

/** Encodes `value` in deterministic CBOR. Throws TypeError/RangeError naming the bad path. */
/** One growing buffer for every top-level encode (encoding never re-enters encode). */
const scratch = new Writer(4096);

/** The shortest-form head of an item of major type `major` with argument `arg` (e.g. a map of `arg` entries). */
export function encodeHead(major: number, arg: number): Uint8Array {
  const w = new Writer(9);
  w.head(major, arg);
  return w.buf.subarray(0, w.len);
}

export function encode(value: CborValue): Uint8Array {
  scratch.len = 0;
  encodeValue(scratch, value, '$', 0);
  const out = scratch.buf.slice(0, scratch.len);
  if (scratch.buf.length > 1 << 22) scratch.buf = new Uint8Array(4096); // do not pin a huge buffer
  return out;
}
