/**
 * The typed client of the REST API, built from ROUTES: used by the CLI, the web app, the
 * tests and the benches. Every call checks the response against the route's schema, so a
 * server that drifts from its description fails loudly. Errors are ApiError with the
 * server's stable code; a network failure is ApiError `UNREACHABLE` (status 0).
 */
import { toHex } from '../bytes.js';
import { encode } from '../codec/index.js';
import { QledgerError } from '../errors.js';
import {
  fillPath,
  ROUTES,
  type RouteDef,
  type RouteInput,
  type RouteName,
  type RouteOutput,
} from './routes.js';
import { ErrorBody, EVENTS, type EventName, type EventPayload, type SubmitResult } from './schemas.js';

export class ApiError extends QledgerError {
  readonly status: number;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
    this.name = 'ApiError';
    this.status = status;
  }
}

export interface ClientOptions {
  /** `fetch` to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Per-request timeout in milliseconds (default 15 s). */
  readonly timeoutMs?: number;
  readonly headers?: Record<string, string>;
}

export type EventHandler = <E extends EventName>(name: E, payload: EventPayload<E>) => void;

export class QledgerClient {
  readonly baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;

  constructor(baseUrl: string, opts: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#fetch = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#headers = opts.headers ?? {};
  }

  /** Call a route by name; the response is checked against its schema. */
  async call<K extends RouteName>(
    name: K,
    input: RouteInput<K> = {} as RouteInput<K>,
    raw?: { readonly cbor: Uint8Array },
  ): Promise<RouteOutput<K>> {
    const def: RouteDef = ROUTES[name];
    let url = this.baseUrl + fillPath(def.path, input.params as Record<string, string> | undefined);
    const query = Object.entries((input.query ?? {}) as Record<string, string | undefined>).filter(
      (e): e is [string, string] => e[1] !== undefined,
    );
    if (query.length > 0) url += `?${new URLSearchParams(query).toString()}`;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method: def.method,
        headers: {
          ...this.#headers,
          ...(raw
            ? { 'content-type': 'application/cbor' }
            : input.body !== undefined
              ? { 'content-type': 'application/json' }
              : {}),
        },
        ...(raw
          ? { body: raw.cbor as BodyInit }
          : input.body !== undefined
            ? { body: JSON.stringify(input.body) }
            : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      throw new ApiError(0, 'UNREACHABLE', `${def.method} ${url}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, 'BAD_RESPONSE', `${def.method} ${url}: HTTP ${res.status}, not JSON`);
    }
    // /ready answers 503 with its ordinary body when not ready.
    if (!res.ok && !(name === 'ready' && res.status === 503)) {
      const e = ErrorBody.safeParse(json);
      if (!e.success)
        throw new ApiError(res.status, 'BAD_RESPONSE', `HTTP ${res.status} without an error body`);
      throw new ApiError(res.status, e.data.code, e.data.message, e.data.details);
    }
    const out = def.response.safeParse(json);
    if (!out.success) {
      const i = out.error.issues[0]!;
      throw new ApiError(
        res.status,
        'BAD_RESPONSE',
        `${def.method} ${def.path}: response field ${i.path.join('.') || '(root)'}: ${i.message}`,
      );
    }
    return out.data as RouteOutput<K>;
  }

  // ---- convenience ----------------------------------------------------------------------------
  /** Submit one transaction; a rejection throws ApiError with the ledger's code. */
  async submitTx(tx: Uint8Array | string): Promise<SubmitResult> {
    const r = await this.call('submitTx', { body: { tx: typeof tx === 'string' ? tx : toHex(tx) } });
    return r as SubmitResult;
  }
  /** Submit a batch; each result says pending or rejected with its code. */
  async submitTxs(txs: readonly (Uint8Array | string)[]): Promise<SubmitResult[]> {
    const r = await this.call('submitTx', {
      body: { txs: txs.map((t) => (typeof t === 'string' ? t : toHex(t))) },
    });
    return (r as { results: SubmitResult[] }).results;
  }
  /**
   * Submit a batch as application/cbor (the transactions' bytes, no hex or JSON): the cheap
   * way for a client that sends many. Results as for `submitTxs`.
   */
  async submitTxsBinary(txs: readonly Uint8Array[]): Promise<SubmitResult[]> {
    const r = await this.call('submitTx', {} as RouteInput<'submitTx'>, { cbor: encode([...txs]) });
    return (r as { results: SubmitResult[] }).results;
  }
  tx(id: string) {
    return this.call('getTx', { params: { id } });
  }
  block(ref: number | string) {
    return this.call('getBlock', { params: { ref: String(ref) } });
  }
  latestBlock() {
    return this.call('latestBlock');
  }
  blocks(q: { cursor?: string; limit?: number; order?: 'asc' | 'desc' } = {}) {
    return this.call('listBlocks', {
      query: {
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        ...(q.limit !== undefined ? { limit: String(q.limit) } : {}),
        ...(q.order !== undefined ? { order: q.order } : {}),
      },
    });
  }
  status() {
    return this.call('status');
  }

  /**
   * Follow the live events until `signal` aborts (or the server closes the stream). Each
   * event is checked against its schema; unknown event types are ignored.
   */
  async events(onEvent: EventHandler, signal?: AbortSignal): Promise<void> {
    const res = await this.#fetch(`${this.baseUrl}${ROUTES.events.path}`, {
      headers: { ...this.#headers, accept: 'text/event-stream' },
      ...(signal ? { signal } : {}),
    });
    if (!res.ok || !res.body) throw new ApiError(res.status, 'BAD_RESPONSE', `events: HTTP ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          dispatchSse(buf.slice(0, end), onEvent);
          buf = buf.slice(end + 2);
          end = buf.indexOf('\n\n');
        }
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw e;
    }
  }
}

/** Parse one SSE record (`event:` and `data:` lines) and hand it on when it is known and valid. */
export function dispatchSse(record: string, onEvent: EventHandler): void {
  let name = 'message';
  const data: string[] = [];
  for (const line of record.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (!(name in EVENTS) || data.length === 0) return;
  let json: unknown;
  try {
    json = JSON.parse(data.join('\n'));
  } catch {
    return;
  }
  const r = EVENTS[name as EventName].safeParse(json);
  if (r.success) onEvent(name as EventName, r.data as never);
}
