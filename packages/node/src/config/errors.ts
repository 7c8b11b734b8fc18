/**
 * Config validation errors: one CONFIG_INVALID error whose message names the first bad field
 * by its path (e.g. `qrng.sources[1].url`), with every issue in `details.issues`.
 */
import { QledgerError } from '@qledger/core';
import type { z } from 'zod';

export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let s = prefix;
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `${s ? '.' : ''}${String(p)}`;
  return s || '(root)';
}

/** Parses `input` with `schema`, or throws CONFIG_INVALID naming the field. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, prefix: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ field: fieldPath(prefix, i.path), message: i.message }));
  const first = issues[0]!;
  throw new QledgerError('CONFIG_INVALID', `${first.field}: ${first.message}`, { issues });
}
