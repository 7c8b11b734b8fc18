/**
 * PostgreSQL row-level security: makes `role` a read-only reader of one organisation's
 * rows. It may read identities, trust scores, datasets and transactions whose `org` it was
 * granted (their bytes through the `org_txs` view), and block headers' public columns
 * (height, hash, time, proposer, tx_count) — never the header or body blobs, which would
 * reveal every organisation's transactions.
 */
import { QledgerError } from '@qledger/core';
import type { SqlDriver } from './driver.js';
import { ORG_TABLES } from './schema.js';

const ROLE_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export async function grantOrgReader(
  db: SqlDriver,
  schema: string,
  role: string,
  org: string,
): Promise<void> {
  if (db.dialect !== 'postgres')
    throw new QledgerError('STORE_UNSUPPORTED', 'row-level security needs PostgreSQL');
  if (!ROLE_RE.test(role))
    throw new QledgerError('CONFIG_INVALID', `role must match ${ROLE_RE}`, { field: 'role' });
  if (!ROLE_RE.test(schema))
    throw new QledgerError('CONFIG_INVALID', `schema must match ${ROLE_RE}`, { field: 'schema' });
  await db.transaction(async (tx) => {
    await tx.query('INSERT INTO org_access (role_name, org) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      role,
      org,
    ]);
    await tx.exec(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
    await tx.exec(
      `GRANT SELECT ON ${[...ORG_TABLES, 'org_txs', 'org_access'].map((t) => `${schema}.${t}`).join(', ')} TO ${role}`,
    );
    await tx.exec(`GRANT SELECT (height, hash, time, proposer, tx_count) ON ${schema}.blocks TO ${role}`);
  });
}
