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

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(b: Uint8Array): string {
  assertBytes('bytes', b);
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
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
