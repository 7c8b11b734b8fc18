/**
 * The REST server, built from the route table in `@qledger/core/api`: every route's path
 * parameters, query and body are validated with its zod schemas before its handler runs;
 * errors are `{ code, message, details? }` with the status from API_ERRORS; a per-client
 * rate limit, CORS closed unless origins are configured, a body limit, `/docs` (OpenAPI
 * generated from the same table) and `/metrics` (Prometheus). The app is returned without
 * listening, so tests can drive it in-process (`inject`) or over a socket.
 */
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import { decode, QledgerError } from '@qledger/core';
import {
  CBOR_BATCH_MAX,
  openApiDocument,
  ROUTES,
  type RouteDef,
  type RouteName,
  type RouteOutput,
  statusOfCode,
} from '@qledger/core/api';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';

export const BODY_LIMIT = 8 * 1024 * 1024;

/** What a handler receives: the validated parameters, query and body of its route. */
export interface Input<K extends RouteName> {
  readonly params: Routes<K, 'params'>;
  readonly query: Routes<K, 'query'>;
  readonly body: Routes<K, 'body'>;
  /** The transactions of an application/cbor body (routes with `cbor`); `body` is then undefined. */
  readonly binary?: readonly Uint8Array[];
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
}
type Routes<K extends RouteName, F extends string> =
  (typeof ROUTES)[K] extends Record<F, z.ZodType> ? z.output<(typeof ROUTES)[K][F]> : undefined;

/** One handler per route; a handler that answers itself (SSE, a non-200 status) returns the reply. */
export type Handlers = {
  readonly [K in RouteName]: (input: Input<K>) => Promise<RouteOutput<K> | FastifyReply>;
};

export interface ApiOptions {
  readonly log: Logger;
  readonly version: string;
  /** Allowed browser origins; empty: no CORS headers (browsers refuse cross-origin calls). */
  readonly cors: readonly string[];
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  readonly metrics?: Registry;
}

function invalid(where: string, e: z.ZodError): QledgerError {
  const i = e.issues[0]!;
  const path = i.path.map(String);
  const field = path.length > 0 ? path.join('.') : where;
  const unknown = i.code === 'unrecognized_keys' ? i.keys : undefined;
  const name = unknown ? unknown.join(', ') : field;
  return new QledgerError(
    'REQUEST_INVALID',
    `${where === 'body' || path.length === 0 ? '' : `${where} `}${name}: ${unknown ? 'unknown field' : i.message}`,
    { field: unknown ? unknown[0] : field, in: where },
  );
}

/** For a union of objects, the option whose fields the value names: its errors say more. */
function pick(schema: z.ZodType, value: unknown): z.ZodType {
  if (!(schema instanceof z.ZodUnion) || typeof value !== 'object' || value === null) return schema;
  const keys = Object.keys(value);
  const options = schema.options as z.ZodType[];
  return (
    options.find((o) => o instanceof z.ZodObject && keys.some((k) => k in (o as z.ZodObject).shape)) ??
    options[0] ??
    schema
  );
}

function parse(where: string, schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return undefined;
  if (where === 'body' && (typeof value !== 'object' || value === null || Array.isArray(value)))
    throw new QledgerError('REQUEST_INVALID', 'body: must be a JSON object', { field: 'body', in: 'body' });
  const r = pick(schema, value).safeParse(value ?? {});
  if (!r.success) throw invalid(where, r.error);
  return r.data;
}

