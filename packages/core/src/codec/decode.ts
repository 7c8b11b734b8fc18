/**
 * Strict decoder for deterministic CBOR (RFC 8949 §4.2.1). Everything the encoder could not
 * have produced is rejected with a coded error: non-shortest arguments, indefinite lengths,
 * unsorted or duplicate map keys, floats, tags, undefined and other simple values, invalid
 * UTF-8, trailing bytes. So `encode(decode(b))` equals `b` for every accepted `b`, and one
 * value has exactly one accepted encoding — what hashing and signing need.
 */
import { QledgerError } from '../errors.js';
import { encodeHead } from './encode.js';
import { type CborValue, CODEC_ERRORS } from './types.js';

export interface DecodeOptions {
  /** Maximum nesting depth (default 64). */
  maxDepth?: number;
  /**
   * Byte strings as views into `bytes` instead of copies (default false). Only for input that
   * is never written to afterwards, and kept alive as long as the value: a transaction's
   * envelope holds its bytes and never changes them, so its decoded fields may share them.
   */
  views?: boolean;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

function fail(code: string, msg: string, offset: number): never {
  throw new QledgerError(code, `${msg} at byte ${offset}`, { offset });
}

/** Longest text string read byte by byte when it is ASCII (shorter than TextDecoder's call). */
const ASCII_FAST_MAX = 64;

/** `buf[at, at + n)` as a string if every byte is ASCII (then it is valid UTF-8), else null. */
function asciiString(buf: Uint8Array, at: number, n: number): string | null {
  let s = '';
  for (let i = at; i < at + n; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return null;
    s += String.fromCharCode(b);
  }
  return s;
}

class Reader {
  pos = 0;
  #dv: DataView | undefined;
  constructor(
    readonly buf: Uint8Array,
    readonly maxDepth: number,
    readonly views = false,
  ) {}

  /** One view for the whole input, made on first need (most items have one-byte heads). */
  get dv(): DataView {
    this.#dv ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.#dv;
  }

  need(n: number): void {
    if (n > this.buf.length - this.pos)
      fail(CODEC_ERRORS.TRUNCATED, `input ends early (need ${n} bytes)`, this.pos);
  }

  /** Reads the argument of a head; enforces the shortest form. */
  arg(info: number, start: number): number | bigint {
    if (info < 24) return info;
    let v: number | bigint;
    let min: number | bigint;
    switch (info) {
      case 24:
        this.need(1);
        v = this.buf[this.pos]!;
        this.pos += 1;
        min = 24;
        break;
      case 25:
        this.need(2);
        v = this.dv.getUint16(this.pos);
        this.pos += 2;
        min = 0x100;
        break;
      case 26:
        this.need(4);
        v = this.dv.getUint32(this.pos);
        this.pos += 4;
        min = 0x10000;
        break;
      case 27: {
        this.need(8);
        const b = this.dv.getBigUint64(this.pos);
        this.pos += 8;
        if (b < 0x100000000n)
          fail(CODEC_ERRORS.NON_CANONICAL, 'integer argument not in shortest form', start);
        return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
      }
      case 31:
        return fail(CODEC_ERRORS.UNSUPPORTED, 'indefinite-length items are not allowed', start);
      default:
        return fail(CODEC_ERRORS.UNSUPPORTED, `reserved additional information ${info}`, start);
    }
    if (v < min) fail(CODEC_ERRORS.NON_CANONICAL, 'integer argument not in shortest form', start);
    return v;
  }

  length(info: number, start: number): number {
    const n = this.arg(info, start);
    if (typeof n === 'bigint' || n > this.buf.length - this.pos) {
      fail(CODEC_ERRORS.TRUNCATED, 'length exceeds the input', start);
    }
    return n;
  }

  value(depth: number): CborValue {
    if (depth > this.maxDepth) fail(CODEC_ERRORS.TOO_DEEP, `nesting deeper than ${this.maxDepth}`, this.pos);
    this.need(1);
    const start = this.pos;
    const ib = this.buf[this.pos++]!;
    const major = ib >> 5;
    const info = ib & 0x1f;
    switch (major) {
      case 0:
        return this.arg(info, start);
      case 1: {
        const n = this.arg(info, start);
        if (typeof n === 'number') return -1 - n;
        const v = -1n - n;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
      }
      case 2: {
        const n = this.length(info, start);
        // A copy (`decode` reads a plain Uint8Array), or with `views` a view of the input.
        const out = this.views
          ? this.buf.subarray(this.pos, this.pos + n)
          : this.buf.slice(this.pos, this.pos + n);
        this.pos += n;
        return out;
      }
      case 3: {
        const n = this.length(info, start);
        let s = n <= ASCII_FAST_MAX ? asciiString(this.buf, this.pos, n) : null;
        if (s === null)
          try {
            s = textDecoder.decode(this.buf.subarray(this.pos, this.pos + n));
          } catch {
            return fail(CODEC_ERRORS.INVALID_UTF8, 'text string is not valid UTF-8', start);
          }
        this.pos += n;
        return s;
      }
      case 4: {
        const n = this.length(info, start); // each element takes ≥ 1 byte, so n ≤ remaining
        const out: CborValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
        return out;
      }
      case 5:
        return this.map(info, start, depth);
      case 6:
        return fail(CODEC_ERRORS.UNSUPPORTED, 'tags are not allowed', start);
      default:
        if (ib === 0xf4) return false;
        if (ib === 0xf5) return true;
        if (ib === 0xf6) return null;
        if (info >= 25 && info <= 27)
          return fail(CODEC_ERRORS.UNSUPPORTED, 'floating-point values are not allowed', start);
        return fail(CODEC_ERRORS.UNSUPPORTED, `simple value 0x${ib.toString(16)} is not allowed`, start);
    }
  }

