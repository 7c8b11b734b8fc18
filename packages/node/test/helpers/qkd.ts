/** A development PKI in a temporary directory and simulated QKD networks built on it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NetworkConfig, NetworkSchema, type RunningNetwork, startNetwork } from '@qledger/kme';
import { Etsi014Client, type Etsi014ClientOptions, writeDevPki } from '../../src/index.js';

export interface TestPki {
  readonly dir: string;
  readonly ca: string;
  readonly sae: Record<string, { cert: string; key: string }>;
  readonly kme: Record<string, { cert: string; key: string }>;
}

/** `qledger pki init`'s layout in a temporary directory, valid two days. */
export async function makePki(kmes: readonly string[], saes: readonly string[]): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-qkd-'));
  const p = await writeDevPki(dir, { kmes, saes, days: 2, caName: 'qledger test CA' });
  return { dir, ca: p.ca, sae: p.pem.sae, kme: p.pem.kme };
}

/** The reference ledger's square: four sites, each linked to two others; v3 has a colleague. */
export function squareConfig(pkiDir: string, extra: Record<string, unknown> = {}): NetworkConfig {
  return NetworkSchema.parse({
    pki: pkiDir,
    sites: [
      { id: 'kme-a', saes: ['v1'] },
      { id: 'kme-b', saes: ['v2'] },
      { id: 'kme-c', saes: ['v3', 'v3b'] },
      { id: 'kme-d', saes: ['v4'] },
    ],
    links: [
      { id: 'a-b', a: 'kme-a', b: 'kme-b', profile: 'toshiba-lts', lengthKm: 25 },
      { id: 'b-c', a: 'kme-b', b: 'kme-c', profile: 'qnu-armos', lengthKm: 40 },
      { id: 'c-d', a: 'kme-c', b: 'kme-d', profile: 'idq-clavis3', lengthKm: 20 },
      { id: 'd-a', a: 'kme-d', b: 'kme-a', profile: 'toshiba-lts', lengthKm: 60 },
    ],
    ...extra,
  });
}

export const SITE_OF: Record<string, string> = {
  v1: 'kme-a',
  v2: 'kme-b',
  v3: 'kme-c',
  v3b: 'kme-c',
  v4: 'kme-d',
};
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export async function startSquare(
  pki: TestPki,
  extra: Record<string, unknown> = {},
  dataDir?: string,
): Promise<RunningNetwork> {
  return startNetwork({
    config: squareConfig(pki.dir, extra),
    baseDir: pki.dir,
    ...(dataDir ? { dataDir } : {}),
    adminToken: ADMIN_TOKEN,
    manual: true,
  });
}

export function clientFor(
  pki: TestPki,
  net: RunningNetwork,
  sae: string,
  opts: Partial<Etsi014ClientOptions> = {},
): Etsi014Client {
  const site = SITE_OF[sae]!;
  return new Etsi014Client({
    url: net.sites[site]!.etsi,
    ca: pki.ca,
    cert: pki.sae[sae]!.cert,
    key: pki.sae[sae]!.key,
    kmeName: site,
    retries: 1,
    backoffMs: 5,
    ...opts,
  });
}
