/**
 * A validator's signing key on disk: JSON `{ alg, publicKey, secretKey }` (hex), written
 * 0600. Written by `qledger keys gen` and `qledger devnet`; never logged or printed.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import {
  type CryptoBackend,
  fromHex,
  KEM_ALGS,
  type KemAlg,
  QledgerError,
  SIG_ALGS,
  type SigAlg,
  toHex,
} from '@qledger/core';

export interface SigningKey {
  readonly alg: SigAlg;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export function readSigningKey(file: string): SigningKey {
  let v: { alg?: unknown; publicKey?: unknown; secretKey?: unknown };
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new QledgerError(
      'CONFIG_INVALID',
      `key: ${file}: ${(e as NodeJS.ErrnoException).code ?? 'not JSON'}`,
    );
  }
  const hex = (x: unknown) => typeof x === 'string' && /^(?:[0-9a-f]{2})+$/.test(x);
  if (!SIG_ALGS.includes(v.alg as SigAlg) || !hex(v.publicKey) || !hex(v.secretKey))
    throw new QledgerError(
      'CONFIG_INVALID',
      `key: ${file} needs alg (a signature algorithm), publicKey and secretKey (hex)`,
    );
  return {
    alg: v.alg as SigAlg,
    publicKey: fromHex(v.publicKey as string),
    secretKey: fromHex(v.secretKey as string),
  };
}

export function writeSigningKey(
  file: string,
  alg: SigAlg,
  crypto: CryptoBackend,
  kemAlg?: KemAlg,
  flag: 'w' | 'wx' = 'w',
): SigningKey & { kem?: KemKey } {
  const kp = crypto.signer(alg).keygen();
  const kem = kemAlg ? { alg: kemAlg, ...crypto.kem(kemAlg).keygen() } : undefined;
  const json = {
    alg,
    publicKey: toHex(kp.publicKey),
    secretKey: toHex(kp.secretKey),
    ...(kem
      ? { kem: { alg: kem.alg, publicKey: toHex(kem.publicKey), secretKey: toHex(kem.secretKey) } }
      : {}),
  };
  // 'wx': never overwrite a key (qledger keys gen without --force).
  writeFileSync(file, `${JSON.stringify(json)}\n`, { mode: 0o600, flag });
  chmodSync(file, 0o600);
  return { alg, publicKey: kp.publicKey, secretKey: kp.secretKey, ...(kem ? { kem } : {}) };
}

/** A user's key-encapsulation key pair, kept beside the signing key (`keys gen --kem`). */
export interface KemKey {
  readonly alg: KemAlg;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** The KEM key pair of a key file, or null when it has none. */
export function readKemKey(file: string): KemKey | null {
  const v = JSON.parse(readFileSync(file, 'utf8')) as {
    kem?: { alg?: unknown; publicKey?: unknown; secretKey?: unknown };
  };
  if (v.kem === undefined) return null;
  const k = v.kem;
  const hex = (x: unknown) => typeof x === 'string' && /^(?:[0-9a-f]{2})+$/.test(x);
  if (!KEM_ALGS.includes(k.alg as KemAlg) || !hex(k.publicKey) || !hex(k.secretKey))
    throw new QledgerError(
      'CONFIG_INVALID',
      `key: ${file}: kem needs alg (a KEM algorithm), publicKey and secretKey (hex)`,
    );
  return {
    alg: k.alg as KemAlg,
    publicKey: fromHex(k.publicKey as string),
    secretKey: fromHex(k.secretKey as string),
  };
}
