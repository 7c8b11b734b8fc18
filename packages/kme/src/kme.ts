/**
 * One KME: the ETSI GS QKD 014 operations for its SAEs, the key streams of its links, key
 * relay through trusted nodes, and its side of the KME-to-KME protocol. Transport-agnostic:
 * the HTTP servers (etsi-server.ts, peer-server.ts) and the in-process network call it.
 *
 * Key flow for a request from master SAE m (at this KME M) for slave s (at KME T):
 *  1. M picks a path M → … → T (direct when linked; else the first, fewest-hop path whose
 *     every hop holds enough key, found with a probe along it).
 *  2. M takes the bytes from its own direction of the first link, records the key_IDs and
 *     commits (the bytes are gone from M's pool before anyone sees them).
 *  3. M sends `deliver` with the offset it took, while its commit syncs. Each hop takes the
 *     same bytes from its copy of the incoming stream; an intermediate hop also takes as many
 *     from its own direction of the next link and forwards the keys one-time-padded with them
 *     (trusted-node relay: the hop sees the key, and consumes key on every link). T stores
 *     the keys for the named slaves and commits.
 *  4. Only when T has acknowledged and M's commit is durable does M answer the master SAE.
 *     Any failure → 503 and the taken bytes are discarded, never handed out again.
 */
import { randomBytes as nodeRandomBytes, randomUUID } from 'node:crypto';
import type { Limits, LinkConfig, Topology } from './config.js';
import { type LinkPerformance, linkPerformance, PROFILES } from './model.js';
import type {
  ChunkMsg,
  DeliverMsg,
  LinkMsg,
  PeerMessage,
  PeerReply,
  PeerTransport,
  ProbeMsg,
} from './peer.js';
import { type ChunkPart, type KmeStore, StoreError } from './store.js';

export const ETSI_MESSAGES = {
  notFound: 'one or more keys specified are not found on KME',
  extension: 'not all extension_mandatory parameters are supported',
  sizeMultiple: 'size shall be a multiple of 8',
} as const;

export interface EtsiErrorBody {
  readonly message: string;
  readonly details?: readonly Record<string, unknown>[];
}

/** An answer other than 200: 400 and 503 carry an Error body, 401 none. */
export class EtsiError extends Error {
  constructor(
    readonly status: 400 | 401 | 503,
    message: string,
    readonly details?: readonly Record<string, unknown>[],
  ) {
    super(message);
  }
  body(): EtsiErrorBody | undefined {
    if (this.status === 401) return undefined;
    return this.details ? { message: this.message, details: this.details } : { message: this.message };
  }
}

export interface Status {
  source_KME_ID: string;
  target_KME_ID: string;
  master_SAE_ID: string;
  slave_SAE_ID: string;
  key_size: number;
  stored_key_count: number;
  max_key_count: number;
  max_key_per_request: number;
  max_key_size: number;
  min_key_size: number;
  max_SAE_ID_count: number;
  status_extension?: Record<string, unknown>;
}

export interface KeyContainer {
  keys: { key_ID: string; key: string }[];
}

export interface EncKeysRequest {
  number?: number;
  size?: number;
  additional_slave_SAE_IDs?: string[];
  extension_mandatory?: Record<string, unknown>[];
  extension_optional?: Record<string, unknown>[];
}

export interface KmeEvent {
  readonly kme: string;
  readonly event:
    | 'alarm'
    | 'alarm-cleared'
    | 'link-cut'
    | 'link-restored'
    | 'eavesdropper'
    | 'peer-unreachable';
  readonly link?: string;
  readonly detail?: Record<string, unknown>;
}

export interface KmeOptions {
  readonly site: string;
  readonly topology: Topology;
  readonly store: KmeStore;
  readonly transport: PeerTransport;
  readonly now?: () => number;
  readonly randomBytes?: (n: number) => Uint8Array;
  readonly onEvent?: (e: KmeEvent) => void;
}

export interface LinkRuntime {
  readonly link: LinkConfig;
  readonly peer: string;
  readonly owner: boolean;
  eavesdrop: number;
  cut: boolean;
  alarm: boolean;
  /** Fractional bits carried between production ticks. */
  carry: number;
  producedBits: number;
  usedBits: number;
  relayBits: number;
  pushing: boolean;
  pushFailures: number;
}

