/**
 * `qledger pki init --out DIR`: a development CA and certificates for KMEs, SAEs and
 * validators (ECDSA P-256). Each certificate's common name is the party's id: a KME knows
 * which SAE is calling from the TLS client certificate it presents, as ETSI GS QKD 014
 * expects. Private keys are written 0600 and never printed. For development and tests
 * only: production deployments bring their own PKI.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NAME_RE } from '@qledger/core';
import { createCertificateAuthority, issueCertificate } from '../pki/certs.js';
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

interface Written {
  readonly role: 'ca' | 'kme' | 'sae' | 'validator';
  readonly id: string;
  readonly cert: string;
  readonly key: string;
  readonly sha256: string;
}

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

  const written: Written[] = [];
  const save = (role: Written['role'], id: string, dir: string, certPem: string, keyPem: string) => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const cert = join(dir, `${role === 'ca' ? 'ca' : id}.crt`);
    const key = join(dir, `${role === 'ca' ? 'ca' : id}.key`);
    writeFileSync(cert, certPem, { mode: 0o644 });
    writeFileSync(key, keyPem, { mode: 0o600 });
    chmodSync(key, 0o600); // also when the file existed (--force)
    const sha256 = createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
    written.push({ role, id, cert, key, sha256 });
  };

  const ca = await createCertificateAuthority('qledger development CA', days);
  save('ca', 'ca', out, ca.certPem, ca.keyPem);
  // KMEs serve ETSI 014 and talk to each other (key relay and sync): server and client.
  for (const id of kmes) {
    const c = await issueCertificate(ca, { commonName: id, dns: [id, ...dns], ips, usage: 'both', days });
    save('kme', id, join(out, 'kme'), c.certPem, c.keyPem);
  }
  // SAEs only call their KME: client certificates whose common name is the SAE_ID.
  for (const id of saes) {
    const c = await issueCertificate(ca, { commonName: id, usage: 'client', days });
    save('sae', id, join(out, 'sae'), c.certPem, c.keyPem);
  }
  // Validators accept and open peer connections: server and client.
  for (const id of validators) {
    const c = await issueCertificate(ca, { commonName: id, dns: [id, ...dns], ips, usage: 'both', days });
    save('validator', id, join(out, 'validator'), c.certPem, c.keyPem);
  }
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
