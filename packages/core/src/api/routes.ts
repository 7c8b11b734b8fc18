/**
 * The REST API, defined once: method, path, the schemas of its parameters, query, body and
 * response, and the error codes it can answer with. The Fastify server registers and
 * validates from this table, `/docs` is generated from it, and the typed client calls it.
 */
import type { z } from 'zod';
import type { ApiErrorCode } from './errors.js';
import * as S from './schemas.js';

export interface RouteDef {
  readonly method: 'GET' | 'POST';
  /** Fastify-style path: `/v1/blocks/:ref`. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly response: z.ZodType;
  /** Success status (200 unless said). */
  readonly status?: number;
  /** Route-specific error codes (REQUEST_INVALID, RATE_LIMITED and INTERNAL apply to all). */
  readonly errors: readonly (ApiErrorCode | (string & {}))[];
  /** A text/event-stream, not JSON. */
  readonly stream?: true;
  /**
   * Also takes `application/cbor`: one canonical CBOR array of 1–1000 byte strings, each a
   * signed transaction (no hex, no JSON: what a high-volume client sends).
   */
  readonly cbor?: true;
}

/** Most byte strings one application/cbor body may carry. */
export const CBOR_BATCH_MAX = 1000;

export const ROUTES = {
  submitTx: {
    method: 'POST',
    path: '/v1/transactions',
    summary:
      'Submit one signed transaction ({tx}) or a batch ({txs}), or as application/cbor an array of transactions; returns ids and admission status',
    tag: 'transactions',
    body: S.SubmitBody,
    cbor: true,
    response: S.SubmitResponse,
    status: 202,
    errors: ['UNSUPPORTED_MEDIA_TYPE', 'BODY_TOO_LARGE', 'MEMPOOL_FULL', 'TX_MALFORMED', 'TX_BAD_SIGNATURE'],
  },
  getTx: {
    method: 'GET',
    path: '/v1/transactions/:id',
    summary: 'A transaction by id: pending, committed at a height, or rejected with its code',
    tag: 'transactions',
    params: S.TxParam,
    response: S.TxView,
    errors: ['TX_NOT_FOUND'],
  },
  listBlocks: {
    method: 'GET',
    path: '/v1/blocks',
    summary: 'Block summaries, newest first by default, with cursor pagination',
    tag: 'blocks',
    query: S.BlockRangeQuery,
    response: S.BlockPage,
    errors: [],
  },
  latestBlock: {
    method: 'GET',
    path: '/v1/blocks/latest',
    summary: 'The latest committed block',
    tag: 'blocks',
    response: S.BlockView,
    errors: [],
  },
  getBlock: {
    method: 'GET',
    path: '/v1/blocks/:ref',
    summary: 'A block by height or hash, with its transactions and commit certificate',
    tag: 'blocks',
    params: S.BlockRef,
    response: S.BlockView,
    errors: ['BLOCK_NOT_FOUND'],
  },
  chainStats: {
    method: 'GET',
    path: '/v1/chain/stats',
    summary: 'Chain statistics: height, blocks, transactions, identities, datasets',
    tag: 'chain',
    response: S.ChainStats,
    errors: [],
  },
  chainVerify: {
    method: 'GET',
    path: '/v1/chain/verify',
    summary: 'Verify the stored chain (hash links and roots, or a full state replay)',
    tag: 'chain',
    query: S.VerifyQuery,
    response: S.VerifyResult,
    errors: ['VERIFY_BUSY'],
  },
  getIdentity: {
    method: 'GET',
    path: '/v1/identities/:name',
    summary: 'An identity by name, with its public keys and trust score',
    tag: 'identities',
    params: S.NameParam,
    response: S.IdentityView,
    errors: ['IDENTITY_NOT_FOUND'],
  },
  getTrust: {
    method: 'GET',
    path: '/v1/identities/:name/trust',
    summary: "An identity's trust score",
    tag: 'identities',
    params: S.NameParam,
    response: S.TrustView,
    errors: ['IDENTITY_NOT_FOUND'],
  },
  listDatasets: {
    method: 'GET',
    path: '/v1/datasets',
    summary: 'Datasets, optionally searched by id or name, with cursor pagination',
    tag: 'datasets',
    query: S.DatasetQuery,
    response: S.DatasetPage,
    errors: [],
  },
  getDataset: {
    method: 'GET',
    path: '/v1/datasets/:id',
    summary: 'A dataset by id, with its verification record',
    tag: 'datasets',
    params: S.DatasetParam,
    response: S.DatasetView,
    errors: ['DATASET_NOT_FOUND'],
  },
  validators: {
    method: 'GET',
    path: '/v1/validators',
    summary: 'The validator set of the genesis, with who proposes now and who is connected',
    tag: 'network',
    response: S.ValidatorList,
    errors: [],
  },
  peers: {
    method: 'GET',
    path: '/v1/peers',
    summary: "This validator's peer connections",
    tag: 'network',
    response: S.PeerList,
    errors: [],
  },
  qkdLinks: {
    method: 'GET',
    path: '/v1/qkd/links',
    summary: 'Per QKD link: key buffer, key rate, QBER, alarm, fallback state, key bits consumed',
    tag: 'network',
    response: S.LinkList,
    errors: [],
  },
  qrng: {
    method: 'GET',
    path: '/v1/qrng',
    summary: 'QRNG sources: health-test state and throughput',
    tag: 'network',
    response: S.QrngView,
    errors: [],
  },
  status: {
    method: 'GET',
    path: '/v1/status',
    summary: 'Node status: height, consensus round and step, peers, links, counters',
    tag: 'node',
    response: S.NodeStatus,
    errors: [],
  },
  events: {
    method: 'GET',
    path: '/v1/events',
    summary:
      'Live events (server-sent): block, tx (the ids a block committed), link (state or alarm change), viewChange',
    tag: 'node',
    response: S.BlockEvent,
    errors: [],
    stream: true,
  },
  health: {
    method: 'GET',
    path: '/health',
    summary: 'Liveness: the process answers',
    tag: 'node',
    response: S.Health,
    errors: [],
  },
  ready: {
    method: 'GET',
    path: '/ready',
    summary: 'Readiness: connected to a quorum (503 with the same body otherwise)',
    tag: 'node',
    response: S.Ready,
    errors: [],
  },
} as const satisfies Record<string, RouteDef>;

export type Routes = typeof ROUTES;
export type RouteName = keyof Routes;

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined;
/** What a call of the route takes: path parameters, query and body, each where the route has one. */
export type RouteInput<K extends RouteName> = (Routes[K] extends { params: z.ZodType }
  ? { params: Infer<Routes[K]['params']> }
  : { params?: undefined }) &
  (Routes[K] extends { query: z.ZodType } ? { query?: Infer<Routes[K]['query']> } : { query?: undefined }) &
  (Routes[K] extends { body: z.ZodType } ? { body: Infer<Routes[K]['body']> } : { body?: undefined });
export type RouteOutput<K extends RouteName> = Infer<Routes[K]['response']>;

/** `/v1/blocks/:ref` with `{ ref: '7' }` → `/v1/blocks/7` (parameters URI-encoded). */
export function fillPath(path: string, params: Record<string, string> | undefined): string {
  return path.replace(/:([a-zA-Z]+)/g, (_, k: string) => {
    const v = params?.[k];
    if (v === undefined) throw new Error(`path parameter ${k} is missing`);
    return encodeURIComponent(v);
  });
}
