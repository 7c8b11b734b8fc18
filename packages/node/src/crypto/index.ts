export { nativeAead } from './aead-native.js';
export { createOqsBackend, type OqsBackend } from './backend-oqs.js';
export { nativeHashes } from './hash-native.js';
export { x25519, x25519PublicKey } from './x25519.js';
