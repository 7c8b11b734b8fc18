/**
 * Packs signature checks into one ArrayBuffer that moves to a worker without copying
 * (structured cloning thousands of small objects costs more than the verification it
 * feeds). Per check: alg index (1 byte), three u32 lengths, public key, message, signature.
 */
import { type CryptoBackend, SIG_ALGS, type SigCheck } from '@qledger/core';

export function packChecks(checks: readonly SigCheck[]): ArrayBuffer {
  let size = 0;
  for (const c of checks) size += 13 + c.publicKey.length + c.message.length + c.signature.length;
  const buf = new ArrayBuffer(size);
  const u8 = new Uint8Array(buf);
  const dv = new DataView(buf);
  let o = 0;
  for (const c of checks) {
    u8[o] = SIG_ALGS.indexOf(c.alg);
    dv.setUint32(o + 1, c.publicKey.length);
    dv.setUint32(o + 5, c.message.length);
    dv.setUint32(o + 9, c.signature.length);
    o += 13;
    for (const part of [c.publicKey, c.message, c.signature]) {
      u8.set(part, o);
      o += part.length;
    }
  }
  return buf;
}

export function unpackChecks(buf: ArrayBuffer): SigCheck[] {
  const u8 = new Uint8Array(buf);
  const dv = new DataView(buf);
  const out: SigCheck[] = [];
  for (let o = 0, index = 0; o < u8.length; index++) {
    const alg = SIG_ALGS[u8[o]!];
    if (alg === undefined) throw new RangeError(`bad algorithm index ${u8[o]}`);
    const pk = dv.getUint32(o + 1);
    const msg = dv.getUint32(o + 5);
    const sig = dv.getUint32(o + 9);
    o += 13;
    const publicKey = u8.subarray(o, o + pk);
    const message = u8.subarray(o + pk, o + pk + msg);
    const signature = u8.subarray(o + pk + msg, o + pk + msg + sig);
    o += pk + msg + sig;
    out.push({ alg, publicKey, message, signature, index });
  }
  return out;
}

/** The first check in `checks` whose signature does not verify, or −1 (workers and inline alike). */
export function firstBad(crypto: CryptoBackend, checks: readonly SigCheck[]): number {
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i]!;
    if (!crypto.signer(c.alg).verify(c.signature, c.message, c.publicKey)) return i;
  }
  return -1;
}
