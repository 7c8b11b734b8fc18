/**
 * The operator's side of the simulated QKD network, on its own port (never the ETSI port),
 * over TLS with the KME's server certificate:
 *
 *   GET  /health                      liveness, no token
 *   GET  /metrics                     Prometheus text, no token (no secrets in it)
 *   GET  /admin/v1/network            links (rate, QBER, alarm, pools, relay use), KMEs   token
 *   POST /admin/v1/links/:id          { eavesdrop?: 0…1, cut?: boolean }                  token
 *
 * The token is a bearer token compared in constant time. Errors are `{ code, message }`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Kme } from './kme.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function kmeMetrics(kmes: readonly Kme[]): Registry {
  const registry = new Registry();
  const linkGauge = (name: string, help: string, pick: (v: ReturnType<Kme['views']>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['kme', 'link'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const k of kmes) for (const v of k.views()) this.set({ kme: k.id, link: v.id }, pick(v));
      },
    });
  linkGauge(
    'qkd_link_skr_bps',
    'Modelled secret key rate of the link (0 when cut or in alarm)',
    (v) => v.skrBps,
  );
  linkGauge('qkd_link_qber', 'Modelled quantum bit error rate', (v) => v.qber);
  linkGauge('qkd_link_alarm', '1 while the QBER is over the alarm threshold', (v) => (v.alarm ? 1 : 0));
  linkGauge('qkd_link_cut', '1 while the link is cut', (v) => (v.cut ? 1 : 0));
  linkGauge('qkd_link_eavesdrop_fraction', 'Simulated intercept-resend fraction', (v) => v.eavesdrop);
  linkGauge(
    'qkd_link_relay_bits',
    'Key bits of the link used to relay keys between other sites',
    (v) => v.relayBits,
  );
  new Gauge({
    name: 'qkd_pool_bits',
    help: 'Key bits held per link direction (dir = the KME that hands them out as master)',
    labelNames: ['kme', 'link', 'dir'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const k of kmes)
        for (const v of k.views())
          for (const [dir, bits] of Object.entries(v.poolBits))
            this.set({ kme: k.id, link: v.id, dir }, bits);
    },
  });
  const counter = (name: string, help: string, pick: (k: Kme) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['kme'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const k of kmes) this.inc({ kme: k.id }, pick(k));
      },
    });
  counter('qkd_keys_issued_total', 'Keys handed to master SAEs (enc_keys)', (k) => k.counters.keysIssued);
  counter(
    'qkd_keys_delivered_total',
    'Keys handed to slave SAEs (dec_keys)',
    (k) => k.counters.keysDelivered,
  );
  counter(
    'qkd_keys_expired_total',
    'Keys erased unclaimed after their time to live',
    (k) => k.counters.keysExpired,
  );
  counter(
    'qkd_relays_originated_total',
    'Requests served by trusted-node relay',
    (k) => k.counters.relaysOriginated,
  );
  counter(
    'qkd_relays_forwarded_total',
    'Relayed keys forwarded as an intermediate node',
    (k) => k.counters.relaysForwarded,
  );
  return registry;
}

export interface AdminOptions {
  readonly kmes: readonly Kme[];
  readonly tls: { readonly cert: string; readonly key: string };
  readonly host: string;
  readonly port: number;
  readonly token: string;
}

export async function startAdminServer(opts: AdminOptions): Promise<{ app: FastifyInstance; url: string }> {
  if (opts.token.length < 16) throw new Error('the admin token must have at least 16 characters');
  const expected = digest(opts.token);
  const registry = kmeMetrics(opts.kmes);
  const app = Fastify({
    https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' },
    logger: false,
    bodyLimit: 16 * 1024,
  });
  const authorised = (req: FastifyRequest) => {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(h);
    return m !== null && timingSafeEqual(digest(m[1]!), expected);
  };
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500)
      return reply.code(400).send({ code: 'BAD_REQUEST', message: err.message });
    return reply.code(500).send({ code: 'INTERNAL', message: 'internal error' });
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/admin/') && !authorised(req))
      return reply
        .code(401)
        .send({ code: 'UNAUTHORIZED', message: 'a valid admin bearer token is required' });
  });
  app.get('/health', async () => ({ ok: true }));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get('/admin/v1/network', async () => ({
    kmes: opts.kmes.map((k) => ({
      id: k.id,
      saes: k.saes,
      counters: k.counters,
      waitingKeys: k.store.waitingKeys(),
      links: k.views(),
    })),
  }));
  app.post<{ Params: { id: string }; Body: unknown }>('/admin/v1/links/:id', async (req, reply) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return reply.code(400).send({ code: 'BAD_REQUEST', message: 'body must be a JSON object' });
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b))
      if (k !== 'eavesdrop' && k !== 'cut')
        return reply
          .code(400)
          .send({ code: 'BAD_REQUEST', message: `unknown field ${JSON.stringify(k)}`, field: k });
    if (
      b.eavesdrop !== undefined &&
      !(typeof b.eavesdrop === 'number' && b.eavesdrop >= 0 && b.eavesdrop <= 1)
    )
      return reply
        .code(400)
        .send({ code: 'BAD_REQUEST', message: 'eavesdrop must be a number in [0, 1]', field: 'eavesdrop' });
    if (b.cut !== undefined && typeof b.cut !== 'boolean')
      return reply.code(400).send({ code: 'BAD_REQUEST', message: 'cut must be a boolean', field: 'cut' });
    // The producing end when it is here (qkd-net holds both), else whichever end is here.
    const ends = opts.kmes.filter((k) => k.links.has(req.params.id));
    const kme = ends.find((k) => k.links.get(req.params.id)!.owner) ?? ends[0];
    if (!kme)
      return reply
        .code(404)
        .send({ code: 'LINK_NOT_FOUND', message: `no link ${JSON.stringify(req.params.id)} ends here` });
    try {
      return await kme.control(req.params.id, {
        ...(b.eavesdrop !== undefined ? { eavesdrop: b.eavesdrop as number } : {}),
        ...(b.cut !== undefined ? { cut: b.cut as boolean } : {}),
      });
    } catch (e) {
      return reply.code(502).send({ code: 'PEER_UNREACHABLE', message: (e as Error).message });
    }
  });
  const url = await app.listen({ host: opts.host, port: opts.port });
  return { app, url };
}
