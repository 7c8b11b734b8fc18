/** `qledger selftest`: every algorithm across both backends, and the Toeplitz MAC, on this machine. */
import { KEM_ALGS, nobleBackend, PadStream, randomBytes, SIG_ALGS, ToeplitzMac, utf8 } from '@qledger/core';
import { createOqsBackend } from '../crypto/backend-oqs.js';
import { nativeHashes } from '../crypto/hash-native.js';

export async function selftest(json: boolean): Promise<number> {
  const oqs = await createOqsBackend();
  const results: { check: string; ok: boolean }[] = [];
  const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  for (const alg of SIG_ALGS) {
    const kp = oqs.signer(alg).keygen();
    const m = utf8(`qledger selftest ${alg}`);
    const sig = oqs.signer(alg).sign(m, kp.secretKey);
    results.push({ check: `${alg} liboqs→noble`, ok: nobleBackend.signer(alg).verify(sig, m, kp.publicKey) });
  }
  for (const alg of KEM_ALGS) {
    const kp = nobleBackend.kem(alg).keygen();
    const e = oqs.kem(alg).encapsulate(kp.publicKey);
    results.push({
      check: `${alg} liboqs→noble`,
      ok: eq(nobleBackend.kem(alg).decapsulate(e.cipherText, kp.secretKey), e.sharedSecret),
    });
  }
  const key = randomBytes(80);
  const pads = randomBytes(32);
  const tx = new ToeplitzMac(key, { mode: 'digest', hashes: nativeHashes });
  const rx = new ToeplitzMac(key, { mode: 'digest', hashes: nativeHashes });
  const rxPads = new PadStream(pads.slice());
  const { position, tag } = tx.tag(utf8('block'), new PadStream(pads));
  results.push({ check: 'toeplitz digest MAC', ok: rx.verify(utf8('block'), tag, position, rxPads) });
  oqs.destroy();
  const failed = results.filter((r) => !r.ok);
  if (json) console.log(JSON.stringify({ ok: failed.length === 0, results }));
  else {
    for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.check}`);
    console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  }
  return failed.length === 0 ? 0 : 1;
}
