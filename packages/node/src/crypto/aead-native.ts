/** AEAD on node:crypto; interoperates byte for byte with core's noble AEAD. */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { type Aead, type AeadAlg, aeadAuthError, checkAeadArgs } from '@qledger/core';

function makeNativeAead(alg: AeadAlg): Aead {
  const cipher = alg === 'aes-256-gcm' ? 'aes-256-gcm' : 'chacha20-poly1305';
  return {
    alg,
    backend: 'node',
    keyLength: 32,
    nonceLength: 12,
    tagLength: 16,
    seal(key, nonce, plaintext, aad) {
      checkAeadArgs(key, nonce, plaintext, aad, false);
      const c = createCipheriv(cipher as 'aes-256-gcm', key, nonce, { authTagLength: 16 });
      if (aad) c.setAAD(aad, { plaintextLength: plaintext.length });
      const body = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
      return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    },
    open(key, nonce, sealed, aad) {
      checkAeadArgs(key, nonce, sealed, aad, true);
      const split = sealed.length - 16;
      const d = createDecipheriv(cipher as 'aes-256-gcm', key, nonce, { authTagLength: 16 });
      d.setAuthTag(sealed.subarray(split));
      if (aad) d.setAAD(aad, { plaintextLength: split });
      const first = d.update(sealed.subarray(0, split));
      try {
        const body = Buffer.concat([first, d.final()]);
        return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      } catch {
        first.fill(0); // unauthenticated plaintext never leaves
        throw aeadAuthError(alg);
      }
    },
  };
}

export const nativeAead = {
  'chacha20-poly1305': makeNativeAead('chacha20-poly1305'),
  'aes-256-gcm': makeNativeAead('aes-256-gcm'),
} as const satisfies Record<AeadAlg, Aead>;
