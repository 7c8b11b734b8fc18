/**
 * One validator-to-validator link's message authentication: Wegman–Carter tags with a
 * Toeplitz hash (digest mode, t = 128), pads from QKD key, or from an ML-KEM exchange when
 * the link falls back.
 *
 * Key flow (ETSI GS QKD 014). Each direction has its own key stream: the sender is the
 * master SAE. It takes keys from its KME with enc_keys, records their key_IDs as used (the
 * store refuses an id seen before), announces the ids to the peer in a KEYS frame, and only
 * then uses them; the peer fetches the same keys with dec_keys and appends them to its copy
 * of the stream in the same order. Both ends thus hold identical streams, and a tag names
 * the position of its pad. The first 80 bytes of each session's stream key the Toeplitz
 * hash; every tag after that consumes 16 fresh pad bytes, zeroed once used (PadStream).
 * Positions only move forward, so a replayed message finds its pad gone; a new connection
 * starts a new session with fresh keys, so an old session's messages fail their tags.
 *
 * Fallback. When the link has no QKD key for `fallbackAfterMs`, or the KME reports a QBER
 * alarm on it, the sender switches to pads drawn from SHAKE256 of an ML-KEM-768 shared
 * secret (established when the connection opened, both halves signed with the validators'
 * ML-DSA keys), unless `requireQkd` is set: then the link halts and the receiver also
 * refuses fallback tags. Every switch is logged, counted and shown in status().
 */
import {
  concatBytes,
  DOMAIN,
  type HashSuite,
  labelPrefix,
  macDigest,
  PadStream,
  QledgerError,
  ToeplitzMac,
} from '@qledger/core';
import type { Etsi014Client, QkdKey } from '../qkd/etsi014.js';

export const TAG_BYTES = 16;
const MAC_KEY_BYTES = Math.ceil(ToeplitzMac.keyBits('digest', 128) / 8); // 80
const MODE_QKD = 1;
const MODE_PQ = 2;
/** mode ‖ session id (4) ‖ position (8) ‖ tag. */
const HEADER = 1 + 4 + 8 + TAG_BYTES;
const PQ_CHUNK = 4096;

export type LinkState = 'qkd' | 'fallback' | 'halted';

/**
 * How far back a dry link's deliveries are counted (dryKeyRate): a few of the KME's
 * production ticks and of the refill's polls, so one chunk more or less moves the rate little.
 */
export const DRY_WINDOW_MS = 1000;

/** Shared by the links one message is broadcast on: its MAC digest, computed by the first. */
export interface MacMemo {
  digest?: Uint8Array;
}

export interface LinkLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LinkOptions {
  readonly self: string;
  readonly peer: string;
  /** This validator's KME client; null: no QKD on this link (fallback only, or halted). */
  readonly kme: Etsi014Client | null;
  readonly recordKeyIds: (link: string, ids: readonly string[]) => Promise<void>;
  readonly hashes: HashSuite;
  readonly requireQkd: boolean;
  /** Refill when fewer pad bytes than this remain; fill up to `highBytes`. */
  readonly lowBytes?: number;
  readonly highBytes?: number;
  /**
   * Size of the keys this end asks its KME for (enc_keys). The receiving end takes keys of
   * whatever size the sender chose: each direction's stream is only bytes.
   */
  readonly keyBits?: number;
  readonly maxKeysPerRequest?: number;
  readonly fallbackAfterMs?: number;
  /** A message that found no key for this long is dropped (consensus re-sends). */
  readonly giveUpMs?: number;
  readonly statusPollMs?: number;
  readonly log: LinkLog;
  /** Send a KEYS frame to the peer on the current connection. */
  readonly announce: (ids: readonly string[]) => void;
  /** The session failed (e.g. dec_keys refused the peer's ids): close the connection. */
  readonly onBroken: (why: string) => void;
}