  /** Moves past one item without building it (for input `decode` already accepted). */
  skip(): void {
    this.need(1);
    const start = this.pos;
    const ib = this.buf[this.pos++]!;
    const major = ib >> 5;
    const info = ib & 0x1f;
    if (major === 2 || major === 3) {
      const n = this.length(info, start); // moves past the head first
      this.pos += n;
    } else if (major === 4) for (let n = this.length(info, start); n > 0; n--) this.skip();
    else if (major === 5) for (let n = 2 * this.length(info, start); n > 0; n--) this.skip();
    else if (major < 2) this.arg(info, start);
    // major 7 (false, true, null): the head is the item
  }

  map(info: number, start: number, depth: number): CborValue {
    const n = this.length(info, start);
    const keys: (string | number | bigint)[] = [];
    const values: CborValue[] = [];
    let prev: Uint8Array | undefined;
    let allText = true;
    for (let i = 0; i < n; i++) {
      const kStart = this.pos;
      const k = this.value(depth + 1);
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint') {
        fail(CODEC_ERRORS.UNSUPPORTED, 'map keys must be integers or text strings', kStart);
      }
      const kBytes = this.buf.subarray(kStart, this.pos);
      if (prev !== undefined) {
        const c = compare(prev, kBytes);
        if (c === 0) fail(CODEC_ERRORS.DUPLICATE_KEY, `duplicate map key ${String(k)}`, kStart);
        if (c > 0) fail(CODEC_ERRORS.NON_CANONICAL, 'map keys are not in canonical order', kStart);
      }
      prev = kBytes;
      if (typeof k !== 'string') allText = false;
      keys.push(k);
      values.push(this.value(depth + 1));
    }
    if (allText) {
      const obj: Record<string, CborValue> = {};
      for (let i = 0; i < n; i++) {
        const k = keys[i] as string;
        // A key named "__proto__" must become data, not a prototype change; any other key is
        // an ordinary own property either way, and assignment is the fast way to make one.
        if (k === '__proto__')
          Object.defineProperty(obj, k, {
            value: values[i],
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else obj[k] = values[i]!;
      }
      return obj;
    }
    return new Map(keys.map((k, i) => [k, values[i]!]));
  }
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Decodes exactly one deterministic-CBOR item filling all of `bytes`. */
export function decode(bytes: Uint8Array, opts: DecodeOptions = {}): CborValue {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  // A Node.js Buffer's slice is a view: read it through a plain Uint8Array over the same
  // memory, so every decoded byte string is a copy that owns its bytes (or, with `views`, a
  // plain Uint8Array view).
  const plain =
    bytes.constructor === Uint8Array
      ? bytes
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(plain, opts.maxDepth ?? 64, opts.views === true);
  const v = r.value(0);
  if (r.pos !== bytes.length)
    fail(CODEC_ERRORS.TRAILING_BYTES, `${bytes.length - r.pos} bytes after the item`, r.pos);
  return v;
}

/**
 * The encoding of a map without its entry under text key `key`, given `bytes`, the map's
 * deterministic encoding (as `decode` accepts it). The entries keep their order, so the
 * result is the deterministic encoding of the smaller map. It comes in parts to be hashed or
 * joined (the new head, the entries before the key, the entries after it) and shares
 * memory with `bytes`. `key` must be ASCII and shorter than 24 bytes. Throws a RangeError
 * when `bytes` is not a map holding `key`.
 */
export function withoutMapKey(bytes: Uint8Array, key: string): [Uint8Array, Uint8Array, Uint8Array] {
  let ascii = key.length < 24;
  for (let i = 0; ascii && i < key.length; i++) ascii = key.charCodeAt(i) <= 0x7f;
  if (!ascii) throw new RangeError('withoutMapKey: the key must be ASCII and shorter than 24 bytes');
  const r = new Reader(bytes, 64);
  r.need(1);
  const ib = bytes[r.pos++]!;
  if (ib >> 5 !== 5) throw new RangeError('withoutMapKey: not a map');
  const n = r.length(ib & 0x1f, 0);
  const first = r.pos;
  for (let i = 0; i < n; i++) {
    const kStart = r.pos;
    r.need(1);
    const kb = bytes[r.pos]!;
    // A text key of this length has a one-byte head, then its bytes.
    const isKey = kb === 0x60 + key.length && asciiString(bytes, r.pos + 1, key.length) === key;
    r.skip();
    r.skip();
    if (isKey) return [encodeHead(5, n - 1), bytes.subarray(first, kStart), bytes.subarray(r.pos)];
  }
  throw new RangeError(`withoutMapKey: no key ${JSON.stringify(key)}`);
}
