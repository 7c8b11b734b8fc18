/** Worker thread of SignaturePool: verifies batches with liboqs and answers the first bad index. */
import { parentPort } from 'node:worker_threads';
import { createOqsBackend } from '../crypto/backend-oqs.js';
import { firstBad, unpackChecks } from './sig-pack.js';

const oqs = await createOqsBackend();
parentPort!.on('message', (m: { id: number; packed: ArrayBuffer }) => {
  parentPort!.postMessage({ id: m.id, bad: firstBad(oqs, unpackChecks(m.packed)) });
});
parentPort!.postMessage({ ready: true });