export interface LinkStatus {
  readonly peer: string;
  readonly state: LinkState;
  readonly requireQkd: boolean;
  readonly fallbackReason: string | null;
  /** Unused QKD pad held for sending / for checking the peer's tags, in bits. */
  readonly bufferBits: number;
  readonly inboundBufferBits: number;
  /** QKD key bits taken from the KME for this link: as master (sending) and as slave. */
  readonly qkdBitsOut: number;
  readonly qkdBitsIn: number;
  /** QKD key bits spent on this validator's own tags and Toeplitz keys (the key economy). */
  readonly qkdBitsUsed: number;
  /** dryKeyRate(): what the KME delivers per second once its pool is dry; null while it holds key. */
  readonly dryKeyRateBps: number | null;
  readonly tagsSent: number;
  readonly tagsChecked: number;
  readonly badTags: number;
  readonly refusedFallbackTags: number;
  readonly fallbackTagsSent: number;
  readonly fallbacks: number;
  readonly dropped: number;
  readonly qber: number | null;
  readonly alarm: boolean;
}

/** SHAKE256 in counter mode: pads for the fallback, derived from the ML-KEM secret. */
class PqPads {
  readonly pads = new PadStream();
  #counter = 0;
  constructor(
    readonly seed: Uint8Array,
    readonly hashes: HashSuite,
  ) {}
  ensure(end: number): void {
    while (this.pads.position + this.pads.remaining < end) {
      const ctr = new Uint8Array(8);
      new DataView(ctr.buffer).setBigUint64(0, BigInt(this.#counter++));
      this.pads.append(this.hashes.shake256(concatBytes(this.seed, ctr), PQ_CHUNK));
    }
  }
  destroy(): void {
    this.seed.fill(0);
    this.pads.destroy();
  }
}

interface Direction {
  /** Names the session (from its fallback seed), so a message of an older one is refused at once. */
  session: number;
  qkd: PadStream;
  qkdMac: ToeplitzMac | null;
  pq: PqPads | null;
  pqMac: ToeplitzMac | null;
}

const newDirection = (session = 0): Direction => ({
  session,
  qkd: new PadStream(),
  qkdMac: null,
  pq: null,
  pqMac: null,
});

function destroyDirection(d: Direction): void {
  d.qkd.destroy();
  d.qkdMac?.destroy();
  d.pq?.destroy();
  d.pqMac?.destroy();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref?.());

export class LinkAuth {
  readonly o: Required<Omit<LinkOptions, 'kme'>> & { kme: Etsi014Client | null };
  #out = newDirection();
  #in = newDirection();
  #inChain: Promise<void> = Promise.resolve();
  #session = 0;
  #state: LinkState;
  #reason: string | null = null;
  #refilling = false;
  #starvedSince: number | null = null;
  /** When a refill last found the KME's pool short of what it asked for. */
  #shortAt = Number.NEGATIVE_INFINITY;
  /** The refills of the last DRY_WINDOW_MS: when, and how many bits each brought. */
  #deliveries: { at: number; bits: number }[] = [];
  #waiters: (() => void)[] = [];
  #poll: NodeJS.Timeout | undefined;
  #closed = false;
  #alarm = false;
  #qber: number | null = null;
  readonly #c = {
    qkdBitsOut: 0,
    qkdBitsIn: 0,
    qkdBitsUsed: 0,
    tagsSent: 0,
    tagsChecked: 0,
    badTags: 0,
    refusedFallbackTags: 0,
    fallbackTagsSent: 0,
    fallbacks: 0,
    dropped: 0,
  };

  constructor(opts: LinkOptions) {
    this.o = {
      lowBytes: 512,
      highBytes: 2048,
      keyBits: 256,
      maxKeysPerRequest: 128,
      fallbackAfterMs: 3000,
      giveUpMs: 10_000,
      statusPollMs: 1000,
      ...opts,
    };
    this.#state = opts.kme ? 'qkd' : opts.requireQkd ? 'halted' : 'fallback';
    if (!opts.kme) this.#reason = 'no KME configured for this link';
    if (opts.kme) {
      this.#poll = setInterval(() => void this.#checkHealth(), this.o.statusPollMs);
      this.#poll.unref();
    }
  }

  get link(): string {
    return `${this.o.self}>${this.o.peer}`;
  }

  /** A new connection: fresh streams (keys of the old session are zeroed and never used). */
  newSession(pqOut: Uint8Array | null, pqIn: Uint8Array | null): void {
    this.#session++;
    destroyDirection(this.#out);
    destroyDirection(this.#in);
    const id = (seed: Uint8Array | null) =>
      seed ? new DataView(this.o.hashes.sha3_256(seed).buffer).getUint32(0) : this.#session;
    this.#out = newDirection(id(pqOut));
    this.#in = newDirection(id(pqIn));
    this.#inChain = Promise.resolve();
    if (pqOut) this.#out.pq = new PqPads(pqOut, this.o.hashes);
    if (pqIn) this.#in.pq = new PqPads(pqIn, this.o.hashes);
    this.#wake();
    void this.#refill();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#poll);
    destroyDirection(this.#out);
    destroyDirection(this.#in);
    this.#wake();
  }

  /** Pad bytes left for sending (QKD). The proposer waits for key rather than spend fallback. */
  get sendBudget(): number {
    return this.#state === 'qkd' ? this.#out.qkd.remaining : Number.POSITIVE_INFINITY;
  }

  /**
   * The rate this link's KME delivers key at, in bits a second, when the link lives on it: the
   * send pad is below the low watermark, so the refill keeps asking, and a refill found the
   * KME's pool short within the last DRY_WINDOW_MS, so each refill since took what the link had
   * distilled. The bits they brought over that window are the rate the link sustains (relayed
   * key included). null while the pad or the pool holds key, or off QKD.
   */
  dryKeyRate(now = performance.now()): number | null {
    if (this.#state !== 'qkd' || now - this.#shortAt > DRY_WINDOW_MS) return null;
    if (this.#out.qkd.remaining >= this.o.lowBytes) return null;
    let bits = 0;
    for (const d of this.#deliveries) if (now - d.at <= DRY_WINDOW_MS) bits += d.bits;
    return (bits * 1000) / DRY_WINDOW_MS;
  }

  #delivered(bits: number): void {
    const now = performance.now();
    while (this.#deliveries.length > 0 && now - this.#deliveries[0]!.at > DRY_WINDOW_MS)
      this.#deliveries.shift();
    this.#deliveries.push({ at: now, bits });
  }

  status(): LinkStatus {
    return {
      peer: this.o.peer,
      state: this.#state,
      requireQkd: this.o.requireQkd,
      fallbackReason: this.#reason,
      bufferBits: this.#out.qkd.remaining * 8,
      inboundBufferBits: this.#in.qkd.remaining * 8,
      dryKeyRateBps: this.dryKeyRate(),
      ...this.#c,
      qber: this.#qber,
      alarm: this.#alarm,
    };
  }

  // ---- sending ------------------------------------------------------------------------------

  /**
   * Seals `msg` now if the link can: the envelope, null when the message is dropped (closed,
   * or halted under requireQkd), undefined when it must wait for key (then use `seal`).
   * `memo` is shared by the links a message is broadcast on: the first to tag it leaves the
   * message's MAC digest there (macDigest: keyless and public) and the others reuse it.
   */
  trySeal(msg: Uint8Array, memo?: MacMemo): Uint8Array | null | undefined {
    if (this.#closed) return null;
    const need = TAG_BYTES + (this.#out.qkdMac ? 0 : MAC_KEY_BYTES);
    if (this.#state === 'qkd' && this.#out.qkd.remaining >= need)
      return this.#tagQkd(msg, this.#digest(msg, memo));
    if (this.#state === 'fallback' && this.#out.pq) return this.#tagPq(msg, this.#digest(msg, memo));
    if (this.#state === 'halted') {
      // requireQkd and no usable QKD key: nothing goes out until the link recovers.
      this.#c.dropped++;
      return null;
    }
    return undefined;
  }

  /** The tagged envelope for `msg`, or null when no key came within giveUpMs (dropped). */
  async seal(msg: Uint8Array): Promise<Uint8Array | null> {
    const start = performance.now();
    for (;;) {
      const env = this.trySeal(msg);
      if (env !== undefined) return env;
      if (this.#state === 'qkd') void this.#refill();
      const waited = performance.now() - start;
      if (waited >= this.o.giveUpMs) {
        this.#c.dropped++;
        return null;
      }
      await this.#wait(Math.min(250, this.o.giveUpMs - waited));
      if (
        this.#state === 'qkd' &&
        this.#starvedSince !== null &&
        performance.now() - this.#starvedSince >= this.o.fallbackAfterMs
      )
        this.#fallBack('no QKD key from the KME');
    }
  }

  #digest(msg: Uint8Array, memo: MacMemo | undefined): Uint8Array | undefined {
    if (!memo) return undefined;
    memo.digest ??= macDigest(this.o.hashes, msg);
    return memo.digest;
  }

  #tagQkd(msg: Uint8Array, digest?: Uint8Array): Uint8Array {
    const d = this.#out;
    if (!d.qkdMac) {
      d.qkdMac = this.#macFrom(d.qkd.next(MAC_KEY_BYTES).pad);
      this.#c.qkdBitsUsed += MAC_KEY_BYTES * 8;
    }
    const t = d.qkdMac.tag(msg, d.qkd, digest);
    this.#c.tagsSent++;
    this.#c.qkdBitsUsed += TAG_BYTES * 8;
    if (d.qkd.remaining < this.o.lowBytes) void this.#refill();
    return envelope(MODE_QKD, d.session, t.position, t.tag, msg);
  }

  #tagPq(msg: Uint8Array, digest?: Uint8Array): Uint8Array {
    const d = this.#out;
    const pq = d.pq!;
    if (!d.pqMac) {
      pq.ensure(pq.pads.position + MAC_KEY_BYTES);
      d.pqMac = this.#macFrom(pq.pads.next(MAC_KEY_BYTES).pad);
    }
    pq.ensure(pq.pads.position + TAG_BYTES);
    const t = d.pqMac.tag(msg, pq.pads, digest);
    this.#c.fallbackTagsSent++;
    return envelope(MODE_PQ, d.session, t.position, t.tag, msg);
  }

  #macFrom(key: Uint8Array): ToeplitzMac {
    const mac = new ToeplitzMac(key, { mode: 'digest', hashes: this.o.hashes });
    key.fill(0);
    return mac;
  }

  // ---- receiving ----------------------------------------------------------------------------

  /** The message inside a tagged envelope, or null (bad or refused tag: counted, dropped). */
  async open(env: Uint8Array): Promise<Uint8Array | null> {
    if (env.length < HEADER) return this.#bad();
    const view = new DataView(env.buffer, env.byteOffset, env.byteLength);
    const mode = env[0];
    const d = this.#in;
    if (view.getUint32(1) !== d.session) return this.#bad(); // another (older) session
    const pos = Number(view.getBigUint64(5));
    const tag = env.subarray(13, HEADER);
    const msg = env.subarray(HEADER);
    if (mode === MODE_PQ) {
      if (this.o.requireQkd || !d.pq) {
        this.#c.refusedFallbackTags++;
        return null;
      }
      if (!d.pqMac) {
        d.pq.ensure(MAC_KEY_BYTES);
        d.pqMac = this.#macFrom(d.pq.pads.at(0, MAC_KEY_BYTES));
      }
      if (pos < d.pq.pads.position || pos > d.pq.pads.position + 1e6) return this.#bad();
      d.pq.ensure(pos + TAG_BYTES);
      return this.#check(d.pqMac, msg, tag, pos, d.pq.pads);
    }
    if (mode !== MODE_QKD) return this.#bad();
    // A position far past all key announced so far is forged, not early.
    if (pos > d.qkd.position + d.qkd.remaining + (this.o.highBytes + MAC_KEY_BYTES) * 4) return this.#bad();
    const session = this.#session;
    // Wait (in order) until the peer's announced keys cover this pad.
    const ok = await this.#covered(Math.max(pos, MAC_KEY_BYTES) + TAG_BYTES, session);
    if (!ok || session !== this.#session) return this.#bad();
    if (!d.qkdMac) d.qkdMac = this.#macFrom(d.qkd.at(0, MAC_KEY_BYTES));
    if (pos < d.qkd.position) return this.#bad();
    return this.#check(d.qkdMac, msg, tag, pos, d.qkd);
  }

  #check(mac: ToeplitzMac, msg: Uint8Array, tag: Uint8Array, pos: number, pads: PadStream) {
    try {
      if (!mac.verify(msg, tag, pos, pads)) return this.#bad();
    } catch (e) {
      if (e instanceof QledgerError) return this.#bad();
      throw e;
    }
    this.#c.tagsChecked++;
    return msg;
  }

  #bad(): null {
    this.#c.badTags++;
    return null;
  }

  async #covered(end: number, session: number): Promise<boolean> {
    const deadline = performance.now() + this.o.giveUpMs;
    for (;;) {
      const d = this.#in;
      if (session !== this.#session || this.#closed) return false;
      if (d.qkd.position + d.qkd.remaining >= end) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await this.#wait(Math.min(left, 250));
    }
  }

  /** The peer announced key_IDs: fetch them (in order) and append them to the inbound stream. */
  onKeys(ids: readonly string[]): void {
    const session = this.#session;
    const kme = this.o.kme;
    this.#inChain = this.#inChain.then(async () => {
      if (session !== this.#session) return;
      if (!kme) {
        this.o.onBroken('the peer announced QKD keys but this validator has no KME');
        return;
      }
      let keys: QkdKey[] = [];
      try {
        // No size: the sender chose it (its keyBits), and the KME vouches for each key_ID.
        keys = await kme.decKeys(this.o.peer, ids);
        await this.o.recordKeyIds(`${this.o.peer}>${this.o.self}`, ids);
      } catch (e) {
        for (const k of keys) k.key.fill(0);
        this.o.log.warn({ peer: this.o.peer, code: (e as QledgerError).code }, 'dec_keys failed');
        if (session === this.#session) this.o.onBroken(`dec_keys failed: ${(e as Error).message}`);
        return;
      }
      if (session !== this.#session) {
        for (const k of keys) k.key.fill(0);
        return;
      }
      for (const k of keys) {
        this.#in.qkd.append(k.key);
        this.#c.qkdBitsIn += k.key.length * 8;
      }
      this.#wake();
    });
  }

  // ---- key supply ---------------------------------------------------------------------------

  async #refill(): Promise<void> {
    const kme = this.o.kme;
    if (this.#refilling || !kme || this.#closed || this.#state !== 'qkd') return;
    this.#refilling = true;
    const session = this.#session;
    const keyBytes = this.o.keyBits / 8;
    try {
      while (
        session === this.#session &&
        !this.#closed &&
        this.#state === 'qkd' &&
        this.#out.qkd.remaining < this.o.lowBytes + (this.#out.qkdMac ? 0 : MAC_KEY_BYTES)
      ) {
        let want = Math.min(
          this.o.maxKeysPerRequest,
          Math.ceil((this.o.highBytes - this.#out.qkd.remaining) / keyBytes),
        );
        let keys: QkdKey[];
        try {
          keys = await kme.encKeys(this.o.peer, { number: want, size: this.o.keyBits });
        } catch (e) {
          const code = (e as QledgerError).code;
          if (code === 'KME_KEYS_EXHAUSTED') {
            this.#shortAt = performance.now();
            // All-or-nothing: ask for what the pool holds now.
            const st = await kme.status(this.o.peer).catch(() => null);
            want = Math.min(want, Math.floor(((st?.stored_key_count ?? 0) * st!.key_size) / this.o.keyBits));
            if (want > 0) {
              try {
                keys = await kme.encKeys(this.o.peer, { number: want, size: this.o.keyBits });
              } catch {
                keys = [];
              }
            } else keys = [];
          } else {
            this.o.log.warn({ peer: this.o.peer, code }, 'enc_keys failed');
            keys = [];
          }
          if (keys.length === 0) {
            this.#starvedSince ??= performance.now();
            await sleep(code === 'KME_KEYS_EXHAUSTED' ? 50 : 500);
            continue;
          }
        }
        if (session !== this.#session || this.#state !== 'qkd') {
          for (const k of keys) k.key.fill(0);
          return;
        }
        const ids = keys.map((k) => k.keyId);
        await this.o.recordKeyIds(this.link, ids);
        this.o.announce(ids);
        let bits = 0;
        for (const k of keys) {
          this.#out.qkd.append(k.key);
          bits += k.key.length * 8;
        }
        this.#c.qkdBitsOut += bits;
        this.#delivered(bits);
        this.#starvedSince = null;
        this.#wake();
      }
    } catch (e) {
      this.o.log.warn({ peer: this.o.peer, err: (e as Error).message }, 'key refill failed');
      this.o.onBroken(`key refill failed: ${(e as Error).message}`);
    } finally {
      this.#refilling = false;
    }
  }

  async #checkHealth(): Promise<void> {
    const kme = this.o.kme;
    if (!kme || this.#closed) return;
    let ext: { qledger_alarm?: unknown; qledger_qber?: unknown } | undefined;
    try {
      ext = (await kme.status(this.o.peer)).status_extension as typeof ext;
    } catch {
      return; // unreachable KME: starvation handles it
    }
    this.#qber = typeof ext?.qledger_qber === 'number' ? ext.qledger_qber : null;
    const alarm = ext?.qledger_alarm === true;
    if (alarm && !this.#alarm) {
      this.#alarm = true;
      this.#fallBack(`QBER alarm on the QKD link (QBER ${this.#qber?.toFixed(3) ?? '?'})`);
    } else if (!alarm && this.#alarm) {
      this.#alarm = false;
      this.#recover('QBER alarm cleared');
    } else if (!alarm && this.#state !== 'qkd') void this.#tryRecover();
  }

  /** In fallback for lack of key: back to QKD once the KME holds enough again. */
  async #tryRecover(): Promise<void> {
    const kme = this.o.kme;
    if (!kme) return;
    const st = await kme.status(this.o.peer).catch(() => null);
    if (st && (st.stored_key_count ?? 0) * st.key_size >= (this.o.highBytes + MAC_KEY_BYTES) * 8) {
      this.#starvedSince = null;
      this.#recover('QKD key available again');
    }
  }

  #fallBack(reason: string): void {
    const next: LinkState = this.o.requireQkd ? 'halted' : 'fallback';
    // Key that may have been observed is never used: drop the unused QKD pad.
    this.#out.qkd.destroy();
    if (this.#state === next && this.#reason === reason) return;
    this.#state = next;
    this.#reason = reason;
    this.#c.fallbacks++;
    this.o.log.warn(
      { peer: this.o.peer, state: next, reason },
      next === 'halted' ? 'link halted (requireQkd)' : 'link falls back to ML-KEM keys',
    );
    this.#wake();
  }

  #recover(why: string): void {
    if (this.#state === 'qkd' || !this.o.kme) return;
    this.#state = 'qkd';
    this.#reason = null;
    this.o.log.info({ peer: this.o.peer, why }, 'link back on QKD keys');
    void this.#refill();
    this.#wake();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#waiters.push(done);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

function envelope(
  mode: number,
  session: number,
  position: number,
  tag: Uint8Array,
  msg: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(HEADER + msg.length);
  out[0] = mode;
  const view = new DataView(out.buffer);
  view.setUint32(1, session);
  view.setBigUint64(5, BigInt(position));
  out.set(tag, 13);
  out.set(msg, HEADER);
  tag.fill(0);
  return out;
}

/** The fallback seeds for each direction from the ML-KEM shared secret and the transcript. */
export function fallbackSeeds(
  hashes: HashSuite,
  secret: Uint8Array,
  transcript: Uint8Array,
  dialer: string,
  listener: string,
): { dialerToListener: Uint8Array; listenerToDialer: Uint8Array } {
  const enc = new TextEncoder();
  const salt = hashes.sha3_256(transcript);
  const info = (from: string, to: string) =>
    concatBytes(labelPrefix(DOMAIN.KDF_LINK_FALLBACK), enc.encode(`${from}>${to}`));
  return {
    dialerToListener: hashes.hkdf('sha3-256', secret, salt, info(dialer, listener), 32),
    listenerToDialer: hashes.hkdf('sha3-256', secret, salt, info(listener, dialer), 32),
  };
}
