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

/**
 * Short ASCII strings already made, direct-mapped by a hash of their bytes. Decoded messages
 * repeat the same few strings (map keys, algorithm and kind names, chain and sender names):
 * a hit returns the one string instead of building a new one char by char, and a validator
 * holding thousands of pending transactions holds one copy of each name, not one per
 * transaction, for its collector to copy. A miss (or a collision) just builds and replaces, so
 * the table stays this size whatever the input.
 */
const INTERN_MAX = 32;
const INTERN_SLOTS = 1024;
const interned: (string | undefined)[] = new Array(INTERN_SLOTS).fill(undefined);

/** `buf[at, at + n)` as a string if every byte is ASCII (then it is valid UTF-8), else null. */
function asciiString(buf: Uint8Array, at: number, n: number): string | null {
  if (n <= INTERN_MAX) {
    let h = n;
    for (let i = at; i < at + n; i++) {
      const b = buf[i]!;
      if (b >= 0x80) return null;
      h = Math.imul(h ^ b, 0x01000193);
    }
    const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
    const hit = interned[slot];
    if (hit !== undefined && asciiEquals(buf, at, n, hit)) return hit;
    const s = buildAscii(buf, at, n)!; // every byte was checked above
    interned[slot] = s;
    return s;
  }
  return buildAscii(buf, at, n);
}

/** `buf[at, at + n)` as a string, or null at the first byte that is not ASCII. */
function buildAscii(buf: Uint8Array, at: number, n: number): string | null {
  let s = '';
  for (let i = at; i < at + n; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return null;
    s += String.fromCharCode(b);
  }
  return s;
}

/** True when `buf[at, at + n)` holds exactly the (ASCII) string `s`. */
function asciiEquals(buf: Uint8Array, at: number, n: number, s: string): boolean {
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
  return true;
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
    // Text keys make a plain object, built as it is read (no key and value lists, no view
    // per key for the order check); a map whose first key is not text is a Map. Integer keys
    // sort before text keys in canonical order, so after a text key every key is text: any
    // other is out of order, and the map is read again from its first entry as a Map, which
    // refuses it at that key as before.
    const first = this.pos;
    if (n > 0 && this.buf[first]! >> 5 !== 3) return this.mapOf(n, first, depth);
    const obj: Record<string, CborValue> = {};
    let prevStart = -1;
    let prevEnd = -1;
    for (let i = 0; i < n; i++) {
      const kStart = this.pos;
      const k = this.value(depth + 1);
      if (typeof k !== 'string') {
        this.pos = first;
        return this.mapOf(n, first, depth);
      }
      this.order(prevStart, prevEnd, kStart, k);
      prevStart = kStart;
      prevEnd = this.pos;
      const v = this.value(depth + 1);
      // A key named "__proto__" must become data, not a prototype change; any other key is
      // an ordinary own property either way, and assignment is the fast way to make one.
      if (k === '__proto__')
        Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
      else obj[k] = v;
    }
    return obj;
  }

  /** The `n` entries from `first` as a Map (keys: integers or text strings). */
  private mapOf(n: number, first: number, depth: number): Map<string | number | bigint, CborValue> {
    this.pos = first;
    const m = new Map<string | number | bigint, CborValue>();
    let prevStart = -1;
    let prevEnd = -1;
    for (let i = 0; i < n; i++) {
      const kStart = this.pos;
      const k = this.value(depth + 1);
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint') {
        fail(CODEC_ERRORS.UNSUPPORTED, 'map keys must be integers or text strings', kStart);
      }
      this.order(prevStart, prevEnd, kStart, k);
      prevStart = kStart;
      prevEnd = this.pos;
      m.set(k, this.value(depth + 1));
    }
    return m;
  }

  /**
   * Canonical order (RFC 8949 §4.2.1, bytewise lexicographic on the encoded keys): the key
   * encoded at [kStart, this.pos) must sort after the previous one at [prevStart, prevEnd).
   */
  private order(prevStart: number, prevEnd: number, kStart: number, k: string | number | bigint): void {
    if (prevStart < 0) return;
    const c = compareRange(this.buf, prevStart, prevEnd, kStart, this.pos);
    if (c === 0) fail(CODEC_ERRORS.DUPLICATE_KEY, `duplicate map key ${String(k)}`, kStart);
    if (c > 0) fail(CODEC_ERRORS.NON_CANONICAL, 'map keys are not in canonical order', kStart);
  }
}

/** Bytewise comparison of buf[a0, a1) with buf[b0, b1). */
function compareRange(buf: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0);
  for (let i = 0; i < n; i++) {
    const d = buf[a0 + i]! - buf[b0 + i]!;
    if (d !== 0) return d;
  }
  return a1 - a0 - (b1 - b0);
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
    const isKey = kb === 0x60 + key.length && asciiEquals(bytes, r.pos + 1, key.length, key);
    r.skip();
    r.skip();
    if (isKey) return [encodeHead(5, n - 1), bytes.subarray(first, kStart), bytes.subarray(r.pos)];
  }
  throw new RangeError(`withoutMapKey: no key ${JSON.stringify(key)}`);
}
