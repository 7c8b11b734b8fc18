/**
 * ETSI GS QKD 014 V1.1.1 client: what a validator (an SAE) uses to get QKD keys from its
 * site's KME, simulated or a vendor's.
 *
 * - Mutual TLS: the SAE's client certificate; the KME's certificate is checked against the
 *   pinned CA and against the KME's name (`kmeName`, else the URL's host). Keep-alive.
 * - Every request has a deadline. 503, 502, 504 and connection failures are retried with
 *   capped exponential backoff and full jitter (from the CSPRNG); nothing else is.
 * - Every answer is classified into a stable code (KME_ERROR_CODES); 400 messages are read
 *   the way real KMEs word them, so "pool empty" is told apart from "bad request" and from
 *   "key not found". 401 has no body; HTML error pages from proxies are handled.
 * - Every key is strict base64, decoded, and its length checked against the size asked for;
 *   key_IDs must be UUIDs and must be the ones asked for. Keys never reach a log or an error.
 *
 * Retrying POST enc_keys after a lost answer may burn keys at the KME (they are never
 * delivered twice); retrying dec_keys after a lost answer finds the keys gone
 * (KME_KEY_NOT_FOUND): a caller that must not lose them keeps requests idempotent upstream.
 */
import { randomInt } from 'node:crypto';
import { Agent } from 'node:https';
import { QledgerError } from '@qledger/core';
import { z } from 'zod';
import { httpsRequest, type RawResponse } from '../http/outbound.js';

export const KME_ERROR_CODES = {
  KME_UNAUTHORIZED: '401: the KME did not accept this SAE, or the SAE was not named as a slave of the keys',
  KME_KEYS_EXHAUSTED: 'the KME has not enough key for the request (400 or 503 worded as such)',
  KME_KEY_NOT_FOUND: 'dec_keys: one or more key_IDs are not (or no longer) on the KME',
  KME_BAD_REQUEST: 'another 400: the request broke a rule of the KME (size, number, SAE)',
  KME_FORBIDDEN: '403 from the KME or a proxy',
  KME_ENDPOINT_NOT_FOUND: '404: wrong base URL or SAE ID in the path',
  KME_CONFLICT: '409 from the KME',
  KME_UNAVAILABLE: '5xx, timeout or connection failure, after the retries',
  KME_TLS: 'TLS failure: the KME certificate is not from the pinned CA or not for the KME name',
  KME_BAD_RESPONSE:
    'a 2xx answer that does not follow the standard (HTML, bad JSON, bad key, wrong IDs or sizes)',
} as const;
export type KmeErrorCode = keyof typeof KME_ERROR_CODES;

export interface Etsi014ClientOptions {
  /** KME base URL, e.g. https://kme-a.example:8443 (the client appends /api/v1/keys/…). */
  readonly url: string;
  /** CA (PEM) that issued the KME's certificate. */
  readonly ca: string;
  /** This SAE's client certificate and key (PEM). */
  readonly cert: string;
  readonly key: string;
  /** Name the KME certificate must carry (default: the URL's host). */
  readonly kmeName?: string;
  readonly timeoutMs?: number;
  /** Attempts after the first for retryable failures. */
  readonly retries?: number;
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Redacted description for errors (default "KME <host>"). */
  readonly label?: string;
}

export interface QkdKey {
  readonly keyId: string;
  readonly key: Uint8Array;
}

export interface EncKeysOptions {
  readonly number?: number;
  /** Bits; a multiple of 8. Default: the KME's key_size. */
  readonly size?: number;
  readonly additionalSlaves?: readonly string[];
  /** Use the GET form (`?number=&size=`; no additional slaves). */
  readonly get?: boolean;
}

const UUID = z
  .string()
  .regex(
    /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    'key_ID must be a UUID',
  );
const B64 = z
  .string()
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'key must be base64');
const count = z.number().int().min(0);

/** Status as the standard lists it; fields real KMEs leave out are optional here. */
export const StatusSchema = z.looseObject({
  source_KME_ID: z.string(),
  target_KME_ID: z.string(),
  master_SAE_ID: z.string().optional(),
  slave_SAE_ID: z.string().optional(),
  key_size: count,
  stored_key_count: count.optional(),
  max_key_count: count.optional(),
  max_key_per_request: count.optional(),
  max_key_size: count.optional(),
  min_key_size: count.optional(),
  max_SAE_ID_count: count.optional(),
  status_extension: z.unknown().optional(),
});
export type KmeStatus = z.infer<typeof StatusSchema>;

const KeyContainerSchema = z.looseObject({
  keys: z.array(
    z.looseObject({
      key_ID: UUID,
      key: B64,
      key_ID_extension: z.unknown().optional(),
      key_extension: z.unknown().optional(),
    }),
  ),
  key_container_extension: z.unknown().optional(),
});

// How KMEs word "not enough key" in a 400 or 503 (ours, and vendor variants seen in the field).
const EXHAUSTED_RE =
  /exhaust|insufficient|not enough|no (?:more )?keys? (?:available|left)|keys? (?:are )?unavailable|pool (?:is )?empty|out of keys?|no key material/i;
