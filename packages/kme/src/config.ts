/**
 * The QKD network file shared by `qledger qkd-net` (all sites in one process) and
 * `qledger kme --site ID` (one site per process): sites with their SAEs and addresses,
 * links with a device profile and a fibre length, and the KME limits. The schema checks
 * every field and the cross-references (the CLI reports the first bad field by its path).
 */
import { z } from 'zod';
import { PROFILES } from './model.js';

const ID = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1–64 letters, digits, ".", "_" or "-"');
const port = z.number().int().min(0).max(65535);

export const SiteSchema = z.strictObject({
  id: ID,
  /** SAEs served by this site's KME; each is identified by its client certificate's CN. */
  saes: z.array(ID).default([]),
  host: z.string().min(1).default('127.0.0.1'),
  etsiPort: port.default(0),
  /** KME-to-KME channel (key sync and relay), mutual TLS with KME certificates. */
  peerPort: port.default(0),
  adminPort: port.default(0),
  /** PEM paths; default PKI_DIR/kme/ID.crt and .key as written by `qledger pki init`. */
  cert: z.string().optional(),
  key: z.string().optional(),
});

export const LinkSchema = z.strictObject({
  id: ID,
  /** The end that runs the link's key production ("Alice"). */
  a: ID,
  b: ID,
  profile: z
    .string()
    .refine((p) => p in PROFILES, { message: `must be one of ${Object.keys(PROFILES).join(', ')}` }),
  lengthKm: z.number().min(0).max(400),
});

export const LimitsSchema = z.strictObject({
  /** Default key size in bits (ETSI key_size); also the unit of stored_key_count. */
  keySize: z.number().int().min(8).max(65536).multipleOf(8).default(256),
  minKeySize: z.number().int().min(8).multipleOf(8).default(64),
  maxKeySize: z.number().int().max(65536).multipleOf(8).default(1024),
  maxKeyPerRequest: z.number().int().min(1).max(10000).default(128),
  /** Pool cap per link direction, in keys of keySize bits; production pauses at the cap. */
  maxKeyCount: z.number().int().min(1).max(10_000_000).default(100_000),
  /** Additional slaves allowed per request (0 = no multicast). */
  maxSaeIdCount: z.number().int().min(0).max(16).default(3),
  /** Seconds a key waits for its slave SAEs before it is erased. */
  keyTtlSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 86400)
    .default(600),
});

export const NetworkSchema = z
  .strictObject({
    /** Directory of `qledger pki init`; relative paths are relative to the config file. */
    pki: z.string().default('pki'),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    /** Simulated seconds per real second: 1 is real time; tests and demos go faster. */
    speed: z.number().positive().max(1e6).default(1),
    /** Production tick in ms of real time. */
    tickMs: z.number().int().min(5).max(10_000).default(100),
    alarmQber: z.number().gt(0).lt(0.5).default(0.11),
    /**
     * "full" fsyncs every commit: no key is handed out twice even after a power loss.
     * "normal" (SQLite WAL, synchronous=NORMAL) survives a crash of the process, not of the
     * machine, and is several times faster (docs/qkd.md).
     */
    durability: z.enum(['full', 'normal']).default('full'),
    /** Admin API of `qledger qkd-net` (one for the whole network); `qledger kme` uses the site's. */
    adminHost: z.string().min(1).default('127.0.0.1'),
    adminPort: port.default(0),
    sites: z.array(SiteSchema).min(2),
    links: z.array(LinkSchema).min(1),
  })
  .superRefine((n, ctx) => {
    const sites = new Set<string>();
    const saes = new Set<string>();
    n.sites.forEach((s, i) => {
      if (sites.has(s.id))
        ctx.addIssue({ code: 'custom', path: ['sites', i, 'id'], message: `duplicate site ${s.id}` });
      sites.add(s.id);
      s.saes.forEach((sae, j) => {
        if (saes.has(sae) || sites.has(sae))
          ctx.addIssue({
            code: 'custom',
            path: ['sites', i, 'saes', j],
            message: `SAE ${sae} is named twice`,
          });
        saes.add(sae);
      });
    });
    const pairs = new Set<string>();
    const links = new Set<string>();
    n.links.forEach((l, i) => {
      if (links.has(l.id))
        ctx.addIssue({ code: 'custom', path: ['links', i, 'id'], message: `duplicate link ${l.id}` });
      links.add(l.id);
      for (const end of ['a', 'b'] as const)
        if (!sites.has(l[end]))
          ctx.addIssue({ code: 'custom', path: ['links', i, end], message: `unknown site ${l[end]}` });
      if (l.a === l.b)
        ctx.addIssue({ code: 'custom', path: ['links', i, 'b'], message: 'a link joins two sites' });
      const pair = [l.a, l.b].sort().join('|');
      if (pairs.has(pair))
        ctx.addIssue({ code: 'custom', path: ['links', i], message: `${l.a} and ${l.b} are already linked` });
      pairs.add(pair);
    });
    const lim = n.limits;
    if (lim.minKeySize > lim.maxKeySize || lim.keySize < lim.minKeySize || lim.keySize > lim.maxKeySize)
      ctx.addIssue({
        code: 'custom',
        path: ['limits', 'keySize'],
        message: 'need minKeySize ≤ keySize ≤ maxKeySize',
      });
  });

export type NetworkConfig = z.infer<typeof NetworkSchema>;
export type SiteConfig = z.infer<typeof SiteSchema>;
export type LinkConfig = z.infer<typeof LinkSchema>;
export type Limits = z.infer<typeof LimitsSchema>;

/** The topology the KMEs route over. */
export class Topology {
  readonly #siteOfSae = new Map<string, string>();
  readonly #links = new Map<string, LinkConfig>();
  readonly #adj = new Map<string, { peer: string; link: LinkConfig }[]>();

  constructor(readonly net: NetworkConfig) {
    for (const s of net.sites) {
      this.#adj.set(s.id, []);
      for (const sae of s.saes) this.#siteOfSae.set(sae, s.id);
    }
    for (const l of net.links) {
      this.#links.set(l.id, l);
      this.#adj.get(l.a)!.push({ peer: l.b, link: l });
      this.#adj.get(l.b)!.push({ peer: l.a, link: l });
    }
  }

  site(id: string): SiteConfig | undefined {
    return this.net.sites.find((s) => s.id === id);
  }

  siteOfSae(sae: string): string | undefined {
    return this.#siteOfSae.get(sae);
  }

  link(id: string): LinkConfig | undefined {
    return this.#links.get(id);
  }

  linkBetween(x: string, y: string): LinkConfig | undefined {
    return this.#adj.get(x)?.find((e) => e.peer === y)?.link;
  }

  linksOf(site: string): LinkConfig[] {
    return (this.#adj.get(site) ?? []).map((e) => e.link);
  }

  /** Simple paths from `from` to `to`, fewest hops first (then by name), at most maxHops. */
  paths(from: string, to: string, maxHops = 6): string[][] {
    const out: string[][] = [];
    const walk = (path: string[]) => {
      const here = path.at(-1)!;
      if (here === to) {
        out.push(path);
        return;
      }
      if (path.length > maxHops) return;
      for (const { peer } of this.#adj.get(here) ?? []) if (!path.includes(peer)) walk([...path, peer]);
    };
    walk([from]);
    return out.sort((p, q) => p.length - q.length || p.join().localeCompare(q.join()));
  }
}
