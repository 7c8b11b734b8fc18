/**
 * Loads the shared NIST ACVP and Wycheproof vectors from ../shared/vectors (next to the
 * checkout). A missing file or a file with no test groups is an error, never a silent pass.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export const VECTORS_DIR = process.env.QLEDGER_VECTORS ?? join(repoRoot, '..', 'shared', 'vectors');

export interface VectorFile {
  testGroups: Array<Record<string, unknown> & { tests: Array<Record<string, unknown>> }>;
}

export function loadVectors(relPath: string): VectorFile {
  const p = join(VECTORS_DIR, relPath);
  if (!existsSync(p))
    throw new Error(`test vectors not found: ${p} (set QLEDGER_VECTORS or put shared/ beside the checkout)`);
  const json = JSON.parse(gunzipSync(readFileSync(p)).toString('utf8')) as VectorFile;
  if (!Array.isArray(json.testGroups) || json.testGroups.length === 0)
    throw new Error(`${relPath}: no test groups`);
  return json;
}

/** ACVP prompt + expected results joined by tgId/tcId. */
export function loadAcvp(
  folder: string,
  answers = 'expectedResults',
): Array<{
  group: Record<string, unknown>;
  test: Record<string, unknown>;
  expected: Record<string, unknown>;
}> {
  const prompt = loadVectors(`acvp/${folder}/prompt.json.gz`);
  const exp = loadVectors(`acvp/${folder}/${answers}.json.gz`);
  const byId = new Map<string, Record<string, unknown>>();
  for (const g of exp.testGroups) for (const t of g.tests) byId.set(`${g.tgId}/${t.tcId}`, t);
  const out = [];
  for (const g of prompt.testGroups) {
    for (const t of g.tests) {
      const e = byId.get(`${g.tgId}/${t.tcId}`);
      if (!e) throw new Error(`${folder}: no answer for ${g.tgId}/${t.tcId}`);
      out.push({ group: g, test: t, expected: e });
    }
  }
  if (out.length === 0) throw new Error(`${folder}: zero test cases`);
  return out;
}

export const hex = (v: unknown): Uint8Array => {
  if (typeof v !== 'string') throw new Error(`expected a hex string, got ${typeof v}`);
  return new Uint8Array(Buffer.from(v, 'hex'));
};
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Records how many cases a suite ran; fails (and says so) when it ran none. */
export class CaseCounter {
  readonly counts = new Map<string, number>();
  add(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }
  report(minimum = 1): string {
    const lines = [...this.counts].map(([k, v]) => `${k}: ${v}`);
    for (const [k, v] of this.counts) if (v < minimum) throw new Error(`${k}: ran ${v} cases`);
    if (this.counts.size === 0) throw new Error('ran zero vector cases');
    return lines.join(', ');
  }
}
