/**
 * A development PKI on disk, in the layout every qledger component reads: DIR/ca.crt and
 * DIR/ca.key, DIR/kme/ID.{crt,key}, DIR/sae/ID.{crt,key}, DIR/validator/ID.{crt,key}. Each
 * certificate's common name is its holder's id. Private keys are written 0600 and never
 * printed. Used by `qledger pki init`, the tests and the benchmarks.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from './certs.js';

export type PkiRole = 'ca' | 'kme' | 'sae' | 'validator';

export interface WrittenCertificate {
  readonly role: PkiRole;
  readonly id: string;
  readonly cert: string;
  readonly key: string;
  readonly sha256: string;
}

export interface DevPkiOptions {
  readonly kmes?: readonly string[];
  readonly saes?: readonly string[];
  readonly validators?: readonly string[];
  /** DNS names for server certificates besides each holder's id. */
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  readonly days?: number;
  readonly caName?: string;
}

export interface DevPki {
  /** CA certificate (PEM). */
  readonly ca: string;
  /** Every holder's certificate and key (PEM), by role and id. */
  readonly pem: Readonly<Record<'kme' | 'sae' | 'validator', Record<string, { cert: string; key: string }>>>;
  readonly written: readonly WrittenCertificate[];
}

export async function writeDevPki(out: string, o: DevPkiOptions = {}): Promise<DevPki> {
  const days = o.days ?? 365;
  const dns = o.dns ?? ['localhost'];
  const ips = o.ips ?? ['127.0.0.1', '::1'];
  const written: WrittenCertificate[] = [];
  const pem: DevPki['pem'] = { kme: {}, sae: {}, validator: {} };
  const save = (role: PkiRole, id: string, certPem: string, keyPem: string) => {
    const dir = role === 'ca' ? out : join(out, role);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const cert = join(dir, `${id}.crt`);
    const key = join(dir, `${id}.key`);
    writeFileSync(cert, certPem, { mode: 0o644 });
    writeFileSync(key, keyPem, { mode: 0o600 });
    chmodSync(key, 0o600); // also when the file existed
    const sha256 = createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
    written.push({ role, id, cert, key, sha256 });
    if (role !== 'ca') pem[role][id] = { cert: certPem, key: keyPem };
  };

  const ca = await createCertificateAuthority(o.caName ?? 'qledger development CA', days);
  save('ca', 'ca', ca.certPem, ca.keyPem);
  // KMEs serve ETSI 014 and talk to each other (key relay and sync): server and client.
  for (const id of o.kmes ?? []) {
    const c = await issueCertificate(ca, { commonName: id, dns: [id, ...dns], ips, usage: 'both', days });
    save('kme', id, c.certPem, c.keyPem);
  }
  // SAEs only call their KME: client certificates whose common name is the SAE_ID.
  for (const id of o.saes ?? []) {
    const c = await issueCertificate(ca, { commonName: id, usage: 'client', days });
    save('sae', id, c.certPem, c.keyPem);
  }
  // Validators accept and open peer connections: server and client.
  for (const id of o.validators ?? []) {
    const c = await issueCertificate(ca, { commonName: id, dns: [id, ...dns], ips, usage: 'both', days });
    save('validator', id, c.certPem, c.keyPem);
  }
  return { ca: ca.certPem, pem, written };
}
