/**
 * A validator's signing key on disk: JSON `{ alg, publicKey, secretKey }` (hex), written
 * 0600. Written by `qledger keys gen` and `qledger devnet`; never logged or printed.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { type CryptoBackend, fromHex, QledgerError, SIG_ALGS, type SigAlg, toHex } from '@qledger/core';

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

export function writeSigningKey(file: string, alg: SigAlg, crypto: CryptoBackend): SigningKey {
  const kp = crypto.signer(alg).keygen();
  writeFileSync(
    file,
    `${JSON.stringify({ alg, publicKey: toHex(kp.publicKey), secretKey: toHex(kp.secretKey) })}\n`,
    { mode: 0o600 },
  );
  chmodSync(file, 0o600);
  return { alg, publicKey: kp.publicKey, secretKey: kp.secretKey };
}
