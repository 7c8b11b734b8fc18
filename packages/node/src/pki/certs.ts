/**
 * Development X.509 certificates: an ECDSA P-256 CA and the leaf certificates it issues for
 * TLS servers and clients (KMEs, SAEs, validators, test servers). ECDSA rather than ML-DSA
 * because Node 20's OpenSSL 3.0 cannot do post-quantum TLS signatures; qledger's
 * post-quantum guarantees come from the Toeplitz MAC and ML-DSA over the payloads, not from
 * the TLS certificate (docs/crypto.md).
 */
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { randomBytes, toHex } from '@qledger/core';

x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
}

export interface IssuedCertificate {
  readonly certPem: string;
  /** PKCS#8 private key, PEM. Write it with mode 0600; never log it. */
  readonly keyPem: string;
}

export interface LeafOptions {
  readonly commonName: string;
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  /** serverAuth, clientAuth or both. */
  readonly usage: 'server' | 'client' | 'both';
  readonly days?: number;
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

const newKeyPair = async () =>
  (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;

/** Valid from a day ago (tolerating clock skew between hosts) for `days` days. */
const validity = (days: number) => {
  const now = Date.now();
  return { notBefore: new Date(now - DAY), notAfter: new Date(now + days * DAY) };
};

const serial = () => `01${toHex(randomBytes(15))}`; // positive, 128 bits of randomness

export async function createCertificateAuthority(
  commonName = 'qledger development CA',
  days = 365,
): Promise<CertificateAuthority> {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    ...validity(days),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: cert.toString('pem'),
    keyPem: await keyToPem(keys.privateKey),
    cert,
    key: keys.privateKey,
  };
}

export async function issueCertificate(
  ca: CertificateAuthority,
  opts: LeafOptions,
): Promise<IssuedCertificate> {
  const keys = await newKeyPair();
  const eku =
    opts.usage === 'server'
      ? [x509.ExtendedKeyUsage.serverAuth]
      : opts.usage === 'client'
        ? [x509.ExtendedKeyUsage.clientAuth]
        : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  const names = [
    ...(opts.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.commonName}`,
    issuer: ca.cert.subject,
    ...validity(opts.days ?? 365),
    signingKey: ca.key,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(eku, false),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyToPem(keys.privateKey) };
}