/** An application/cbor body: a canonical CBOR array of 1–CBOR_BATCH_MAX byte strings. */
function cborTxs(raw: unknown): Uint8Array[] {
  const bad = (why: string) =>
    new QledgerError('REQUEST_INVALID', `txs: ${why}`, { field: 'txs', in: 'body' });
  if (!(raw instanceof Uint8Array)) throw bad('the body is empty');
  let list: unknown;
  try {
    // Each transaction a view of the body, not a copy: the body is this request's own buffer,
    // which nothing writes to afterwards, and an envelope keeps its bytes unchanged anyway.
    list = decode(raw, { maxDepth: 2, views: true });
  } catch (e) {
    throw bad(`not canonical CBOR (${(e as Error).message})`);
  }
  if (!Array.isArray(list)) throw bad('must be a CBOR array of byte strings');
  if (list.length < 1 || list.length > CBOR_BATCH_MAX)
    throw bad(`must hold 1 to ${CBOR_BATCH_MAX} transactions, got ${list.length}`);
  list.forEach((t, i) => {
    if (!(t instanceof Uint8Array)) throw bad(`item ${i} is not a byte string`);
  });
  return list as Uint8Array[];
}

export async function buildApi(handlers: Handlers, opts: ApiOptions): Promise<FastifyInstance> {
  const log = opts.log.child({ component: 'api' });
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: BODY_LIMIT,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setErrorHandler((e, _req, reply) => {
    if (e instanceof QledgerError)
      return reply
        .code(statusOfCode(e.code))
        .send({ code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });
    const status = (e as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) log.error({ err: e }, 'API error');
    const code =
      status === 413
        ? 'BODY_TOO_LARGE'
        : status === 415
          ? 'UNSUPPORTED_MEDIA_TYPE'
          : status === 429
            ? 'RATE_LIMITED'
            : status < 500
              ? 'REQUEST_INVALID'
              : 'INTERNAL';
    // @fastify/rate-limit throws the object errorResponseBuilder made, details and all.
    const details = status === 429 ? (e as { details?: unknown }).details : undefined;
    return reply.code(status).send({
      code,
      message: status < 500 ? (e as Error).message : 'internal error',
      ...(details ? { details } : {}),
    });
  });
  // JSON, and CBOR where a route takes it: anything else is 415, not a string body.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/cbor', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  await app.register(cors, {
    // No origin configured: the plugin adds no headers, so browsers refuse cross-origin reads.
    origin: opts.cors.includes('*') ? true : opts.cors.length > 0 ? [...opts.cors] : false,
    methods: ['GET', 'POST'],
  });
  await app.register(rateLimit, {
    max: opts.rateLimit.max,
    timeWindow: opts.rateLimit.windowMs,
    // Health probes and scrapes are never limited.
    allowList: (req) => req.url === '/health' || req.url === '/ready' || req.url === '/metrics',
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: `rate limit: ${ctx.max} requests per ${ctx.after}; retry later`,
      details: { max: ctx.max, retryAfterMs: ctx.ttl },
    }),
  });

  for (const [name, def] of Object.entries(ROUTES) as [RouteName, RouteDef][]) {
    const handler = handlers[name] as (i: Input<RouteName>) => Promise<unknown>;
    app.route({
      method: def.method,
      url: def.path,
      handler: async (req, reply) => {
        const cbor = req.body instanceof Uint8Array;
        if (cbor && !def.cbor)
          throw new QledgerError('UNSUPPORTED_MEDIA_TYPE', `${def.method} ${def.path} takes JSON only`);
        const input = {
          params: parse('path', def.params, req.params),
          query: parse('query', def.query, req.query),
          body: cbor ? undefined : parse('body', def.body, req.body),
          ...(cbor ? { binary: cborTxs(req.body) } : {}),
          req,
          reply,
        } as Input<RouteName>;
        const out = await handler(input);
        // A handler that answered itself returned the reply, a thenable: awaiting it resolved
        // to undefined once the answer went out, so ask the reply, not the value.
        if (reply.sent) return reply;
        return reply.code(def.status ?? 200).send(out);
      },
    });
  }

  const doc = openApiDocument(opts.version);
  app.get('/docs', async () => doc);
  app.get('/docs/openapi.json', async () => doc);
  if (opts.metrics) {
    const registry = opts.metrics;
    app.get('/metrics', async (_req, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  }
  // Built with the node's pino logger; callers only need the base instance type.
  return app as unknown as FastifyInstance;
}
