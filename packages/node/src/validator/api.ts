/**
 * The validator's REST API: the handlers of every route in `@qledger/core/api`, served by
 * the server in `../api/server.ts`. Errors are `{ code, message, details? }` with stable
 * codes (docs/api.md); a refused submission changes nothing.
 */
import { decodeCert, decodeHeader, QledgerError, toHex, txIdHex } from '@qledger/core';
import type { schemas } from '@qledger/core/api';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { buildApi, type Handlers } from '../api/server.js';
import { nativeHashes } from '../crypto/index.js';
import { verifyStore } from '../ledger/chain-ops.js';
import type { StoredBlock } from '../storage/types.js';
import type { NodeConfig } from './config.js';
import { validatorMetrics } from './metrics.js';
import type { BlockEvent, Validator } from './runtime.js';

type BlockSummary = z.infer<typeof schemas.BlockSummary>;
type VerifyResult = z.infer<typeof schemas.VerifyResult>;

/** Hex already checked by the route's schema: the native decoder. */
const fromHex = (hex: string): Uint8Array => {
  const b = Buffer.from(hex, 'hex');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

const VERSION = '0.1.0';
const LINK_POLL_MS = 500;
const RATE_WINDOW_MS = 60_000;

function summary(b: StoredBlock): BlockSummary {
  const h = decodeHeader(b.headerBytes);
  return {
    height: h.height,
    hash: toHex(b.hash),
    prev: toHex(h.prev),
    time: h.time,
    proposer: h.proposer,
    view: h.view,
    txCount: h.txCount,
  };
}

/** QKD key bits taken per link, sampled: the key rate each link actually delivered. */
class KeyRates {
  readonly #samples = new Map<string, { t: number; bits: number }[]>();
  sample(peer: string, bits: number, now: number): void {
    const s = this.#samples.get(peer) ?? [];
    s.push({ t: now, bits });
    while (s.length > 2 && s[0]!.t < now - RATE_WINDOW_MS) s.shift();
    this.#samples.set(peer, s);
  }
  rate(peer: string): number {
    const s = this.#samples.get(peer);
    if (!s || s.length < 2) return 0;
    const a = s[0]!;
    const b = s[s.length - 1]!;
    return b.t > a.t ? ((b.bits - a.bits) * 1000) / (b.t - a.t) : 0;
  }
}

export async function startApi(
  v: Validator,
  api: Pick<NodeConfig['api'], 'host' | 'port'> & Partial<Pick<NodeConfig['api'], 'cors' | 'rateLimit'>>,
  log: Logger,
): Promise<FastifyInstance> {
  const app = await buildValidatorApi(v, api, log);
  await app.listen({ host: api.host, port: api.port });
  return app;
}

/** The validator's API app, not listening (tests inject into it). */
export async function buildValidatorApi(
  v: Validator,
  api: Partial<Pick<NodeConfig['api'], 'cors' | 'rateLimit'>>,
  log: Logger,
): Promise<FastifyInstance> {
  const rates = new KeyRates();
  // Link state and alarm changes, for the `link` event and the key-rate samples.
  const linkEvents = new Set<(e: z.infer<typeof schemas.LinkEvent>) => void>();
  // Open event streams never finish by themselves: closing the server ends them, or it would
  // wait for every subscriber (a dashboard, a browser tab) to leave, and a supervisor's stop
  // would end in SIGKILL.
  const streams = new Set<{ end(): void }>();
  const lastLink = new Map<string, string>();
  const poll = setInterval(() => {
    const now = Date.now();
    for (const l of v.status().links) {
      rates.sample(l.peer, l.qkdBitsOut + l.qkdBitsIn, now);
      const key = `${l.state}/${l.alarm}`;
      if (lastLink.get(l.peer) !== key) {
        const first = !lastLink.has(l.peer);
        lastLink.set(l.peer, key);
        if (first) continue;
        const e = {
          peer: l.peer,
          state: l.state,
          alarm: l.alarm,
          qber: l.qber,
          fallbackReason: l.fallbackReason,
        };
        for (const f of linkEvents) f(e);
      }
    }
  }, LINK_POLL_MS);
  poll.unref();

  let verifying: { mode: string; run: Promise<VerifyResult> } | null = null;
  let lastVerify: (VerifyResult & { head: string }) | null = null;

  const blockAt = async (ref: string) => {
    const b = /^\d+$/.test(ref)
      ? await v.store.blockByHeight(Number(ref))
      : await v.store.blockByHash(fromHex(ref));
    if (!b) throw new QledgerError('BLOCK_NOT_FOUND', `no block ${ref}`, { ref });
    const cert = b.cert ? decodeCert(b.cert) : null;
    const header = decodeHeader(b.headerBytes);
    return {
      ...summary(b),
      txRoot: toHex(header.txRoot),
      stateRoot: toHex(header.stateRoot),
      beacon: toHex(header.beacon),
      txs: b.txs.map((t) => {
        const env = v.decodeTx(t);
        return { id: txIdHex(env), kind: env.tx.kind, sender: env.tx.from };
      }),
      cert: cert && { round: cert.round, signers: cert.sigs.map((s) => v.names[s.voter]!) },
    };
  };

  const handlers: Handlers = {
    submitTx: async ({ body, binary, reply }) => {
      if (body && 'tx' in body) {
        const st = await v.submit(fromHex(body.tx));
        return reply.code(st.status === 'rejected' ? 400 : 202).send(st);
      }
      // A JSON batch (hex) or an application/cbor one (bytes): the same answer.
      const txs = binary ?? body!.txs.map(fromHex);
      const results = await Promise.all(
        txs.map(async (bytes) => {
          try {
            return await v.submit(bytes);
          } catch (e) {
            if (!(e instanceof QledgerError)) throw e;
            return { status: 'rejected' as const, code: e.code, message: e.message };
          }
        }),
      );
      // submit() answers pending, committed or rejected: never unknown.
      return { results: results as z.infer<typeof schemas.SubmitResult>[] };
    },

    getTx: async ({ params }) => {
      const stored = await v.store.transaction(fromHex(params.id));
      if (stored) {
        const block = await v.store.blockByHeight(stored.height);
        return {
          id: params.id,
          status: 'committed' as const,
          height: stored.height,
          index: stored.index,
          kind: stored.kind,
          sender: stored.sender,
          ...(block ? { blockHash: toHex(block.hash) } : {}),
        };
      }
      const st = await v.txState(params.id);
      if (st.status === 'unknown')
        throw new QledgerError('TX_NOT_FOUND', `no transaction ${params.id} is known to this validator`, {
          id: params.id,
        });
      return { id: params.id, ...st };
    },

    listBlocks: async ({ query }) => {
      const head = v.height;
      const limit = Math.min(100, Math.max(1, Number(query.limit ?? 20)));
      const asc = query.order === 'asc';
      const start = query.cursor !== undefined ? Number(query.cursor) : asc ? 0 : head;
      const [from, to] = asc
        ? [start, Math.min(head, start + limit - 1)]
        : [Math.max(0, start - limit + 1), Math.min(start, head)];
      const blocks: BlockSummary[] = [];
      if (from <= to) for await (const b of v.store.blocks(from, to)) blocks.push(summary(b));
      if (!asc) blocks.reverse();
      const next = asc
        ? to + 1 <= head
          ? String(to + 1)
          : null
        : from > 0 && from <= head + 1
          ? String(from - 1)
          : null;
      return { blocks, next: blocks.length === 0 ? null : next };
    },

    latestBlock: async () => blockAt(String(v.height)),
    getBlock: async ({ params }) => blockAt(params.ref),

    chainStats: async () => {
      const [s, head] = await Promise.all([v.store.stats(), v.store.head()]);
      return {
        chainId: v.chainId,
        height: s.height,
        headHash: head ? toHex(head.hash) : '0'.repeat(64),
        headTime: head?.time ?? 0,
        blocks: s.blocks,
        transactions: s.transactions,
        identities: s.identities,
        datasets: s.datasets,
        validators: v.names.length,
      };
    },

    chainVerify: async ({ query }) => {
      const mode = query.mode ?? 'headers';
      const head = await v.store.head();
      const headHex = head ? toHex(head.hash) : '';
      // One verification at a time; a repeat at the same head is answered from the last run.
      if (lastVerify && lastVerify.mode === mode && lastVerify.head === headHex) {
        const { head: _h, ...r } = lastVerify;
        return r;
      }
      if (verifying && verifying.mode !== mode)
        throw new QledgerError('VERIFY_BUSY', `a ${verifying.mode} verification is running; retry later`);
      if (!verifying) {
        const t0 = performance.now();
        const run = verifyStore(v.store, { mode })
          .then(
            (r): VerifyResult => ({
              valid: r.valid,
              mode,
              blocks: r.blocks,
              transactions: r.transactions,
              height: r.height,
              ...(r.headHash ? { headHash: r.headHash } : {}),
              ...(r.error ? { error: r.error } : {}),
              ms: Math.round(performance.now() - t0),
              checkedAt: Date.now(),
            }),
          )
          .finally(() => {
            verifying = null;
          });
        verifying = { mode, run };
      }
      const r = await verifying.run;
      lastVerify = { ...r, head: headHex };
      return r;
    },

    getIdentity: async ({ params }) => {
      const id = await v.store.identity(params.name);
      if (!id)
        throw new QledgerError('IDENTITY_NOT_FOUND', `no identity ${params.name}`, { name: params.name });
      return {
        name: id.name,
        status: id.status,
        sigAlg: id.sigAlg,
        sigKey: toHex(id.sigKey),
        kemAlg: id.kemAlg,
        kemKey: toHex(id.kemKey),
        ...(id.ecc ? { ecc: { curve: id.ecc.curve, key: toHex(id.ecc.key) } } : {}),
        ...(id.recovery ? { recovery: { alg: id.recovery.alg, key: toHex(id.recovery.key) } } : {}),
        meta: { ...id.meta },
        registered: id.registered,
        keyVersion: id.keyVersion,
        ...(id.rotated !== undefined ? { rotated: id.rotated } : {}),
        trust: await v.store.trustScore(id.name),
        nextSeq: v.nextSeq(id.name),
      };
    },

    getTrust: async ({ params }) => {
      const score = await v.store.trustScore(params.name);
      if (score === null || !(await v.store.identity(params.name)))
        throw new QledgerError('IDENTITY_NOT_FOUND', `no identity ${params.name}`, { name: params.name });
      return { name: params.name, score };
    },

    listDatasets: async ({ query }) => {
      const limit = Math.min(100, Math.max(1, Number(query.limit ?? 20)));
      const rows = await v.store.datasets({
        ...(query.search ? { search: query.search } : {}),
        ...(query.cursor ? { after: query.cursor } : {}),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit).map(datasetView);
      return { datasets: page, next: rows.length > limit ? page[page.length - 1]!.id : null };
    },

    getDataset: async ({ params }) => {
      const d = await v.store.dataset(params.id);
      if (!d) throw new QledgerError('DATASET_NOT_FOUND', `no dataset ${params.id}`, { id: params.id });
      return datasetView(d);
    },

    validators: async () => {
      const connected = new Set(
        v
          .status()
          .peers.filter((p) => p.connected)
          .map((p) => p.name),
      );
      const proposer = v.proposer;
      return {
        validators: v.validatorKeys.map((k, index) => ({
          name: k.name,
          index,
          sigAlg: k.sigAlg,
          keyFingerprint: toHex(nativeHashes.sha3_256(k.sigKey)),
          self: k.name === v.name,
          proposer: k.name === proposer,
          connected: k.name === v.name || connected.has(k.name),
        })),
      };
    },

    peers: async () => ({ peers: v.status().peers }),

    qkdLinks: async () => {
      const s = v.status();
      return {
        links: s.links.map((l) => ({ ...l, keyRateBps: rates.rate(l.peer) })),
        qkdBitsConsumed: s.qkdBitsConsumed,
      };
    },

    qrng: async () => {
      const q = v.qrng();
      return {
        requireQrng: q.requireQrng,
        draws: q.draws,
        bytesServed: q.bytesServed,
        osOnlyDraws: q.osOnlyDraws,
        refusedDraws: q.refusedDraws,
        failovers: q.failovers,
        throughputBps: q.throughputBps,
        sources: q.sources.map((x) => ({
          name: x.name,
          kind: x.kind,
          quantum: x.quantum,
          state: x.state,
          bytesRead: x.bytesRead,
          bytesServed: x.bytesServed,
          samplesTested: x.samplesTested,
          healthFailures: { ...x.healthFailures },
          startupFailures: x.startupFailures,
          ioErrors: x.ioErrors,
        })),
      };
    },

    status: async () => v.status(),
    health: async () => ({ ok: true }),
    ready: async ({ reply }) => {
      const s = v.status();
      const connected = s.peers.filter((p) => p.connected).length;
      const ready = connected + 1 >= Math.floor((2 * v.names.length) / 3) + 1;
      return reply.code(ready ? 200 : 503).send({ ready, peersConnected: connected, height: s.height });
    },

    events: async ({ req, reply }) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        ...corsHeaders(reply),
      });
      res.write(': qledger events\n\n');
      const send = (name: string, data: unknown) =>
        res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
      const onBlock = (e: BlockEvent) => {
        send('block', {
          height: e.height,
          hash: e.hash,
          txCount: e.txs.length,
          round: e.round,
          proposer: e.proposer,
          time: e.time,
        });
        if (e.txs.length > 0) send('tx', { height: e.height, ids: e.txs });
      };
      const onView = (e: unknown) => send('viewChange', e);
      const onLink = (e: unknown) => send('link', e);
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      v.events.on('block', onBlock);
      v.events.on('viewChange', onView);
      linkEvents.add(onLink);
      streams.add(res);
      req.raw.on('close', () => {
        streams.delete(res);
        clearInterval(keepAlive);
        v.events.off('block', onBlock);
        v.events.off('viewChange', onView);
        linkEvents.delete(onLink);
      });
      return reply;
    },
  };

  const app = await buildApi(handlers, {
    log,
    version: VERSION,
    cors: api.cors ?? [],
    rateLimit: api.rateLimit ?? { max: 1200, windowMs: 10_000 },
    metrics: validatorMetrics(v),
  });
  app.addHook('preClose', async () => {
    for (const s of streams) s.end();
  });
  app.addHook('onClose', async () => clearInterval(poll));
  return app;
}

/** A hijacked reply skips Fastify's hooks: copy the CORS headers the plugin set. */
function corsHeaders(reply: { getHeaders(): Record<string, unknown> }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(reply.getHeaders()))
    if (k.startsWith('access-control-') && typeof val === 'string') out[k] = val;
  return out;
}

function datasetView(d: {
  id: string;
  name: string;
  licence: string;
  contentHash: Uint8Array;
  quality: number;
  owner: string;
  registered: number;
  verified: boolean;
  verifications: number;
  lastVerifiedBy?: string;
  lastVerifiedAt?: number;
}) {
  return {
    id: d.id,
    name: d.name,
    licence: d.licence,
    contentHash: toHex(d.contentHash),
    quality: d.quality,
    owner: d.owner,
    registered: d.registered,
    verified: d.verified,
    verifications: d.verifications,
    ...(d.lastVerifiedBy !== undefined ? { lastVerifiedBy: d.lastVerifiedBy } : {}),
    ...(d.lastVerifiedAt !== undefined ? { lastVerifiedAt: d.lastVerifiedAt } : {}),
  };
}
