/**
 * Messages between KMEs. In `qkd-net` they are passed in process (still through JSON and
 * the same validation); between `qledger kme` processes they travel over mutual TLS where
 * the caller's KME certificate names it. No message ever carries key material in clear:
 * `chunk` carries the simulated quantum channel's output (see docs/qkd.md: the simulator's
 * stand-in for photons), `deliver` carries offsets into streams both ends already hold, or
 * a relayed key one-time-padded with the next hop's QKD key.
 */
import { z } from 'zod';

const ID = z.string().min(1).max(64);
const B64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const UUID = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const ChunkMsg = z.strictObject({
  type: z.literal('chunk'),
  link: ID,
  seq: count,
  parts: z.array(z.strictObject({ dir: ID, start: count, bytes: B64 })).max(2),
});

export const DeliverMsg = z.strictObject({
  type: z.literal('deliver'),
  /** Sites from the master's KME to the slaves' KME. */
  path: z.array(ID).min(2).max(8),
  /** Index in path of the receiving KME. */
  hop: z.number().int().min(1).max(7),
  link: ID,
  /** Offset in the sender's stream on `link`. */
  start: count,
  keys: z
    .array(z.strictObject({ key_ID: UUID, bits: z.number().int().min(8).max(65536) }))
    .min(1)
    .max(10000),
  /** The relayed keys XOR this hop's stream bytes (absent on the first hop). */
  otp: B64.optional(),
  master: ID,
  slaves: z.array(ID).min(1).max(17),
  expires: count,
});

export const ProbeMsg = z.strictObject({
  type: z.literal('probe'),
  path: z.array(ID).min(2).max(8),
  hop: z.number().int().min(1).max(7),
});

export const LinkMsg = z.strictObject({
  type: z.literal('link'),
  link: ID,
  eavesdrop: z.number().min(0).max(1),
  cut: z.boolean(),
});

export const PeerMessage = z.discriminatedUnion('type', [ChunkMsg, DeliverMsg, ProbeMsg, LinkMsg]);
export type PeerMessage = z.infer<typeof PeerMessage>;
export type ChunkMsg = z.infer<typeof ChunkMsg>;
export type DeliverMsg = z.infer<typeof DeliverMsg>;
export type ProbeMsg = z.infer<typeof ProbeMsg>;
export type LinkMsg = z.infer<typeof LinkMsg>;

export const PeerReply = z.union([
  z.strictObject({ ok: z.literal(true), bytes: count.optional() }),
  z.strictObject({ ok: z.literal(false), code: z.string().max(64), message: z.string().max(500) }),
]);
export type PeerReply = z.infer<typeof PeerReply>;

/** How a KME reaches its neighbours. */
export interface PeerTransport {
  send(to: string, msg: PeerMessage): Promise<PeerReply>;
  close?(): Promise<void>;
}

export class PeerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
