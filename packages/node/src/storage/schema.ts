/**
 * Migrations, applied in order inside one transaction each; `meta.schema_version` records
 * the last. PostgreSQL additionally gets row-level security: a read-only role of one
 * organisation sees only the identities, trust scores, datasets and transactions of that
 * organisation, its transactions' bytes through the org_txs view, and block headers'
 * public columns (see grantOrgReader).
 */
export interface Migration {
  readonly version: number;
  readonly sqlite: string;
  readonly postgres: string;
}

const core = (blob: string, int: string, bool: string) => `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ${blob} NOT NULL);
CREATE TABLE blocks (
  height ${int} PRIMARY KEY,
  hash ${blob} NOT NULL UNIQUE,
  time ${int} NOT NULL,
  proposer TEXT NOT NULL,
  tx_count ${int} NOT NULL,
  header ${blob} NOT NULL,
  -- the block's transactions, concatenated; lens holds their lengths (u32 big-endian each)
  body ${blob} NOT NULL,
  lens ${blob} NOT NULL
);
CREATE TABLE txs (
  -- height × 2²⁰ + index: appends go to the end of the table's own B-tree
  pos ${int} PRIMARY KEY,
  id ${blob} NOT NULL UNIQUE,
  height ${int} NOT NULL REFERENCES blocks(height),
  idx INTEGER NOT NULL,
  kind TEXT NOT NULL,
  sender TEXT NOT NULL,
  org TEXT,
  -- where the transaction's bytes lie in blocks.body
  off INTEGER NOT NULL,
  len INTEGER NOT NULL
);
CREATE INDEX txs_sender ON txs (sender);
CREATE TABLE state (key TEXT PRIMARY KEY, value ${blob} NOT NULL);
CREATE TABLE identities (
  name TEXT PRIMARY KEY,
  org TEXT,
  sig_alg TEXT NOT NULL,
  kem_alg TEXT NOT NULL,
  status TEXT NOT NULL,
  registered ${int} NOT NULL,
  key_version ${int} NOT NULL
);
CREATE INDEX identities_org ON identities (org);
CREATE TABLE trust (name TEXT PRIMARY KEY, org TEXT, score ${int} NOT NULL);
CREATE TABLE datasets (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  org TEXT,
  name TEXT NOT NULL,
  licence TEXT NOT NULL,
  quality ${int} NOT NULL,
  verified ${bool} NOT NULL,
  verifications ${int} NOT NULL,
  content_hash ${blob} NOT NULL
);
CREATE INDEX datasets_owner ON datasets (owner);
`;

/** The rows a role may read: those of the organisations it was granted. */
const ORG_VISIBLE = 'org IN (SELECT org FROM org_access WHERE role_name = current_user)';
/** Tables whose rows carry the organisation they belong to. */
export const ORG_TABLES = ['identities', 'trust', 'datasets', 'txs'] as const;
const orgPolicy = (t: string) =>
  `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;\nCREATE POLICY ${t}_org ON ${t} FOR SELECT USING (${ORG_VISIBLE});`;

const rls = `
-- Block bodies are large and incompressible (signatures): store them uncompressed out of
-- line, so substring() reads only the chunks a transaction lookup needs.
ALTER TABLE blocks ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE org_access (role_name TEXT NOT NULL, org TEXT NOT NULL, PRIMARY KEY (role_name, org));
ALTER TABLE org_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY org_access_self ON org_access FOR SELECT USING (role_name = current_user);
${ORG_TABLES.map(orgPolicy).join('\n')}
-- A reader's way to its organisation's transaction bytes: the view reads block bodies with
-- its owner's rights, and its security barrier applies the organisation filter first.
CREATE VIEW org_txs WITH (security_barrier) AS
  SELECT t.id, t.height, t.idx, t.kind, t.sender, t.org, substring(b.body FROM t.off + 1 FOR t.len) AS bytes
  FROM txs t JOIN blocks b ON b.height = t.height
  WHERE ${ORG_VISIBLE};
`;

/**
 * Consensus: each block's commit certificate (a quorum of ML-DSA precommit signatures, so
 * the stored chain can be audited without QKD keys), and the QKD key_IDs a validator has
 * taken from its KME per link, so no key is ever used twice, even across a restart.
 */
const consensus = (blob: string) => `
ALTER TABLE blocks ADD COLUMN cert ${blob};
CREATE TABLE qkd_keys (link TEXT NOT NULL, key_id TEXT NOT NULL, PRIMARY KEY (link, key_id));
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, sqlite: core('BLOB', 'INTEGER', 'INTEGER'), postgres: core('BYTEA', 'BIGINT', 'BOOLEAN') },
  { version: 2, sqlite: '', postgres: rls },
  { version: 3, sqlite: consensus('BLOB'), postgres: consensus('BYTEA') },
];
