/** Worker thread of SignaturePool: verifies batches with liboqs and answers the first bad index. */
import { parentPort } from 'node:worker_threads';
import { createOqsBackend } from '../crypto/backend-oqs.js';
import { unpackChecks } from './sig-pack.js';

const oqs = await createOqsBackend();
parentPort!.on('message', (m: { id: number; packed: ArrayBuffer }) => {
  let bad = -1;
  const checks = unpackChecks(m.packed);
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i]!;
    if (!oqs.signer(c.alg).verify(c.signature, c.message, c.publicKey)) {
      bad = i;
      break;
    }
  }
  parentPort!.postMessage({ id: m.id, bad });
});
parentPort!.postMessage({ ready: true });
