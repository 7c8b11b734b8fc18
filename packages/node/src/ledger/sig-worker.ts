/** Worker thread of SignaturePool: verifies batches with liboqs and answers the first bad index. */
import { parentPort } from 'node:worker_threads';
import type { SigCheck } from '@qledger/core';
import { createOqsBackend } from '../crypto/backend-oqs.js';

const oqs = await createOqsBackend();
parentPort!.on('message', (m: { id: number; checks: SigCheck[] }) => {
  let bad = -1;
  for (let i = 0; i < m.checks.length; i++) {
    const c = m.checks[i]!;
    if (!oqs.signer(c.alg).verify(c.signature, c.message, c.publicKey)) {
      bad = i;
      break;
    }
  }
  parentPort!.postMessage({ id: m.id, bad });
});
parentPort!.postMessage({ ready: true });