export interface LinkView {
  readonly id: string;
  readonly a: string;
  readonly b: string;
  readonly profile: string;
  readonly lengthKm: number;
  readonly producer: boolean;
  readonly eavesdrop: number;
  readonly cut: boolean;
  readonly alarm: boolean;
  readonly qber: number;
  readonly skrBps: number;
  readonly lossDb: number;
  /** Bits this KME can hand out as master, and bits held for the peer's requests. */
  readonly poolBits: { readonly [dir: string]: number };
  readonly producedBits: number;
  readonly usedBits: number;
  readonly relayBits: number;
}

export interface KmeCounters {
  encRequests: number;
  decRequests: number;
  keysIssued: number;
  keysDelivered: number;
  relaysOriginated: number;
  relaysForwarded: number;
  keysExpired: number;
  errors: Record<number, number>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

function xorInto(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function ignoreClosed(e: unknown): undefined {
  if (e instanceof StoreError && e.code === 'CLOSED') return undefined;
  throw e;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export class Kme {
  readonly id: string;
  readonly limits: Limits;
  readonly links = new Map<string, LinkRuntime>();
  readonly counters: KmeCounters = {
    encRequests: 0,
    decRequests: 0,
    keysIssued: 0,
    keysDelivered: 0,
    relaysOriginated: 0,
    relaysForwarded: 0,
    keysExpired: 0,
    errors: {},
  };
  readonly #topo: Topology;
  readonly #store: KmeStore;
  readonly #transport: PeerTransport;
  readonly #now: () => number;
  readonly #random: (n: number) => Uint8Array;
  readonly #onEvent: (e: KmeEvent) => void;

  constructor(opts: KmeOptions) {
    this.id = opts.site;
    this.#topo = opts.topology;
    this.limits = opts.topology.net.limits;
    this.#store = opts.store;
    this.#transport = opts.transport;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.randomBytes ?? ((n) => new Uint8Array(nodeRandomBytes(n)));
    this.#onEvent = opts.onEvent ?? (() => {});
    if (!opts.topology.site(this.id)) throw new Error(`site ${this.id} is not in the network`);
    for (const link of opts.topology.linksOf(this.id)) {
      this.links.set(link.id, {
        link,
        peer: link.a === this.id ? link.b : link.a,
        owner: link.a === this.id,
        eavesdrop: 0,
        cut: false,
        alarm: false,
        carry: 0,
        producedBits: 0,
        usedBits: 0,
        relayBits: 0,
        pushing: false,
        pushFailures: 0,
      });
    }
  }

  get store(): KmeStore {
    return this.#store;
  }

  /** SAEs this KME serves. */
  get saes(): readonly string[] {
    return this.#topo.site(this.id)!.saes;
  }

  serves(sae: string): boolean {
    return this.#topo.siteOfSae(sae) === this.id;
  }

  #fail(status: 400 | 401 | 503, message: string, details?: Record<string, unknown>[]): never {
    this.counters.errors[status] = (this.counters.errors[status] ?? 0) + 1;
    throw new EtsiError(status, message, details);
  }

  // ---- ETSI 014 -----------------------------------------------------------------------------

  #slaveSite(slave: string, field: string): string {
    const site = this.#topo.siteOfSae(slave);
    if (site === undefined)
      this.#fail(400, `${field} ${JSON.stringify(slave)} is not an SAE of this QKD network`);
    if (site === this.id)
      this.#fail(
        400,
        `${field} ${JSON.stringify(slave)} is attached to this KME; keys need a QKD link to another site`,
      );
    return site;
  }

  async status(caller: string, slave: string): Promise<Status> {
    const target = this.#slaveSite(slave, 'slave_SAE_ID');
    const route = await this.#bestRoute(target, 0);
    const stored = route ? Math.floor((route.bytes * 8) / this.limits.keySize) : 0;
    return {
      source_KME_ID: this.id,
      target_KME_ID: target,
      master_SAE_ID: caller,
      slave_SAE_ID: slave,
      key_size: this.limits.keySize,
      stored_key_count: Math.min(stored, this.limits.maxKeyCount),
      max_key_count: this.limits.maxKeyCount,
      max_key_per_request: this.limits.maxKeyPerRequest,
      max_key_size: this.limits.maxKeySize,
      min_key_size: this.limits.minKeySize,
      max_SAE_ID_count: this.limits.maxSaeIdCount,
      status_extension: {
        qledger_route: route?.path ?? [],
        qledger_relay: (route?.path.length ?? 2) > 2,
        ...this.#firstHopHealth(route?.path[1] ?? target),
      },
    };
  }

