/**
 * The devnet's web front door (`qledger devnet`, default http://127.0.0.1:8080/): serves the
 * built web app, forwards `/v1/*` to a live validator (the first that answers, so the page
 * keeps working while one restarts), shows the QKD network as the KMEs see it, and takes
 * the devnet controls (eavesdropper, cut) behind the admin bearer token. Loopback only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Kme, LinkView as KmeLinkView } from '@qledger/kme';
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import { z } from 'zod';

export interface DashboardOptions {
  readonly host: string;
  readonly port: number;
  /** The built web app (index.html, main.js, …); absent: the page says how to build it. */
  readonly appDir: string;
  readonly validators: readonly { name: string; site: string; api: string }[];
  readonly kmes: ReadonlyMap<string, Kme>;
  readonly adminToken: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

const Control = z.strictObject({
  eavesdrop: z.number().min(0).max(1).optional(),
  cut: z.boolean().optional(),
});

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Every file of the built app, read once: nothing outside it can ever be served. */
function loadApp(dir: string): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>();
  const walk = (d: string, prefix: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${n}/`);
      else if (TYPES[extname(n)])
        files.set(`/${prefix}${n}`, { type: TYPES[extname(n)]!, body: readFileSync(p) });
    }
  };
  walk(dir, '');
  return files;
}

export async function startDashboard(opts: DashboardOptions): Promise<{ app: FastifyInstance; url: string }> {
  const expected = digest(opts.adminToken);
  const app = Fastify({
    logger: false,
    bodyLimit: 8 * 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const files = loadApp(opts.appDir);
  const fail = (reply: FastifyReply, status: number, code: string, message: string, details?: object) =>
    reply.code(status).send({ code, message, ...(details ? { details } : {}) });
  app.setErrorHandler((e: Error & { statusCode?: number }, _req, reply) => {
    const status = e.statusCode ?? 500;
    return status < 500
      ? fail(reply, status, status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'REQUEST_INVALID', e.message)
      : fail(reply, 500, 'INTERNAL', 'internal error');
  });

  // ---- the web app ---------------------------------------------------------------------------
  const index = files.get('/index.html');
  const page = (reply: FastifyReply) =>
    index
      ? reply.type(index.type).send(index.body)
      : reply
          .code(503)
          .type('text/plain')
          .send('the web app is not built: run `npm run build` (npm start does it for you)\n');
  app.get('/', async (_req, reply) => page(reply));
  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (path.startsWith('/v1/') || path.startsWith('/devnet/'))
      return fail(reply, 404, 'NOT_FOUND', `no route GET ${path}`);
    const f = files.get(path);
    if (f) return reply.type(f.type).header('cache-control', 'no-cache').send(f.body);
    return fail(reply, 404, 'NOT_FOUND', `no file ${path}`);
  });

  // ---- the QKD network and the validators ---------------------------------------------------
  const linkViews = (): KmeLinkView[] => {
    const byId = new Map<string, KmeLinkView>();
    for (const k of opts.kmes.values())
      for (const l of k.views()) if (l.producer || !byId.has(l.id)) byId.set(l.id, l);
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  };
  app.get('/devnet/network', async () => {
    const statuses = await Promise.all(
      opts.validators.map(async (v) => {
        try {
          const r = await fetch(`${v.api}/v1/status`, { signal: AbortSignal.timeout(2000) });
          return r.ok ? ((await r.json()) as unknown) : null;
        } catch {
          return null;
        }
      }),
    );
    return {
      validators: opts.validators.map((v, i) => ({ ...v, up: statuses[i] !== null, status: statuses[i] })),
      sites: [...opts.kmes.values()].map((k) => ({ id: k.id, saes: k.saes })),
      links: linkViews().map((l) => ({
        id: l.id,
        a: l.a,
        b: l.b,
        profile: l.profile,
        lengthKm: l.lengthKm,
        eavesdrop: l.eavesdrop,
        cut: l.cut,
        alarm: l.alarm,
        qber: l.qber,
        skrBps: l.skrBps,
        poolBits: l.poolBits,
        producedBits: l.producedBits,
        usedBits: l.usedBits,
        relayBits: l.relayBits,
      })),
    };
  });

  // ---- devnet controls (admin token) ----------------------------------------------------------
  app.post<{ Params: { id: string } }>('/devnet/links/:id', async (req, reply) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m || !timingSafeEqual(digest(m[1]!), expected))
      return fail(reply, 401, 'UNAUTHORIZED', 'a valid admin bearer token is required');
    const body = Control.safeParse(req.body ?? {});
    if (!body.success) {
      const i = body.error.issues[0]!;
      const field = i.code === 'unrecognized_keys' ? i.keys[0]! : i.path.join('.') || 'body';
      return fail(
        reply,
        400,
        'REQUEST_INVALID',
        `${field}: ${i.code === 'unrecognized_keys' ? 'unknown field' : i.message}`,
        { field },
      );
    }
    const ends = [...opts.kmes.values()].filter((k) => k.links.has(req.params.id));
    const kme = ends.find((k) => k.links.get(req.params.id)!.owner) ?? ends[0];
    if (!kme) return fail(reply, 404, 'LINK_NOT_FOUND', `no QKD link ${JSON.stringify(req.params.id)}`);
    const c = body.data;
    const view = await kme.control(req.params.id, {
      ...(c.eavesdrop !== undefined ? { eavesdrop: c.eavesdrop } : {}),
      ...(c.cut !== undefined ? { cut: c.cut } : {}),
    });
    return { id: view.id, eavesdrop: view.eavesdrop, cut: view.cut, alarm: view.alarm, qber: view.qber };
  });

  // ---- /v1/* to a live validator ---------------------------------------------------------------
  let preferred = 0;
  const forward = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    reply: FastifyReply,
  ) => {
    for (let k = 0; k < opts.validators.length; k++) {
      const i = (preferred + k) % opts.validators.length;
      const v = opts.validators[i]!;
      let res: Response;
      try {
        res = await fetch(`${v.api}${path}`, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: path.startsWith('/v1/events') ? null : AbortSignal.timeout(15_000),
        });
      } catch {
        continue;
      }
      preferred = i;
      reply.code(res.status).header('x-qledger-validator', v.name);
      const type = res.headers.get('content-type');
      if (type) reply.type(type);
      if (type?.startsWith('text/event-stream')) {
        reply.header('cache-control', 'no-cache');
        const stream = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
        reply.raw.on('close', () => stream.destroy());
        return reply.send(stream);
      }
      return reply.send(Buffer.from(await res.arrayBuffer()));
    }
    return fail(reply, 503, 'UNAVAILABLE', 'no validator answered');
  };
  app.get('/v1/*', async (req, reply) =>
    forward('GET', req.url, { accept: req.headers.accept ?? '*/*' }, undefined, reply),
  );
  app.post('/v1/*', async (req, reply) =>
    forward('POST', req.url, { 'content-type': 'application/json' }, JSON.stringify(req.body), reply),
  );

  const url = await app.listen({ host: opts.host, port: opts.port });
  return { app, url };
}
