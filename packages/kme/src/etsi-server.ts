/**
 * The ETSI GS QKD 014 V1.1.1 REST interface of one KME, over mutual TLS.
 *
 * The calling SAE is the common name of its client certificate, checked on every request
 * against the CA and against this KME's list of SAEs; anything else gets 401 with no body.
 * 400 and 503 carry the standard's Error body `{ message, details? }`. Both the POST forms
 * and the GET forms (`enc_keys?number=&size=`, `dec_keys?key_ID=`) are served; bodies and
 * queries are validated strictly and every error names the field.
 */
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type EncKeysRequest, EtsiError, type Kme } from './kme.js';

export interface TlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** The client certificate's CN, cached per TLS connection (keep-alive serves many requests). */
const peerNames = new WeakMap<object, string | null>();
export function clientName(socket: TLSSocket): string | null {
  let name = peerNames.get(socket);
  if (name === undefined) {
    name = null;
    if (socket.authorized) {
      const cn = socket.getPeerCertificate()?.subject?.CN;
      name = typeof cn === 'string' ? cn : null; // several CNs: not an SAE certificate
    }
    peerNames.set(socket, name);
  }
  return name;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(message: string): never {
  throw new EtsiError(400, message);
}

function checkExtensions(field: string, v: unknown): Record<string, unknown>[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every(isObj)) bad(`${field} must be an array of objects`);
  return v;
}

/** POST enc_keys body → request; unknown members are refused by name. */
export function parseEncBody(body: unknown): EncKeysRequest {
  if (body === undefined || body === null) return {};
  if (!isObj(body)) bad('request body must be a JSON object');
  const allowed = ['number', 'size', 'additional_slave_SAE_IDs', 'extension_mandatory', 'extension_optional'];
  for (const k of Object.keys(body)) if (!allowed.includes(k)) bad(`unknown field ${JSON.stringify(k)}`);
  const req: EncKeysRequest = {};
  if (body.number !== undefined) {
    if (typeof body.number !== 'number') bad('number must be an integer');
    req.number = body.number;
  }
  if (body.size !== undefined) {
    if (typeof body.size !== 'number') bad('size must be an integer');
    req.size = body.size;
  }
  if (body.additional_slave_SAE_IDs !== undefined) {
    const a = body.additional_slave_SAE_IDs;
    if (!Array.isArray(a) || !a.every((s) => typeof s === 'string'))
      bad('additional_slave_SAE_IDs must be an array of SAE IDs');
    req.additional_slave_SAE_IDs = a;
  }
  const m = checkExtensions('extension_mandatory', body.extension_mandatory);
  if (m) req.extension_mandatory = m;
  const o = checkExtensions('extension_optional', body.extension_optional);
  if (o) req.extension_optional = o;
  return req;
}

/** POST dec_keys body → key_IDs. */
export function parseDecBody(body: unknown): unknown[] {
  if (!isObj(body)) bad('request body must be a JSON object with key_IDs');
  for (const k of Object.keys(body))
    if (k !== 'key_IDs' && k !== 'key_IDs_extension') bad(`unknown field ${JSON.stringify(k)}`);
  const ids = body.key_IDs;
  if (!Array.isArray(ids)) bad('key_IDs must be an array of { key_ID } objects');
  return ids.map((o, i) => {
    if (!isObj(o) || typeof o.key_ID !== 'string') bad(`key_IDs[${i}].key_ID must be a string`);
    for (const k of Object.keys(o))
      if (k !== 'key_ID' && k !== 'key_ID_extension')
        bad(`key_IDs[${i}]: unknown field ${JSON.stringify(k)}`);
    return o.key_ID;
  });
}

const DECIMAL = /^(0|[1-9][0-9]{0,8})$/;

function queryInt(q: Record<string, unknown>, name: string): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !DECIMAL.test(v)) bad(`${name} must be a decimal integer`);
  return Number(v);
}

function onlyQuery(q: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(q))
    if (!allowed.includes(k)) bad(`unknown query parameter ${JSON.stringify(k)}`);
}

export interface EtsiServerOptions {
  readonly kme: Kme;
  readonly tls: TlsMaterial;
  readonly host: string;
  readonly port: number;
}

/** Start the ETSI 014 server; resolves once it listens. */
export async function startEtsiServer(
  opts: EtsiServerOptions,
): Promise<{ app: FastifyInstance; url: string }> {
  const { kme } = opts;
  const app = Fastify({
    https: {
      ca: opts.tls.ca,
      cert: opts.tls.cert,
      key: opts.tls.key,
      requestCert: true,
      rejectUnauthorized: false, // so that a missing or foreign certificate gets the standard's 401
      minVersion: 'TLSv1.2',
    },
    bodyLimit: 256 * 1024,
    keepAliveTimeout: 60_000,
    logger: false,
    return503OnClosing: true,
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const sae = clientName(req.raw.socket as TLSSocket);
    if (sae === null || !kme.serves(sae)) return reply.code(401).send();
    (req as FastifyRequest & { sae: string }).sae = sae;
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof EtsiError) {
      const body = err.body();
      return body ? reply.code(err.status).send(body) : reply.code(401).send();
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500)
      return reply.code(400).send({ message: `bad request: ${err.message}` });
    return reply.code(503).send({ message: 'the KME could not complete the request' });
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ message: 'no such ETSI GS QKD 014 resource' }),
  );

  const sae = (req: FastifyRequest) => (req as FastifyRequest & { sae: string }).sae;
  type P = { Params: { id: string }; Querystring: Record<string, unknown>; Body: unknown };

  app.get<P>('/api/v1/keys/:id/status', async (req) => {
    onlyQuery(req.query, []);
    return kme.status(sae(req), req.params.id);
  });
  app.post<P>('/api/v1/keys/:id/enc_keys', async (req) =>
    kme.encKeys(sae(req), req.params.id, parseEncBody(req.body)),
  );
  app.get<P>('/api/v1/keys/:id/enc_keys', async (req) => {
    onlyQuery(req.query, ['number', 'size']);
    const r: EncKeysRequest = {};
    const number = queryInt(req.query, 'number');
    const size = queryInt(req.query, 'size');
    if (number !== undefined) r.number = number;
    if (size !== undefined) r.size = size;
    return kme.encKeys(sae(req), req.params.id, r);
  });
  app.post<P>('/api/v1/keys/:id/dec_keys', async (req) =>
    kme.decKeys(sae(req), req.params.id, parseDecBody(req.body)),
  );
  app.get<P>('/api/v1/keys/:id/dec_keys', async (req) => {
    onlyQuery(req.query, ['key_ID']);
    const id = req.query.key_ID;
    if (typeof id !== 'string') bad('key_ID query parameter is required (exactly one)');
    return kme.decKeys(sae(req), req.params.id, [id]);
  });

  const url = await app.listen({ host: opts.host, port: opts.port });
  return { app, url: url.replace(/^http:/, 'https:') };
}
