import { type CryptoBackend, nobleBackend } from '@qledger/core';
import { createOqsBackend } from '../../src/crypto/backend-oqs.js';

/** Both backends, loaded once per test file. */
export async function backends(): Promise<CryptoBackend[]> {
  return [nobleBackend, await createOqsBackend()];
}
