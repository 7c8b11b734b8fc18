/**
 * `qledger pki init --out DIR`: a development CA and certificates for KMEs, SAEs and
 * validators (ECDSA P-256). Each certificate's common name is the party's id: a KME knows
 * which SAE is calling from the TLS client certificate it presents, as ETSI GS QKD 014
 * expects. Private keys are written 0600 and never printed. For development and tests
 * only: production deployments bring their own PKI.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NAME_RE } from '@qledger/core';
import { writeDevPki } from '../pki/dev.js';
import { parseCommand } from './args.js';
import { CliError } from './errors.js';

export const PKI_USAGE = `usage: qledger pki init --out DIR [options]
  --kmes LIST          KME ids, comma-separated (default kme-a,kme-b,kme-c,kme-d)
  --saes LIST          SAE ids (default v1,v2,v3,v4: each validator is its site's SAE)
  --validators LIST    validator ids (default v1,v2,v3,v4)
  --hosts LIST         extra DNS names or IP addresses for every server certificate
  --days N             validity in days (default 365)
  --force              overwrite an existing CA in DIR
  --json               print the manifest as JSON
Writes DIR/ca.crt, DIR/ca.key and DIR/{kme,sae,validator}/ID.{crt,key}; keys are mode 0600.`;

const OPTIONS = {
  out: { type: 'string' },
  kmes: { type: 'string', default: 'kme-a,kme-b,kme-c,kme-d' },
  saes: { type: 'string', default: 'v1,v2,v3,v4' },
  validators: { type: 'string', default: 'v1,v2,v3,v4' },
  hosts: { type: 'string', default: '' },
  days: { type: 'string', default: '365' },
  force: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function list(flag: string, v: string): string[] {
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const s of items)
    if (!NAME_RE.test(s)) throw new CliError(`--${flag}: ${JSON.stringify(s)} must match ${NAME_RE}`, 2);
  if (new Set(items).size !== items.length) throw new CliError(`--${flag}: duplicate id`, 2);
  return items;
}

const IP_RE = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+:[0-9a-fA-F:]*)$/;

export async function pkiCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, OPTIONS);
  const v = parsed.values;
  const [sub, ...rest] = parsed.positionals;
  if (v.help || sub === undefined) {
    console.log(PKI_USAGE);
    return v.help ? 0 : 2;
  }
  if (sub !== 'init') throw new CliError(`unknown pki command ${JSON.stringify(sub)}`, 2);
  if (rest.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(rest[0])}`, 2);
  if (!v.out) throw new CliError('pki init needs --out DIR', 2);
  const days = Number(v.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new CliError('--days must be an integer in [1, 3650]', 2);
  const kmes = list('kmes', v.kmes);
  const saes = list('saes', v.saes);
  const validators = list('validators', v.validators);
  const hosts = v.hosts
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const dns = ['localhost', ...hosts.filter((h) => !IP_RE.test(h))];
  const ips = ['127.0.0.1', '::1', ...hosts.filter((h) => IP_RE.test(h))];
  const out = v.out;
  if (existsSync(join(out, 'ca.key')) && !v.force)
    throw new CliError(`${join(out, 'ca.key')} exists; pass --force to replace the whole PKI`);

  const { written } = await writeDevPki(out, { kmes, saes, validators, dns, ips, days });
  const manifest = { ca: join(out, 'ca.crt'), days, certificates: written };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (v.json) console.log(JSON.stringify(manifest));
  else {
    console.log(`development PKI in ${out} (valid ${days} days; keys are mode 0600 — never commit them)`);
    for (const w of written)
      console.log(`  ${w.role.padEnd(9)} ${w.id.padEnd(12)} ${w.cert}  sha256 ${w.sha256.slice(0, 16)}…`);
  }
  return 0;
}
