/**
 * Validation of decoded wire values (CBOR or JSON) into typed ledger values. Every failure
 * is a QledgerError with the caller's code whose message and `details.field` name the exact
 * field path, e.g. `tx.body.sigKey`. Unknown keys are rejected, so a signed object cannot
 * carry bytes that no rule looked at.
 */
import { describe, isBytes } from '../bytes.js';
import type { LedgerErrorCode } from './errors.js';
import { ledgerError } from './errors.js';

export type Obj = Readonly<Record<string, unknown>>;

export class FieldReader {
  constructor(readonly code: LedgerErrorCode) {}

  fail(field: string, why: string): never {
    throw ledgerError(this.code, `${field}: ${why}`, { field });
  }

  /** A plain object (or text-keyed Map from the codec) with only `allowed` keys. */
  obj(field: string, v: unknown, allowed: readonly string[]): Obj {
    let o: Obj;
    if (v instanceof Map) {
      o = {};
      for (const [k, val] of v) {
        if (typeof k !== 'string') this.fail(field, 'keys must be text');
        (o as Record<string, unknown>)[k] = val;
      }
    } else if (typeof v === 'object' && v !== null && !Array.isArray(v) && !isBytes(v)) o = v as Obj;
    else this.fail(field, `must be a map, got ${describe(v)}`);
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(`${field}.${k}`, 'unknown field');
    }
    return o;
  }

  str(field: string, v: unknown, max: number, pattern?: RegExp): string {
    if (typeof v !== 'string') this.fail(field, `must be text, got ${describe(v)}`);
    if (v.length > max) this.fail(field, `must be at most ${max} characters, got ${v.length}`);
    if (pattern !== undefined && !pattern.test(v)) this.fail(field, `must match ${pattern}`);
    return v;
  }

  oneOf<T extends string>(field: string, v: unknown, values: readonly T[]): T {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.fail(field, `must be one of ${values.join(', ')}, got ${describe(v)}`);
    }
    return v as T;
  }

  int(field: string, v: unknown, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v))
      this.fail(field, `must be an integer, got ${describe(v)}`);
    if (v < min || v > max) this.fail(field, `must be in [${min}, ${max}], got ${v}`);
    return v;
  }

  bytes(field: string, v: unknown, len: { exact?: number; max?: number }): Uint8Array {
    if (!isBytes(v)) this.fail(field, `must be bytes, got ${describe(v)}`);
    if (len.exact !== undefined && v.length !== len.exact)
      this.fail(field, `must be ${len.exact} bytes, got ${v.length}`);
    if (len.max !== undefined && v.length > len.max)
      this.fail(field, `must be at most ${len.max} bytes, got ${v.length}`);
    return v;
  }

  arr(field: string, v: unknown, max: number): readonly unknown[] {
    if (!Array.isArray(v)) this.fail(field, `must be an array, got ${describe(v)}`);
    if (v.length > max) this.fail(field, `must have at most ${max} items, got ${v.length}`);
    return v;
  }

  /** Text → text map: at most `maxEntries`, keys matching `keyPattern`, values ≤ `maxValue` chars. */
  textMap(field: string, v: unknown, maxEntries: number, keyPattern: RegExp, maxValue: number) {
    const o = v instanceof Map ? Object.fromEntries(v) : v;
    if (typeof o !== 'object' || o === null || Array.isArray(o) || isBytes(o))
      this.fail(field, `must be a map, got ${describe(v)}`);
    const entries = Object.entries(o as Obj);
    if (entries.length > maxEntries) this.fail(field, `must have at most ${maxEntries} entries`);
    const out: Record<string, string> = {};
    for (const [k, val] of entries) {
      if (!keyPattern.test(k)) this.fail(`${field}.${k}`, `key must match ${keyPattern}`);
      // defineProperty: a key named "__proto__" stays data (and so fails nothing silently)
      Object.defineProperty(out, k, {
        value: this.str(`${field}.${k}`, val, maxValue, PRINTABLE),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
}

/** Identity names and dataset ids: lower-case, no separators used by state keys. */
export const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Free text: any characters except C0/C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
export const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f]*$/;