  /**
   * QBER and alarm of the local link a route starts on (vendor KMEs report link health in
   * their own ways; qledger validators read these two fields when present).
   */
  #firstHopHealth(next: string): { qledger_qber?: number; qledger_alarm?: boolean } {
    const link = this.#topo.linkBetween(this.id, next);
    const rt = link && this.links.get(link.id);
    if (!rt) return {};
    const perf = this.performance(rt);
    return { qledger_qber: perf.qber, qledger_alarm: perf.alarm || rt.cut };
  }

  /** Validate an enc_keys request: every rule names its field. */
  #checkEnc(caller: string, slave: string, req: EncKeysRequest) {
    const number = req.number ?? 1;
    const size = req.size ?? this.limits.keySize;
    if (!isInt(number) || number < 1)
      this.#fail(400, `number must be a positive integer (got ${JSON.stringify(req.number)})`);
    if (number > this.limits.maxKeyPerRequest)
      this.#fail(400, `number ${number} exceeds max_key_per_request ${this.limits.maxKeyPerRequest}`);
    if (!isInt(size) || size < 1)
      this.#fail(400, `size must be a positive integer (got ${JSON.stringify(req.size)})`);
    if (size % 8 !== 0) this.#fail(400, ETSI_MESSAGES.sizeMultiple);
    if (size < this.limits.minKeySize || size > this.limits.maxKeySize)
      this.#fail(
        400,
        `size ${size} is outside [min_key_size ${this.limits.minKeySize}, max_key_size ${this.limits.maxKeySize}]`,
      );
    const target = this.#slaveSite(slave, 'slave_SAE_ID');
    const extra = req.additional_slave_SAE_IDs ?? [];
    if (extra.length > 0 && this.limits.maxSaeIdCount === 0)
      this.#fail(400, 'additional_slave_SAE_IDs: this KME does not support multicast (max_SAE_ID_count 0)');
    if (extra.length > this.limits.maxSaeIdCount)
      this.#fail(
        400,
        `additional_slave_SAE_IDs has ${extra.length} entries, max_SAE_ID_count is ${this.limits.maxSaeIdCount}`,
      );
    const seen = new Set([slave, caller]);
    for (const s of extra) {
      if (typeof s !== 'string') this.#fail(400, 'additional_slave_SAE_IDs must be an array of SAE IDs');
      if (seen.has(s))
        this.#fail(400, `additional_slave_SAE_IDs: ${JSON.stringify(s)} is named twice or is the master`);
      seen.add(s);
      if (this.#slaveSite(s, 'additional_slave_SAE_IDs:') !== target)
        this.#fail(
          400,
          `additional_slave_SAE_IDs: ${JSON.stringify(s)} is not attached to ${target}, the slave's KME`,
        );
    }
    const mandatory = req.extension_mandatory ?? [];
    if (mandatory.length > 0) {
      // This KME implements no extensions: every mandatory one is unsupported.
      this.#fail(
        400,
        ETSI_MESSAGES.extension,
        mandatory.map((e) => Object.fromEntries(Object.keys(e).map((k) => [k, 'not supported']))),
      );
    }
    return { number, size, target, slaves: [slave, ...extra] };
  }

  async encKeys(caller: string, slave: string, req: EncKeysRequest): Promise<KeyContainer> {
    this.counters.encRequests++;
    const { number, size, target, slaves } = this.#checkEnc(caller, slave, req);
    const bytes = (number * size) / 8;
    const route = await this.#bestRoute(target, bytes);
    if (!route || route.bytes < bytes)
      this.#fail(
        503,
        `not enough key material towards ${target}: ${number} keys of ${size} bits asked, ${route ? Math.floor((route.bytes * 8) / size) : 0} available`,
      );
    const path = route.path;
    const link = this.#topo.linkBetween(this.id, path[1]!)!;
    const keyIds = Array.from({ length: number }, () => randomUUID());
    const expires = this.#now() + this.limits.keyTtlSeconds * 1000;
    let taken: { start: number; bytes: Uint8Array };
    let durable: Promise<void>;
    try {
      ({ value: taken, durable } = this.#store.stage(() => {
        const t = this.#store.take(link.id, this.id, 'next', bytes, true);
        for (const keyId of keyIds)
          this.#store.putKey({
            keyId,
            master: caller,
            slaves,
            remaining: [],
            bits: size,
            key: null,
            origin: this.id,
            expires,
          });
        return t;
      }));
    } catch (e) {
      if (e instanceof StoreError && e.code === 'NO_KEY')
        this.#fail(503, `not enough key material on link ${link.id}`);
      throw e;
    }
    this.links.get(link.id)!.usedBits += bytes * 8;
    if (path.length > 2) this.counters.relaysOriginated++;
    const msg: DeliverMsg = {
      type: 'deliver',
      path,
      hop: 1,
      link: link.id,
      start: taken.start,
      keys: keyIds.map((key_ID) => ({ key_ID, bits: size })),
      master: caller,
      slaves,
      expires,
    };
    // The deliver goes out while our own commit syncs: the two KMEs' syncs overlap instead of
    // running one after the other. Safe because every hop refuses stream bytes it has already
    // used (USED): if we crash before our commit is durable, our restarted take of these
    // same bytes is refused downstream and discarded, so they are never handed out twice.
    // Nobody is answered before both are durable.
    let reply: PeerReply;
    try {
      [reply] = await Promise.all([this.#send(path[1]!, msg), durable]);
    } catch (e) {
      taken.bytes.fill(0);
      throw e;
    }
    if (!reply.ok) {
      taken.bytes.fill(0);
      this.#fail(503, `key delivery to ${target} failed (${reply.code}); the keys were discarded`);
    }
    const keys = keyIds.map((key_ID, i) => ({
      key_ID,
      key: b64(taken.bytes.subarray((i * size) / 8, ((i + 1) * size) / 8)),
    }));
    taken.bytes.fill(0);
    this.counters.keysIssued += number;
    return { keys };
  }

  async decKeys(caller: string, master: string, keyIds: readonly unknown[]): Promise<KeyContainer> {
    this.counters.decRequests++;
    if (keyIds.length === 0) this.#fail(400, 'key_IDs must name at least one key');
    if (keyIds.length > this.limits.maxKeyPerRequest)
      this.#fail(
        400,
        `key_IDs has ${keyIds.length} entries, max_key_per_request is ${this.limits.maxKeyPerRequest}`,
      );
    const ids = keyIds.map((k) => (typeof k === 'string' ? k.toLowerCase() : ''));
    ids.forEach((k, i) => {
      if (!UUID_RE.test(k)) this.#fail(400, `key_IDs[${i}].key_ID must be a UUID`);
    });
    if (new Set(ids).size !== ids.length) this.#fail(400, 'key_IDs names the same key twice');
    const now = this.#now();
    // Checks and removal in one synchronous write: all keys or none.
    const out = await this.#store.write(() => {
      const rows = ids.map((k) => this.#store.getKey(k));
      const unknown = rows.some(
        (r) =>
          !r ||
          r.key === null ||
          r.master !== master ||
          r.expires <= now ||
          (r.slaves.includes(caller) && !r.remaining.includes(caller)),
      );
      if (unknown) this.#fail(400, ETSI_MESSAGES.notFound);
      if (rows.some((r) => !r!.slaves.includes(caller)))
        this.#fail(401, 'caller was not named as a slave of these keys');
      for (const k of ids) this.#store.served(k, caller);
      return rows.map((r) => ({ key_ID: r!.keyId, key: b64(r!.key!) }));
    });
    this.counters.keysDelivered += out.length;
    return { keys: out };
  }

  // ---- routing ------------------------------------------------------------------------------

  /** Fewest-hop path to `target` holding at least `bytes` (0: the path holding the most). */
  async #bestRoute(target: string, bytes: number): Promise<{ path: string[]; bytes: number } | undefined> {
    const direct = this.#topo.linkBetween(this.id, target);
    if (direct) return { path: [this.id, target], bytes: this.#store.available(direct.id, this.id, true) };
    let best: { path: string[]; bytes: number } | undefined;
    for (const path of this.#topo.paths(this.id, target)) {
      const first = this.#topo.linkBetween(this.id, path[1]!)!;
      const local = this.#store.available(first.id, this.id, true);
      if (local === 0 || local < bytes) continue;
      const reply = await this.#send(path[1]!, { type: 'probe', path, hop: 1 });
      if (!reply.ok) continue;
      const avail = Math.min(local, reply.bytes ?? 0);
      if (bytes > 0 && avail >= bytes) return { path, bytes: avail };
      if (!best || avail > best.bytes) best = { path, bytes: avail };
    }
    return best;
  }

  // ---- KME-to-KME ---------------------------------------------------------------------------

  async #send(to: string, msg: PeerMessage): Promise<PeerReply> {
    try {
      return await this.#transport.send(to, msg);
    } catch (e) {
      this.#onEvent({
        kme: this.id,
        event: 'peer-unreachable',
        detail: { peer: to, type: msg.type, error: String((e as Error).message ?? e) },
      });
      return { ok: false, code: 'UNREACHABLE', message: `KME ${to} is unreachable` };
    }
  }

  /** Handle a message from neighbour `from` (already authenticated by the transport). */
  async handlePeer(from: string, msg: PeerMessage): Promise<PeerReply> {
    try {
      switch (msg.type) {
        case 'chunk':
          return await this.#onChunk(from, msg);
        case 'deliver':
          return await this.#onDeliver(from, msg);
        case 'probe':
          return await this.#onProbe(from, msg);
        case 'link':
          return this.#onLink(from, msg);
      }
    } catch (e) {
      if (e instanceof StoreError || e instanceof EtsiError)
        return { ok: false, code: e instanceof StoreError ? e.code : 'REFUSED', message: e.message };
      throw e;
    }
  }

  #runtimeFor(from: string, linkId: string): LinkRuntime {
    const rt = this.links.get(linkId);
    if (!rt || rt.peer !== from)
      throw new StoreError('NOT_RECEIVED', `${from} is not this KME's peer on link ${linkId}`);
    return rt;
  }

  async #onChunk(from: string, msg: ChunkMsg): Promise<PeerReply> {
    const rt = this.#runtimeFor(from, msg.link);
    if (rt.owner) throw new StoreError('NOT_RECEIVED', `this KME produces the key of link ${msg.link}`);
    for (const p of msg.parts)
      if (p.dir !== from && p.dir !== this.id)
        throw new StoreError('NOT_RECEIVED', `chunk part for unknown direction ${p.dir}`);
    const parts = msg.parts.map((p) => ({ dir: p.dir, start: p.start, bytes: unb64(p.bytes) }));
    try {
      return await this.#store.write(() => {
        const { next } = this.#store.linkSeq(msg.link);
        if (msg.seq < next) return { ok: true } as const; // a re-push of what arrived already
        if (msg.seq > next)
          throw new StoreError('NOT_RECEIVED', `link ${msg.link} expects chunk ${next}, got ${msg.seq}`);
        for (const p of parts)
          this.#store.markReady(msg.link, p.dir, this.#store.append(msg.link, p, msg.seq));
        this.#store.setNextSeq(msg.link, msg.seq + 1);
        rt.producedBits += parts.reduce((n, p) => n + p.bytes.length * 8, 0);
        return { ok: true } as const;
      });
    } finally {
      for (const p of parts) p.bytes.fill(0);
    }
  }

  async #onDeliver(from: string, msg: DeliverMsg): Promise<PeerReply> {
    if (msg.hop >= msg.path.length || msg.path[msg.hop] !== this.id || msg.path[msg.hop - 1] !== from)
      throw new StoreError('NOT_RECEIVED', 'deliver: this KME is not the next hop of the path');
    const rt = this.#runtimeFor(from, msg.link);
    const bytes = msg.keys.reduce((n, k) => n + k.bits, 0) / 8;
    if (msg.keys.some((k) => k.bits % 8 !== 0))
      throw new StoreError('NOT_RECEIVED', 'deliver: key sizes must be whole bytes');
    if (msg.expires <= this.#now()) throw new StoreError('NOT_RECEIVED', 'deliver: the keys have expired');
    const otp = msg.otp === undefined ? undefined : unb64(msg.otp);
    if (otp && otp.length !== bytes)
      throw new StoreError('NOT_RECEIVED', 'deliver: relayed key length mismatch');
    const last = msg.hop === msg.path.length - 1;
    if (last)
      for (const s of msg.slaves)
        if (this.#topo.siteOfSae(s) !== this.id)
          throw new StoreError('NOT_RECEIVED', `deliver: SAE ${s} is not served here`);
    const next = last ? undefined : msg.path[msg.hop + 1]!;
    const nextLink = next === undefined ? undefined : this.#topo.linkBetween(this.id, next);
    if (next !== undefined && !nextLink)
      throw new StoreError('NOT_RECEIVED', `deliver: no link from ${this.id} to ${next}`);
    const forward = await this.#store.write(() => {
      const t = this.#store.take(msg.link, from, msg.start, bytes, false);
      const key = otp ? xorInto(otp, t.bytes) : t.bytes;
      if (otp) t.bytes.fill(0);
      if (last) {
        let off = 0;
        for (const k of msg.keys) {
          const n = k.bits / 8;
          this.#store.putKey({
            keyId: k.key_ID,
            master: msg.master,
            slaves: msg.slaves,
            remaining: msg.slaves,
            bits: k.bits,
            key: key.subarray(off, off + n),
            origin: msg.path[0]!,
            expires: msg.expires,
          });
          off += n;
        }
        key.fill(0);
        return undefined;
      }
      const t2 = this.#store.take(nextLink!.id, this.id, 'next', bytes, true);
      const pad = xorInto(key, t2.bytes);
      key.fill(0);
      t2.bytes.fill(0);
      return { start: t2.start, otp: pad };
    });
    rt.usedBits += bytes * 8;
    if (!forward) return { ok: true };
    this.counters.relaysForwarded++;
    const out = this.links.get(nextLink!.id)!;
    out.usedBits += bytes * 8;
    out.relayBits += bytes * 8;
    rt.relayBits += bytes * 8;
    const reply = await this.#send(next!, {
      ...msg,
      hop: msg.hop + 1,
      link: nextLink!.id,
      start: forward.start,
      otp: b64(forward.otp),
    });
    forward.otp.fill(0);
    return reply;
  }

  async #onProbe(from: string, msg: ProbeMsg): Promise<PeerReply> {
    if (msg.hop >= msg.path.length || msg.path[msg.hop] !== this.id || msg.path[msg.hop - 1] !== from)
      throw new StoreError('NOT_RECEIVED', 'probe: this KME is not the next hop of the path');
    const inLink = this.#topo.linkBetween(from, this.id);
    if (!inLink) throw new StoreError('NOT_RECEIVED', `probe: no link from ${from} to ${this.id}`);
    const incoming = this.#store.available(inLink.id, from, false);
    if (msg.hop === msg.path.length - 1) return { ok: true, bytes: incoming };
    const next = msg.path[msg.hop + 1]!;
    const out = this.#topo.linkBetween(this.id, next);
    if (!out) throw new StoreError('NOT_RECEIVED', `probe: no link from ${this.id} to ${next}`);
    const own = this.#store.available(out.id, this.id, true);
    const reply = await this.#send(next, { ...msg, hop: msg.hop + 1 });
    if (!reply.ok) return reply;
    return { ok: true, bytes: Math.min(incoming, own, reply.bytes ?? 0) };
  }

  #onLink(from: string, msg: LinkMsg): PeerReply {
    this.#runtimeFor(from, msg.link);
    this.#applyControl(msg.link, { eavesdrop: msg.eavesdrop, cut: msg.cut });
    return { ok: true };
  }

  // ---- links --------------------------------------------------------------------------------

  performance(rt: LinkRuntime): LinkPerformance {
    return linkPerformance(
      PROFILES[rt.link.profile]!,
      rt.link.lengthKm,
      rt.eavesdrop,
      this.#topo.net.alarmQber,
    );
  }

  #applyControl(linkId: string, c: { eavesdrop?: number; cut?: boolean }): LinkRuntime {
    const rt = this.links.get(linkId);
    if (!rt) throw new Error(`link ${linkId} does not end at ${this.id}`);
    if (c.eavesdrop !== undefined && c.eavesdrop !== rt.eavesdrop) {
      rt.eavesdrop = c.eavesdrop;
      this.#onEvent({ kme: this.id, event: 'eavesdropper', link: linkId, detail: { fraction: c.eavesdrop } });
    }
    if (c.cut !== undefined && c.cut !== rt.cut) {
      rt.cut = c.cut;
      this.#onEvent({ kme: this.id, event: c.cut ? 'link-cut' : 'link-restored', link: linkId });
    }
    const { alarm, qber } = this.performance(rt);
    if (alarm !== rt.alarm) {
      rt.alarm = alarm;
      this.#onEvent({
        kme: this.id,
        event: alarm ? 'alarm' : 'alarm-cleared',
        link: linkId,
        detail: { qber },
      });
    }
    return rt;
  }

  /** Operator control (admin API): applied here and sent to the other end. */
  async control(linkId: string, c: { eavesdrop?: number; cut?: boolean }): Promise<LinkView> {
    const rt = this.#applyControl(linkId, c);
    const reply = await this.#send(rt.peer, {
      type: 'link',
      link: linkId,
      eavesdrop: rt.eavesdrop,
      cut: rt.cut,
    });
    if (!reply.ok)
      throw new Error(`link ${linkId}: the other end did not take the change (${reply.message})`);
    return this.view(rt);
  }

  view(rt: LinkRuntime): LinkView {
    const perf = this.performance(rt);
    const producing = !rt.cut && !perf.alarm;
    return {
      id: rt.link.id,
      a: rt.link.a,
      b: rt.link.b,
      profile: rt.link.profile,
      lengthKm: rt.link.lengthKm,
      producer: rt.owner,
      eavesdrop: rt.eavesdrop,
      cut: rt.cut,
      alarm: perf.alarm,
      qber: perf.qber,
      skrBps: producing ? perf.skrBps : 0,
      lossDb: perf.lossDb,
      poolBits: {
        [this.id]: this.#store.available(rt.link.id, this.id, true) * 8,
        [rt.peer]: this.#store.available(rt.link.id, rt.peer, false) * 8,
      },
      producedBits: rt.producedBits,
      usedBits: rt.usedBits,
      relayBits: rt.relayBits,
    };
  }

  views(): LinkView[] {
    return [...this.links.values()].map((rt) => this.view(rt));
  }

  /**
   * Run `seconds` of simulated production on every link this KME produces: first finish
   * pushing what the peer has not acknowledged, then distil new key at the modelled rate,
   * half for each direction, up to the pool cap.
   */
  async produce(seconds: number): Promise<void> {
    // A store closed under a tick (shutdown, or a crash in tests) ends production quietly.
    await Promise.all(
      [...this.links.values()]
        .filter((rt) => rt.owner)
        .map((rt) => this.#produceLink(rt, seconds).catch(ignoreClosed)),
    );
  }

  async #produceLink(rt: LinkRuntime, seconds: number): Promise<void> {
    if (rt.pushing || this.#store.closed) return;
    rt.pushing = true;
    try {
      for (const c of this.#store.unacked(rt.link.id)) if (!(await this.#push(rt, c.seq, c.parts))) return;
      const perf = this.performance(rt);
      if (rt.cut || perf.alarm || perf.skrBps === 0) return;
      rt.carry += perf.skrBps * seconds;
      const total = Math.floor(rt.carry / 16) * 2; // whole bytes, an even number
      if (total === 0) return;
      rt.carry -= total * 8;
      const cap = (this.limits.maxKeyCount * this.limits.keySize) / 8;
      const link = rt.link.id;
      const dirs = [this.id, rt.peer].filter((d) => {
        const l = this.#store.level(link, d);
        return l.end - l.alloc < cap;
      });
      if (dirs.length === 0) {
        rt.carry = 0;
        return;
      }
      const material = this.#random(total);
      const half = total / 2;
      const seq = this.#store.linkSeq(link).next;
      const parts: ChunkPart[] = dirs.map((dir, i) => ({
        dir,
        start: this.#store.level(link, dir).end,
        bytes: material.subarray(i * half, (i + 1) * half),
      }));
      await this.#store.write(() => {
        for (const p of parts) this.#store.append(link, p, seq);
        this.#store.setNextSeq(link, seq + 1);
      });
      rt.producedBits += dirs.length * half * 8;
      await this.#push(rt, seq, parts);
      material.fill(0);
    } finally {
      rt.pushing = false;
    }
  }

  async #push(rt: LinkRuntime, seq: number, parts: readonly ChunkPart[]): Promise<boolean> {
    const reply = await this.#send(rt.peer, {
      type: 'chunk',
      link: rt.link.id,
      seq,
      parts: parts.map((p) => ({ dir: p.dir, start: p.start, bytes: b64(p.bytes) })),
    });
    if (!reply.ok) {
      rt.pushFailures++;
      return false;
    }
    const own = parts.find((p) => p.dir === this.id);
    await this.#store.write(() => {
      this.#store.setAcked(rt.link.id, seq);
      if (own) this.#store.markReady(rt.link.id, this.id, own.start + own.bytes.length);
    });
    return true;
  }

  /** Erase keys whose time has passed. */
  async sweep(): Promise<number> {
    const n = (await this.#store.write(() => this.#store.expire(this.#now())).catch(ignoreClosed)) ?? 0;
    this.counters.keysExpired += n;
    return n;
  }
}