const NOT_FOUND_RE = /not (?:be )?found|unknown key|no such key|does not exist/i;

const RETRYABLE = new Set([502, 503, 504]);

export class Etsi014Client {
  readonly #base: URL;
  readonly #agent: Agent;
  readonly #opts: Required<
    Pick<Etsi014ClientOptions, 'timeoutMs' | 'retries' | 'backoffMs' | 'maxBackoffMs' | 'label'>
  > &
    Etsi014ClientOptions;

  constructor(opts: Etsi014ClientOptions) {
    const base = new URL(opts.url);
    if (base.protocol !== 'https:') throw new QledgerError('KME_TLS', 'ETSI 014 needs an https:// KME URL');
    this.#base = base;
    this.#agent = new Agent({ keepAlive: true, maxSockets: 32 });
    this.#opts = {
      timeoutMs: 5000,
      retries: 3,
      backoffMs: 50,
      maxBackoffMs: 2000,
      label: `KME ${base.host}`,
      ...opts,
    };
  }

  close(): void {
    this.#agent.destroy();
  }

  #url(sae: string, op: 'status' | 'enc_keys' | 'dec_keys', query?: Record<string, string>): URL {
    const prefix = this.#base.pathname.replace(/\/+$/, '');
    const u = new URL(`${prefix}/api/v1/keys/${encodeURIComponent(sae)}/${op}`, this.#base);
    for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v);
    return u;
  }

  #error(code: KmeErrorCode, message: string, details?: Record<string, unknown>): QledgerError {
    return new QledgerError(code, `${this.#opts.label}: ${message}`, details);
  }

  async #call(url: URL, method: 'GET' | 'POST', json?: unknown): Promise<unknown> {
    const o = this.#opts;
    for (let attempt = 0; ; attempt++) {
      let res: RawResponse | undefined;
      let failure: QledgerError;
      try {
        res = await httpsRequest(url, {
          label: o.label,
          method,
          ...(json !== undefined ? { json } : {}),
          ca: o.ca,
          cert: o.cert,
          key: o.key,
          agent: this.#agent,
          ...(o.kmeName !== undefined ? { serverName: o.kmeName } : {}),
          timeoutMs: o.timeoutMs,
          maxBytes: 4 * 1024 * 1024,
        });
        if (res.status >= 200 && res.status < 300) return this.#json(res);
        failure = this.#classify(res);
      } catch (e) {
        if (e instanceof QledgerError && e.code.startsWith('KME_')) throw e; // a 2xx we could not accept
        if (e instanceof QledgerError && e.code === 'HTTP_TLS')
          throw this.#error('KME_TLS', e.message.replace(`${o.label}: `, ''));
        if (e instanceof QledgerError && e.code === 'HTTP_TOO_LARGE')
          throw this.#error('KME_BAD_RESPONSE', 'answer too large');
        failure = this.#error(
          'KME_UNAVAILABLE',
          e instanceof Error ? e.message.replace(`${o.label}: `, '') : String(e),
        );
      }
      const retryable = res === undefined || RETRYABLE.has(res.status);
      if (!retryable || attempt >= o.retries) throw failure;
      const cap = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** attempt);
      await new Promise((r) => setTimeout(r, randomInt(0, Math.max(1, Math.floor(cap)) + 1)));
    }
  }

  #json(res: RawResponse): unknown {
    if (!/json/i.test(res.contentType))
      throw this.#error('KME_BAD_RESPONSE', `answer is ${res.contentType || 'untyped'}, not JSON`, {
        status: res.status,
      });
    try {
      return JSON.parse(res.body.toString('utf8'));
    } catch {
      throw this.#error('KME_BAD_RESPONSE', 'answer is not valid JSON', { status: res.status });
    }
  }

  /** The Error body's message when there is one (never echo HTML or anything long). */
  #message(res: RawResponse): string {
    if (/json/i.test(res.contentType)) {
      try {
        const b = JSON.parse(res.body.toString('utf8')) as { message?: unknown };
        if (typeof b?.message === 'string') return b.message.slice(0, 300);
      } catch {
        /* fall through */
      }
    }
    return /html/i.test(res.contentType) ? '(HTML error page)' : '(no error message)';
  }

  #classify(res: RawResponse): QledgerError {
    const s = res.status;
    const msg = this.#message(res);
    const d = { status: s, kmeMessage: msg };
    switch (true) {
      case s === 401:
        return this.#error('KME_UNAUTHORIZED', 'HTTP 401 (SAE not authorised)', { status: s });
      case s === 400 && EXHAUSTED_RE.test(msg):
        return this.#error('KME_KEYS_EXHAUSTED', `HTTP 400: ${msg}`, d);
      case s === 400 && NOT_FOUND_RE.test(msg):
        return this.#error('KME_KEY_NOT_FOUND', `HTTP 400: ${msg}`, d);
      case s === 400:
        return this.#error('KME_BAD_REQUEST', `HTTP 400: ${msg}`, d);
      case s === 403:
        return this.#error('KME_FORBIDDEN', `HTTP 403: ${msg}`, d);
      case s === 404:
        return this.#error('KME_ENDPOINT_NOT_FOUND', `HTTP 404: ${msg}`, d);
      case s === 409:
        return this.#error('KME_CONFLICT', `HTTP 409: ${msg}`, d);
      case s === 503 && EXHAUSTED_RE.test(msg):
        return this.#error('KME_KEYS_EXHAUSTED', `HTTP 503: ${msg}`, d);
      default:
        return this.#error('KME_UNAVAILABLE', `HTTP ${s}: ${msg}`, d);
    }
  }

  async status(slave: string): Promise<KmeStatus> {
    const body = await this.#call(this.#url(slave, 'status'), 'GET');
    const r = StatusSchema.safeParse(body);
    if (!r.success) throw this.#error('KME_BAD_RESPONSE', `Status: ${fieldOf(r.error)}`);
    return r.data;
  }

  async encKeys(slave: string, opts: EncKeysOptions = {}): Promise<QkdKey[]> {
    const number = opts.number ?? 1;
    const size = opts.size;
    if (!Number.isInteger(number) || number < 1)
      throw this.#error('KME_BAD_REQUEST', 'number must be a positive integer');
    if (size !== undefined && (!Number.isInteger(size) || size < 8 || size % 8 !== 0))
      throw this.#error('KME_BAD_REQUEST', 'size must be a positive multiple of 8 bits');
    const extra = opts.additionalSlaves ?? [];
    let body: unknown;
    if (opts.get) {
      if (extra.length > 0)
        throw this.#error('KME_BAD_REQUEST', 'the GET form of enc_keys cannot name additional slaves');
      const q: Record<string, string> = { number: String(number) };
      if (size !== undefined) q.size = String(size);
      body = await this.#call(this.#url(slave, 'enc_keys', q), 'GET');
    } else {
      body = await this.#call(this.#url(slave, 'enc_keys'), 'POST', {
        number,
        ...(size !== undefined ? { size } : {}),
        ...(extra.length > 0 ? { additional_slave_SAE_IDs: extra } : {}),
      });
    }
    const keys = this.#keys(body, size);
    if (keys.length !== number) {
      wipeKeys(keys);
      throw this.#error('KME_BAD_RESPONSE', `asked for ${number} keys, got ${keys.length}`);
    }
    if (size === undefined && new Set(keys.map((k) => k.key.length)).size > 1) {
      wipeKeys(keys);
      throw this.#error('KME_BAD_RESPONSE', 'keys of one request differ in size');
    }
    return keys;
  }

  async decKeys(
    master: string,
    keyIds: readonly string[],
    opts: { size?: number; get?: boolean } = {},
  ): Promise<QkdKey[]> {
    if (keyIds.length === 0) throw this.#error('KME_BAD_REQUEST', 'dec_keys needs at least one key_ID');
    for (const id of keyIds)
      if (!UUID.safeParse(id).success) throw this.#error('KME_BAD_REQUEST', 'key_IDs must be UUIDs');
    let body: unknown;
    if (opts.get) {
      if (keyIds.length !== 1)
        throw this.#error('KME_BAD_REQUEST', 'the GET form of dec_keys takes exactly one key_ID');
      body = await this.#call(this.#url(master, 'dec_keys', { key_ID: keyIds[0]! }), 'GET');
    } else {
      body = await this.#call(this.#url(master, 'dec_keys'), 'POST', {
        key_IDs: keyIds.map((key_ID) => ({ key_ID })),
      });
    }
    const keys = this.#keys(body, opts.size);
    const asked = [...keyIds].map((k) => k.toLowerCase()).sort();
    const got = keys.map((k) => k.keyId).sort();
    if (asked.length !== got.length || asked.some((k, i) => k !== got[i])) {
      wipeKeys(keys);
      throw this.#error('KME_BAD_RESPONSE', 'the KME answered with other key_IDs than asked for');
    }
    return keys;
  }

  #keys(body: unknown, size: number | undefined): QkdKey[] {
    const r = KeyContainerSchema.safeParse(body);
    if (!r.success) throw this.#error('KME_BAD_RESPONSE', `Key container: ${fieldOf(r.error)}`);
    const out: QkdKey[] = [];
    for (const [i, k] of r.data.keys.entries()) {
      const key = new Uint8Array(Buffer.from(k.key, 'base64'));
      if (key.length === 0 || (size !== undefined && key.length * 8 !== size)) {
        key.fill(0);
        wipeKeys(out);
        throw this.#error(
          'KME_BAD_RESPONSE',
          `keys[${i}] has ${key.length * 8} bits, ${size ?? 'a positive number'} asked for`,
        );
      }
      out.push({ keyId: k.key_ID.toLowerCase(), key });
    }
    return out;
  }
}

function fieldOf(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.join('.') || '(body)'}: ${i.message}`;
}

export function wipeKeys(keys: readonly QkdKey[]): void {
  for (const k of keys) k.key.fill(0);
}
