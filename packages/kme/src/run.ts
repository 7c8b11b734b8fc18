/**
 * Running KMEs: the whole network in one process (`qledger qkd-net`: KMEs talk in process,
 * each still serves ETSI 014 on its own mutual-TLS port, one admin API), or one site per
 * process (`qledger kme --site ID`: KMEs talk over mutual TLS on their peer ports).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { startAdminServer } from './admin.js';
import { type NetworkConfig, Topology } from './config.js';
import { startEtsiServer, type TlsMaterial } from './etsi-server.js';
import { Kme, type KmeEvent } from './kme.js';
import type { PeerTransport } from './peer.js';
import { KmeStore } from './store.js';
import { httpsTransport, localTransport, startPeerServer } from './transport.js';

export interface RunOptions {
  readonly config: NetworkConfig;
  /** Directory relative paths in the config are resolved against. */
  readonly baseDir: string;
  /** One SQLite file per site in this directory; in memory when absent. */
  readonly dataDir?: string;
  /** Run only this site (separate processes); all sites in process when absent. */
  readonly site?: string;
  readonly adminToken: string;
  /** No production timers: the caller drives production with tick() (tests, benchmarks). */
  readonly manual?: boolean;
  readonly onEvent?: (e: KmeEvent) => void;
  /** Report a store failure (the process should exit). */
  readonly onFatal?: (e: unknown) => void;
}

export interface SiteEndpoints {
  readonly etsi: string;
  readonly peer?: string;
}

export interface RunningNetwork {
  readonly kmes: ReadonlyMap<string, Kme>;
  readonly sites: Readonly<Record<string, SiteEndpoints>>;
  readonly admin: string;
  /** Produce `seconds` of simulated key on every link (manual mode), and expire old keys. */
  tick(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

function tlsFor(config: NetworkConfig, baseDir: string, site: string): TlsMaterial {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const pki = abs(config.pki);
  const s = config.sites.find((x) => x.id === site)!;
  const read = (p: string, what: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      throw new Error(
        `${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (create a development PKI with \`qledger pki init --out ${pki}\`)`,
      );
    }
  };
  return {
    ca: read(join(pki, 'ca.crt'), 'CA certificate'),
    cert: read(s.cert ? abs(s.cert) : join(pki, 'kme', `${site}.crt`), `KME ${site} certificate`),
    key: read(s.key ? abs(s.key) : join(pki, 'kme', `${site}.key`), `KME ${site} key`),
  };
}

export async function startNetwork(opts: RunOptions): Promise<RunningNetwork> {
  const { config } = opts;
  const topology = new Topology(config);
  const ids = opts.site ? [opts.site] : config.sites.map((s) => s.id);
  if (opts.site && !topology.site(opts.site))
    throw new Error(`site ${opts.site} is not in the network config`);
  const registry = new Map<string, Kme>();
  const apps: FastifyInstance[] = [];
  const transports: PeerTransport[] = [];
  const sites: Record<string, SiteEndpoints> = {};
  const tls = new Map(ids.map((id) => [id, tlsFor(config, opts.baseDir, id)]));
  const onFatal =
    opts.onFatal ??
    ((e: unknown) =>
      setImmediate(() => {
        throw e;
      }));
  let timer: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  const stop = async () => {
    clearInterval(timer);
    clearInterval(sweeper);
    await Promise.allSettled(apps.map((a) => a.close()));
    await Promise.allSettled(transports.map((t) => t.close?.()));
    for (const k of registry.values()) k.store.close();
  };

  try {
    for (const id of ids) {
      const store = new KmeStore(
        opts.dataDir ? join(opts.dataDir, `${id}.sqlite`) : ':memory:',
        config.durability,
        onFatal,
      );
      const transport = opts.site ? httpsTransport(topology, tls.get(id)!) : localTransport(id, registry);
      transports.push(transport);
      registry.set(
        id,
        new Kme({ site: id, topology, store, transport, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) }),
      );
    }
    for (const id of ids) {
      const site = topology.site(id)!;
      const kme = registry.get(id)!;
      const etsi = await startEtsiServer({ kme, tls: tls.get(id)!, host: site.host, port: site.etsiPort });
      apps.push(etsi.app);
      let peer: string | undefined;
      if (opts.site) {
        const p = await startPeerServer({
          kme,
          tls: tls.get(id)!,
          host: site.host,
          port: site.peerPort,
        });
        apps.push(p.app);
        peer = p.url;
      }
      sites[id] = peer ? { etsi: etsi.url, peer } : { etsi: etsi.url };
    }
    const adminSite = opts.site ? topology.site(opts.site)! : undefined;
    const admin = await startAdminServer({
      kmes: [...registry.values()],
      tls: tls.get(ids[0]!)!,
      host: adminSite ? adminSite.host : config.adminHost,
      port: adminSite ? adminSite.adminPort : config.adminPort,
      token: opts.adminToken,
    });
    apps.push(admin.app);

    const tick = async (seconds: number) => {
      await Promise.all([...registry.values()].map((k) => k.produce(seconds)));
      await Promise.all([...registry.values()].map((k) => k.sweep()));
    };
    if (!opts.manual) {
      let last = performance.now();
      timer = setInterval(() => {
        const now = performance.now();
        const seconds = ((now - last) / 1000) * config.speed;
        last = now;
        for (const k of registry.values()) void k.produce(seconds).catch(onFatal);
      }, config.tickMs);
      sweeper = setInterval(() => {
        for (const k of registry.values()) void k.sweep().catch(onFatal);
      }, 1000);
      timer.unref();
      sweeper.unref();
    }
    return { kmes: registry, sites, admin: admin.url, tick, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
