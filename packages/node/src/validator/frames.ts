/**
 * Framing on a validator-to-validator TLS connection: u32 big-endian length, then one type
 * byte and the payload. A frame longer than MAX_FRAME closes the connection.
 */
import { QledgerError } from '@qledger/core';

export const FRAME = {
  /** A consensus message with its link tag (link.ts). */
  CONSENSUS: 1,
  /** key_IDs the sender took from its KME for this link, in the order it will use them. */
  KEYS: 2,
  /** Transactions for the peer's mempool (self-authenticating: each is signed). */
  TXS: 3,
  /** "Send me decided blocks from height h" (catch-up). */
  SYNC_REQ: 4,
  /** Decided blocks with their commit certificates (checkable without QKD keys). */
  SYNC_RESP: 5,
  /** ML-KEM fallback key exchange, both halves signed with the validators' ML-DSA keys. */
  KEM_INIT: 6,
  KEM_RESP: 7,
  /** A proposal whose value is compact (value.ts: leaves, not transactions), with its link tag. */
  PROPOSAL: 8,
  /** "Send me the transactions with these Merkle leaves" (a compact proposal's missing ones). */
  TX_WANT: 9,
  /** The transactions asked for by TX_WANT (self-authenticating: each matches its leaf). */
  TX_GIVE: 10,
} as const;
export type FrameType = (typeof FRAME)[keyof typeof FRAME];

export const MAX_FRAME = 64 * 1024 * 1024;

export function frame(type: FrameType, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length + 1);
  out[4] = type;
  out.set(payload, 5);
  return out;
}

/** Splits a byte stream into frames; throws PEER_FRAME_TOO_LARGE (the caller closes). */
export class FrameReader {
  #chunks: Buffer[] = [];
  #size = 0;

  push(chunk: Buffer): { type: number; payload: Uint8Array }[] {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    const out: { type: number; payload: Uint8Array }[] = [];
    while (this.#size >= 4) {
      if (this.#chunks[0]!.length < 4) this.#chunks = [Buffer.concat(this.#chunks)];
      const len = this.#chunks[0]!.readUInt32BE(0);
      if (len < 1 || len > MAX_FRAME)
        throw new QledgerError('PEER_FRAME_TOO_LARGE', `frame of ${len} bytes (limit ${MAX_FRAME})`);
      if (this.#size < 4 + len) break; // wait for the rest before copying anything
      const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
      // A copy: each frame owns its buffer, and receivers keep views of it (a TXS frame's
      // transactions), so it must not share memory with the socket's chunks.
      out.push({ type: all[4]!, payload: new Uint8Array(all.subarray(5, 4 + len)) });
      const rest = all.subarray(4 + len);
      this.#chunks = rest.length ? [rest] : [];
      this.#size = rest.length;
    }
    return out;
  }
}
