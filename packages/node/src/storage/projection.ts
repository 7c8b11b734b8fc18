/**
 * Query tables derived from state changes: identities, trust scores and datasets, each with
 * the organisation (identity metadata `org`) that row-level security filters on. They are
 * written in the same transaction as the state, so they never disagree with it.
 */
import {
  type DatasetRecord,
  decode,
  type IdentityRecord,
  keyNamespace,
  type LedgerState,
  STATE_KEYS,
  type StateChange,
} from '@qledger/core';
import type { SqlDriver, SqlValue } from './driver.js';

export function orgOf(state: LedgerState, name: string): string | null {
  const id = state.get(STATE_KEYS.identity(name)) as IdentityRecord | undefined;
  return id?.meta.org ?? null;
}

export async function project(
  db: SqlDriver,
  changes: readonly StateChange[],
  state: LedgerState,
): Promise<void> {
  const ids: SqlValue[][] = [];
  const trust: SqlValue[][] = [];
  const datasets: SqlValue[][] = [];
  const deletes: [string, string, string][] = [];
  for (const c of changes) {
    const ns = keyNamespace(c.key);
    const rest = c.key.slice(ns.length + 1);
    if (ns !== 'id' && ns !== 'trust' && ns !== 'ds') continue;
    if (c.value === null) {
      deletes.push(
        ns === 'id'
          ? ['identities', 'name', rest]
          : ns === 'trust'
            ? ['trust', 'name', rest]
            : ['datasets', 'id', rest],
      );
      continue;
    }
    const v = decode(c.value);
    if (ns === 'id') {
      const r = v as unknown as IdentityRecord;
      ids.push([r.name, r.meta.org ?? null, r.sigAlg, r.kemAlg, r.status, r.registered, r.keyVersion]);
    } else if (ns === 'trust') trust.push([rest, orgOf(state, rest), v as number]);
    else {
      const d = v as unknown as DatasetRecord;
      datasets.push([
        d.id,
        d.owner,
        orgOf(state, d.owner),
        d.name,
        d.licence,
        d.quality,
        d.verified,
        d.verifications,
        d.contentHash,
      ]);
    }
  }
  await db.insertMany(
    'identities',
    ['name', 'org', 'sig_alg', 'kem_alg', 'status', 'registered', 'key_version'],
    ids,
    'name',
  );
  await db.insertMany('trust', ['name', 'org', 'score'], trust, 'name');
  await db.insertMany(
    'datasets',
    ['id', 'owner', 'org', 'name', 'licence', 'quality', 'verified', 'verifications', 'content_hash'],
    datasets,
    'id',
  );
  for (const [table, col, key] of deletes) await db.query(`DELETE FROM ${table} WHERE ${col} = $1`, [key]);
}
