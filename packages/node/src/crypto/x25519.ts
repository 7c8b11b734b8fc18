/** Raw 32-byte X25519 on node:crypto (RFC 7748), via fixed DER prefixes. */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

function privateKey(sk: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_PREFIX, sk]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

export function x25519PublicKey(sk: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKey(sk)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

export function x25519(sk: Uint8Array, pk: Uint8Array): Uint8Array {
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' });
  const s = diffieHellman({ privateKey: privateKey(sk), publicKey });
  return new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
}
