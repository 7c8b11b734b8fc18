/**
 * The JSON shapes of the validator's REST API, as zod schemas: request bodies, path
 * parameters and queries are validated with them at the edge, responses are described by
 * them (OpenAPI at `/docs`) and the typed client infers its types from them. Byte strings are
 * lowercase hex; heights are integers; times are milliseconds since the epoch.
 */
import { z } from 'zod';

export const HexString = z.string().regex(/^(?:[0-9a-f]{2})*$/, 'must be lowercase hex');
export const Hash32 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
/** A decimal integer in a path or query string. */
export const IntString = z.string().regex(/^\d{1,15}$/, 'must be a non-negative integer');

export const ErrorBody = z.object({
  code: z.string().describe('Stable error code (docs/api.md lists every one)'),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

// ---- transactions -------------------------------------------------------------------------

const txHex = HexString.min(2).max(2_000_000);
export const SubmitOne = z.strictObject({
  tx: txHex.describe('The signed transaction, canonical CBOR as hex'),
});
export const SubmitBatch = z.strictObject({ txs: z.array(txHex).min(1).max(1000) });
export const SubmitBody = z.union([SubmitOne, SubmitBatch]);

export const TxStatusName = z.enum(['pending', 'committed', 'rejected']);
export const SubmitResult = z.object({
  id: Hash32.optional(),
  status: TxStatusName,
  height: z.int().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
});
export type SubmitResult = z.infer<typeof SubmitResult>;
export const SubmitBatchResult = z.object({ results: z.array(SubmitResult) });
export const SubmitResponse = z.union([SubmitResult, SubmitBatchResult]);

export const TxView = z.object({
  id: Hash32,
  status: TxStatusName,
  height: z.int().optional(),
  index: z.int().optional(),
  blockHash: Hash32.optional(),
  kind: z.string().optional(),
  sender: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
});
export type TxView = z.infer<typeof TxView>;

// ---- blocks and chain ---------------------------------------------------------------------

export const BlockSummary = z.object({
  height: z.int(),
  hash: Hash32,
  prev: Hash32,
  time: z.number(),
  proposer: z.string(),
  view: z.int(),
  txCount: z.int(),
});
export type BlockSummary = z.infer<typeof BlockSummary>;

export const BlockView = BlockSummary.extend({
  txRoot: Hash32,
  stateRoot: Hash32,
  beacon: z
    .string()
    .regex(/^(?:[0-9a-f]{64})?$/)
    .describe("The seed of the block's leader-order epoch (empty in the first two epochs)"),
  txs: z.array(z.object({ id: Hash32, kind: z.string(), sender: z.string() })),
  cert: z
    .object({ round: z.int(), signers: z.array(z.string()) })
    .nullable()
    .describe('The ML-DSA commit certificate (null for genesis and imported blocks)'),
});
export type BlockView = z.infer<typeof BlockView>;

export const BlockRef = z.object({
  ref: z.string().regex(/^(?:\d{1,15}|[0-9a-f]{64})$/, 'must be a height or a 64-hex-digit block hash'),
});

const LIMIT = IntString.describe('Page size, 1 to 100 (default 20)');
export const BlockRangeQuery = z.strictObject({
  cursor: IntString.describe('The `next` of the previous page').optional(),
  limit: LIMIT.optional(),
  order: z.enum(['desc', 'asc']).optional().describe('desc (newest first, default) or asc'),
});
export const BlockPage = z.object({ blocks: z.array(BlockSummary), next: z.string().nullable() });
export type BlockPage = z.infer<typeof BlockPage>;

export const ChainStats = z.object({
  chainId: z.string(),
  height: z.int(),
  headHash: Hash32,
  headTime: z.number(),
  blocks: z.int(),
  transactions: z.int(),
  identities: z.int(),
  datasets: z.int(),
  validators: z.int(),
});
export type ChainStats = z.infer<typeof ChainStats>;

export const VerifyQuery = z.strictObject({
  mode: z.enum(['headers', 'state']).optional().describe('headers (default) or state (replays every block)'),
});
export const VerifyResult = z.object({
  valid: z.boolean(),
  mode: z.enum(['headers', 'state']),
  blocks: z.int(),
  transactions: z.int(),
  height: z.int(),
  headHash: Hash32.optional(),
  error: z
    .object({ height: z.int(), code: z.string(), message: z.string(), index: z.int().optional() })
    .optional(),
  ms: z.number(),
  checkedAt: z.number(),
});
export type VerifyResult = z.infer<typeof VerifyResult>;

// ---- identities, trust, datasets ----------------------------------------------------------

export const NameParam = z.object({
  name: z.string().min(1).max(128).describe('The identity name (its unique on-chain id)'),
});
export const IdentityView = z.object({
  name: z.string(),
  status: z.enum(['active', 'revoked']),
  sigAlg: z.string(),
  sigKey: HexString,
  kemAlg: z.string(),
  kemKey: HexString,
  ecc: z.object({ curve: z.string(), key: HexString }).optional(),
  recovery: z.object({ alg: z.string(), key: HexString }).optional(),
  meta: z.record(z.string(), z.string()),
  registered: z.int(),
  keyVersion: z.int(),
  rotated: z.int().optional(),
  trust: z.number().nullable(),
  nextSeq: z.int().describe('The seq its next transaction needs (committed state; pending ones not counted)'),
});
export type IdentityView = z.infer<typeof IdentityView>;
export const TrustView = z.object({ name: z.string(), score: z.number() });

export const DatasetView = z.object({
  id: z.string(),
  name: z.string(),
  licence: z.string(),
  contentHash: HexString,
  quality: z.number(),
  owner: z.string(),
  registered: z.int(),
  verified: z.boolean(),
  verifications: z.int(),
  lastVerifiedBy: z.string().optional(),
  lastVerifiedAt: z.number().optional(),
});
export type DatasetView = z.infer<typeof DatasetView>;
export const DatasetQuery = z.strictObject({
  search: z.string().max(128).optional().describe('Case-insensitive substring of the id or name'),
  cursor: z.string().max(256).optional().describe('The `next` of the previous page'),
  limit: LIMIT.optional(),
});
export const DatasetPage = z.object({ datasets: z.array(DatasetView), next: z.string().nullable() });
export const DatasetParam = z.object({ id: z.string().min(1).max(256) });
export const TxParam = z.object({ id: Hash32 });

// ---- validators, peers, QKD links, QRNG ---------------------------------------------------

export const ValidatorView = z.object({
  name: z.string(),
  index: z.int(),
  sigAlg: z.string(),
  keyFingerprint: Hash32.describe('SHA3-256 of the validator public key'),
  self: z.boolean(),
  proposer: z.boolean().describe('Proposer of the current round'),
  connected: z.boolean(),
});
export const ValidatorList = z.object({ validators: z.array(ValidatorView) });

export const PeerView = z.object({
  name: z.string(),
  connected: z.boolean(),
  connects: z.int(),
  droppedGossip: z.int(),
  badFrames: z.int(),
});
export const PeerList = z.object({ peers: z.array(PeerView) });

export const LinkState = z.enum(['qkd', 'fallback', 'halted']);
export const LinkView = z.object({
  peer: z.string(),
  state: LinkState,
  connected: z.boolean(),
  requireQkd: z.boolean(),
  fallbackReason: z.string().nullable(),
  bufferBits: z.number().describe('Unused QKD pad for sending, in bits'),
  inboundBufferBits: z.number(),
  qkdBitsOut: z.number(),
  qkdBitsIn: z.number(),
  qkdBitsUsed: z.number(),
  keyRateBps: z.number().describe('QKD key bits taken from the KME per second, over the last minute'),
  dryKeyRateBps: z
    .number()
    .nullable()
    .describe(
      'Key bits a second the KME delivers once its pool is dry (over the last second); null while it holds key',
    ),
  relayed: z
    .boolean()
    .describe("The peer's QKD key comes through a trusted-node relay (config peers[].relayed)"),
  votesHeld: z
    .boolean()
    .describe('Round-0 votes go to this peer only when a height needs them (thrifty votes)'),
  tagsSent: z.int(),
  tagsChecked: z.int(),
  badTags: z.int(),
  refusedFallbackTags: z.int(),
  fallbackTagsSent: z.int(),
  fallbacks: z.int(),
  dropped: z.int(),
  qber: z.number().nullable(),
  alarm: z.boolean(),
});
export type LinkView = z.infer<typeof LinkView>;
export const LinkList = z.object({ links: z.array(LinkView), qkdBitsConsumed: z.number() });

export const QrngSourceView = z.object({
  name: z.string(),
  kind: z.string(),
  quantum: z.boolean(),
  state: z.string(),
  bytesRead: z.number(),
  bytesServed: z.number(),
  samplesTested: z.number(),
  healthFailures: z.record(z.string(), z.number()),
  startupFailures: z.number(),
  ioErrors: z.number(),
});
export const QrngView = z.object({
  requireQrng: z.boolean(),
  draws: z.number(),
  bytesServed: z.number(),
  osOnlyDraws: z.number(),
  refusedDraws: z.number(),
  failovers: z.number(),
  throughputBps: z.number().describe('Bytes served per second since start'),
  sources: z.array(QrngSourceView),
});

// ---- node status, health ------------------------------------------------------------------

/** A phase's median and 90th percentile in ms (null until a height was measured). */
const PhaseMs = z.object({ p50: z.number().nullable(), p90: z.number().nullable() });

export const NodeStatus = z.looseObject({
  name: z.string(),
  index: z.int(),
  chainId: z.string(),
  height: z.int(),
  consensus: z.object({ height: z.int(), round: z.int(), step: z.string(), proposer: z.string() }),
  beacon: z
    .object({
      epoch: z.int(),
      epochLength: z.int(),
      nextEpochAt: z.int().describe('The first height of the next epoch'),
      source: z.enum(['genesis', 'beacon', 'fallback']).describe("Where the epoch's leader order comes from"),
      contributors: z.array(z.string()).describe('Validators whose reveals made the seed'),
      commitsSent: z.int(),
      revealsSent: z.int(),
      openingsLost: z.int(),
      sendsRefused: z.int(),
    })
    .describe('The leader-order beacon (docs/consensus.md)'),
  mempool: z.object({ size: z.int(), bytes: z.int() }),
  peers: z.array(PeerView),
  links: z.array(LinkView.omit({ keyRateBps: true })),
  qkdBitsConsumed: z.number(),
  requireQkd: z.boolean(),
  stats: z.record(z.string(), z.number()),
  heightPhases: z
    .object({
      heights: z.int().describe('Heights measured: the last ones decided in their first round, up to 256'),
      proposal: PhaseMs.describe('Previous block stored → the proposal here (built, or received)'),
      prevote: PhaseMs.describe(
        "Proposal → this validator's prevote sent: validation, signing, the snapshot sync",
      ),
      precommit: PhaseMs.describe('Prevote → precommit sent: a quorum of prevotes, signing, the sync'),
      commit: PhaseMs.describe('Precommit → block stored: a quorum of precommits, storing'),
      total: PhaseMs.describe('Previous block stored → this block stored'),
    })
    .describe("Where a height's time goes on this validator (docs/consensus.md)"),
  uptimeMs: z.number(),
});
export type NodeStatus = z.infer<typeof NodeStatus>;
export const Health = z.object({ ok: z.boolean() });
export const Ready = z.object({ ready: z.boolean(), peersConnected: z.int(), height: z.int() });

// ---- live events (SSE) --------------------------------------------------------------------

export const BlockEvent = z.object({
  height: z.int(),
  hash: Hash32,
  txCount: z.int(),
  round: z.int(),
  proposer: z.string(),
  time: z.number(),
});
/** The transactions a block committed (one event per block, not one per transaction). */
export const TxEvent = z.object({ height: z.int(), ids: z.array(Hash32) });
export const LinkEvent = z.object({
  peer: z.string(),
  state: LinkState,
  alarm: z.boolean(),
  qber: z.number().nullable(),
  fallbackReason: z.string().nullable(),
});
export const ViewChangeEvent = z.object({ height: z.int(), round: z.int() });
/** Every SSE event type and its payload. */
export const EVENTS = {
  block: BlockEvent,
  tx: TxEvent,
  link: LinkEvent,
  viewChange: ViewChangeEvent,
} as const;
export type EventName = keyof typeof EVENTS;
export type EventPayload<E extends EventName> = z.infer<(typeof EVENTS)[E]>;
