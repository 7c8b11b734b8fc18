/** AEAD on @noble/ciphers (browser); node:crypto's version lives in packages/node. */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { assertBytes } from '../bytes.js';
import { QledgerError } from '../errors.js';
import type { Aead, AeadAlg } from './types.js';

export const AEAD_AUTH_FAILED = 'CRYPTO_AEAD_AUTH';

export function checkAeadArgs(
  key: Uint8Array,
  nonce: Uint8Array,
  data: Uint8Array,
  aad: Uint8Array | undefined,
  sealed: boolean,
): void {
  assertBytes('key', key, 32);
  assertBytes('nonce', nonce, 12);
  assertBytes(sealed ? 'sealed' : 'plaintext', data);
  if (aad !== undefined) assertBytes('aad', aad);
  if (sealed && data.length < 16)
    throw new RangeError(`sealed must be at least 16 bytes (the tag), got ${data.length}`);
}

export function aeadAuthError(alg: AeadAlg): QledgerError {
  return new QledgerError(AEAD_AUTH_FAILED, `${alg}: authentication tag does not verify`);
}

function makeNobleAead(alg: AeadAlg): Aead {
  const make = alg === 'aes-256-gcm' ? gcm : chacha20poly1305;
  return {
    alg,
    backend: 'noble',
    keyLength: 32,
    nonceLength: 12,
    tagLength: 16,
    seal(key, nonce, plaintext, aad) {
      checkAeadArgs(key, nonce, plaintext, aad, false);
      return make(key, nonce, aad).encrypt(plaintext);
    },
    open(key, nonce, sealed, aad) {
      checkAeadArgs(key, nonce, sealed, aad, true);
      try {
        return make(key, nonce, aad).decrypt(sealed);
      } catch {
        throw aeadAuthError(alg);
      }
    },
  };
}

export const nobleAead = {
  'chacha20-poly1305': makeNobleAead('chacha20-poly1305'),
  'aes-256-gcm': makeNobleAead('aes-256-gcm'),
} as const satisfies Record<AeadAlg, Aead>;
