/**
 * The two ways KMEs reach each other: in process (`qkd-net`) and over mutual TLS between
 * `qledger kme` processes. Both pass every message through JSON and the same schema, so the
 * in-process network exercises exactly what crosses the wire.
 */
import { Agent, request } from 'node:https';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Topology } from './config.js';
import { clientName, type TlsMaterial } from './etsi-server.js';
import type { Kme } from './kme.js';
import { PeerMessage, PeerReply, type PeerTransport } from './peer.js';

const roundTrip = <T>(schema: { parse(v: unknown): T }, v: unknown): T =>
  schema.parse(JSON.parse(JSON.stringify(v)));

/** In-process transport from `from` to the KMEs of `registry`; `isUp` simulates a down peer. */
export function localTransport(
  from: string,
  registry: ReadonlyMap<string, Kme>,
  isUp: (site: string) => boolean = () => true,
): PeerTransport {
  return {
    async send(to, msg) {
      const peer = registry.get(to);
      if (!peer || !isUp(to) || !isUp(from)) throw new Error(`KME ${to} is not reachable`);
      const reply = await peer.handlePeer(from, roundTrip(PeerMessage, msg));
      return roundTrip(PeerReply, reply);
    },
  };
}

const MAX_REPLY = 64 * 1024;

/** Mutual-TLS transport: this KME's certificate as client, the peer's checked against its id. */
export function httpsTransport(
  topology: Topology,
  tls: TlsMaterial,
  timeoutMs = 5000,
): PeerTransport & { close(): Promise<void> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: tls.ca, cert: tls.cert, key: tls.key });
  return {
    send(to, msg) {
      const site = topology.site(to);
      if (!site) return Promise.reject(new Error(`unknown KME ${to}`));
      const body = JSON.stringify(msg);
      return new Promise<PeerReply>((resolve, reject) => {
        const req = request(
          {
            host: site.host,
            port: site.peerPort,
            path: '/peer/v1/message',
            method: 'POST',
            agent,
            servername: site.host === to ? undefined : to,
            // The peer must present the certificate of the KME we meant to reach.
            checkServerIdentity: (_host, cert) => checkServerIdentity(to, cert),
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            timeout: timeoutMs,
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > MAX_REPLY) req.destroy(new Error(`KME ${to}: reply too large`));
              else chunks.push(c);
            });
            res.on('end', () => {
              try {
                if (res.statusCode !== 200) throw new Error(`KME ${to}: HTTP ${res.statusCode}`);
                resolve(PeerReply.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
              } catch (e) {
                reject(e);
              }
            });
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`KME ${to}: no answer within ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      });
    },
    async close() {
      agent.destroy();
    },
  };
}

/** The KME-to-KME endpoint: only neighbouring KMEs, by their certificate, may call. */
export async function startPeerServer(opts: {
  kme: Kme;
  tls: TlsMaterial;
  host: string;
  port: number;
}): Promise<{ app: FastifyInstance; url: string }> {
  const neighbours = new Set([...opts.kme.links.values()].map((rt) => rt.peer));
  const app = Fastify({
    https: {
      ca: opts.tls.ca,
      cert: opts.tls.cert,
      key: opts.tls.key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    bodyLimit: 32 * 1024 * 1024,
    logger: false,
  });
  app.post('/peer/v1/message', async (req, reply) => {
    const from = clientName(req.raw.socket as TLSSocket);
    if (from === null || !neighbours.has(from)) return reply.code(401).send();
    const msg = PeerMessage.safeParse(req.body);
    if (!msg.success)
      return reply
        .code(400)
        .send({ ok: false, code: 'BAD_MESSAGE', message: msg.error.issues[0]?.message ?? 'bad message' });
    return opts.kme.handlePeer(from, msg.data);
  });
  const url = await app.listen({ host: opts.host, port: opts.port });
  return { app, url };
}
