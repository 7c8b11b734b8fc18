/**
 * The validator's REST basics (Fastify): submit transactions, their status, blocks, node
 * status, live block events (SSE), health and readiness. Errors are `{ code, message,
 * details? }` with stable codes (docs/devnet.md); a refused submission changes nothing.
 */
import { decodeCert, decodeHeader, QledgerError, toHex } from '@qledger/core';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { BlockEvent, Validator } from './runtime.js';

const HEX = /^(?:[0-9a-f]{2})+$/;
/** Hex already checked against HEX: the native decoder. */
const fromHex = (hex: string): Uint8Array => {
  const b = Buffer.from(hex, 'hex');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
const hexTx = z.string().regex(HEX, 'must be hex').max(2_000_000);
const OneSchema = z.strictObject({ tx: hexTx });
const BatchSchema = z.strictObject({ txs: z.array(hexTx).min(1).max(1000) });

/** HTTP status for each coded error a route can raise. */
function statusOf(code: string): number {
  if (code === 'NOT_FOUND' || code === 'BLOCK_NOT_FOUND') return 404;
  if (code === 'MEMPOOL_FULL') return 503;
  return 400;
}

export async function startApi(v: Validator, host: string, port: number, log: Logger) {
  const app = Fastify({
    loggerInstance: log.child({ component: 'api' }),
    bodyLimit: 8 * 1024 * 1024,
    disableRequestLogging: true,
  });
  app.setErrorHandler((e, _req, reply) => {
    if (e instanceof QledgerError)
      return reply
        .code(statusOf(e.code))
        .send({ code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });
    const status = (e as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) log.error({ err: e }, 'API error');
    const code =
      status === 413
        ? 'BODY_TOO_LARGE'
        : status === 415
          ? 'UNSUPPORTED_MEDIA_TYPE'
          : status < 500
            ? 'REQUEST_INVALID'
            : 'INTERNAL';
    return reply.code(status).send({ code, message: status < 500 ? (e as Error).message : 'internal error' });
  });
  // JSON only: anything else is 415, not a string body.
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  app.post('/v1/transactions', async (req, reply) => {
    const body = req.body as Record<string, unknown> | null;
    const isBatch = typeof body === 'object' && body !== null && 'txs' in body;
    if (typeof body !== 'object' || body === null || (!isBatch && !('tx' in body)))
      throw new QledgerError('REQUEST_INVALID', 'body: must be { "tx": hex } or { "txs": [hex, …] }', {
        field: 'body',
      });
    const r = (isBatch ? BatchSchema : OneSchema).safeParse(body);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new QledgerError('REQUEST_INVALID', `${i.path.join('.') || 'body'}: ${i.message}`, {
        field: i.path.join('.') || 'body',
      });
    }
    if ('tx' in r.data) {
      const st = await v.submit(fromHex(r.data.tx as string));
      return reply.code(st.status === 'rejected' ? 400 : 202).send(st);
    }
    const out = await Promise.all(
      (r.data as { txs: string[] }).txs.map(async (hex) => {
        try {
          return await v.submit(fromHex(hex));
        } catch (e) {
          if (!(e instanceof QledgerError)) throw e;
          return { status: 'rejected', code: e.code, message: e.message };
        }
      }),
    );
    return reply.code(202).send({ results: out });
  });

  app.get<{ Params: { id: string } }>('/v1/transactions/:id', async (req) => ({
    id: req.params.id,
    ...(await v.txState(req.params.id)),
  }));

  const blockView = async (height: number) => {
    const b = await v.store.blockByHeight(height);
    if (!b) throw new QledgerError('BLOCK_NOT_FOUND', `no block at height ${height}`, { height });
    const h = decodeHeader(b.headerBytes);
    const cert = b.cert ? decodeCert(b.cert) : null;
    return {
      height: h.height,
      hash: toHex(b.hash),
      prev: toHex(h.prev),
      time: h.time,
      proposer: h.proposer,
      view: h.view,
      txCount: h.txCount,
      txRoot: toHex(h.txRoot),
      stateRoot: toHex(h.stateRoot),
      txs: b.txs.map((t) => toHex(v.txId(t))),
      cert: cert && { round: cert.round, signers: cert.sigs.map((s) => v.names[s.voter]) },
    };
  };
  app.get('/v1/blocks/latest', async () => blockView(v.height));
  app.get<{ Params: { height: string } }>('/v1/blocks/:height', async (req) => {
    const h = Number(req.params.height);
    if (!/^\d{1,15}$/.test(req.params.height))
      throw new QledgerError('REQUEST_INVALID', 'height: must be a non-negative integer', {
        field: 'height',
      });
    return blockView(h);
  });

  app.get('/v1/status', async () => v.status());
  app.get('/health', async () => ({ ok: true }));
  app.get('/ready', async (_req, reply) => {
    const s = v.status();
    const connected = s.peers.filter((p) => p.connected).length;
    const ready = connected + 1 >= Math.floor((2 * v.names.length) / 3) + 1;
    return reply.code(ready ? 200 : 503).send({ ready, peersConnected: connected, height: s.height });
  });

  app.get('/v1/events', (req, reply) => {
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    reply.raw.write(': qledger events\n\n');
    const onBlock = (e: BlockEvent) => reply.raw.write(`event: block\ndata: ${JSON.stringify(e)}\n\n`);
    const onView = (e: unknown) => reply.raw.write(`event: viewChange\ndata: ${JSON.stringify(e)}\n\n`);
    v.events.on('block', onBlock);
    v.events.on('viewChange', onView);
    req.raw.on('close', () => {
      v.events.off('block', onBlock);
      v.events.off('viewChange', onView);
    });
  });

  await app.listen({ host, port });
  return app;
}
