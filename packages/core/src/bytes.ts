/**
 * Argument validation and byte helpers shared by every export of core.
 * Wrong type → TypeError; wrong length or range → RangeError; both name the argument.
 */

export function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array || (ArrayBuffer.isView(v) && v.constructor.name === 'Uint8Array');
}

/** Asserts `v` is a Uint8Array (of exactly `len` bytes, or one of `len` when an array). */
export function assertBytes(
  name: string,
  v: unknown,
  len?: number | readonly number[],
): asserts v is Uint8Array {
  if (!isBytes(v)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(v)}`);
  if (len === undefined) return;
  const ok = typeof len === 'number' ? v.length === len : len.includes(v.length);
  if (!ok) {
    const want = typeof len === 'number' ? String(len) : len.join(' or ');
    throw new RangeError(`${name} must be ${want} bytes, got ${v.length}`);
  }
}

/** Asserts `v` is an integer in [min, max]. */
export function assertInt(name: string, v: unknown, min: number, max: number): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  }
  if (v < min || v > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${v}`);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (isBytes(v)) return `Uint8Array(${v.length})`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time equality for equal lengths; different lengths return false at once. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes('a', a);
  assertBytes('b', b);
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Overwrites secrets in place. JS cannot promise no copy survives elsewhere; this is best effort. */
export function wipe(...arrays: readonly (Uint8Array | Uint32Array | undefined)[]): void {
  for (const a of arrays) a?.fill(0);
}

/** Both hex digits of each byte value as ASCII codes, high digit first. */
const HEX_CODES = (() => {
  const digits = '0123456789abcdef';
  const t = new Uint8Array(512);
  for (let i = 0; i < 256; i++) {
    t[2 * i] = digits.charCodeAt(i >>> 4);
    t[2 * i + 1] = digits.charCodeAt(i & 15);
  }
  return t;
})();
const hexScratch = new Uint8Array(2 * 4096);
/** ASCII digits only, which every single-byte decoder maps to themselves. */
const latin1 = new TextDecoder('latin1');

/**
 * Lowercase hex. Transaction ids and digests become hex to key Maps, several times per
 * transaction: the digits are written as bytes and decoded into one flat string, where
 * appending two digits at a time built a chain of string pieces that the engine copied flat
 * again before hashing it as a key (about a fifth faster per Map operation).
 */
export function toHex(b: Uint8Array): string {
  assertBytes('bytes', b);
  const out = b.length <= hexScratch.length / 2 ? hexScratch : new Uint8Array(2 * b.length);
  for (let i = 0; i < b.length; i++) {
    const v = 2 * b[i]!;
    out[2 * i] = HEX_CODES[v]!;
    out[2 * i + 1] = HEX_CODES[v + 1]!;
  }
  return latin1.decode(out.subarray(0, 2 * b.length));
}

export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`hex must be a string, got ${describe(hex)}`);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new RangeError('hex must be an even-length string of hexadecimal digits');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const utf8enc = new TextEncoder();
export function utf8(s: string): Uint8Array {
  return utf8enc.encode(s);
}
