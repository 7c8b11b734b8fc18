/**
 * The one wrapper every outbound HTTPS call goes through (QRNG services, ETSI 014 KMEs). It
 * always verifies the server's certificate (there is no switch to turn that off), enforces a
 * whole-request deadline and a response-size cap, and classifies every failure into a stable
 * code (`getJson` adds the JSON parse):
 *
 *   HTTP_TLS        certificate or handshake failure    HTTP_TIMEOUT   deadline passed
 *   HTTP_CONNECT    DNS, refused, reset                 HTTP_STATUS    non-2xx answer
 *   HTTP_TOO_LARGE  body over maxBytes                  HTTP_BAD_JSON  body is not JSON
 *
 * Error messages carry the caller's `label` (a redacted description of the endpoint), never
 * the URL, because some services put API keys in the path.
 */
import { type Agent, request } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { QledgerError } from '@qledger/core';

export interface OutboundOptions {
  /** Redacted endpoint description used in errors and logs, e.g. "anu (qrng.example)". */
  readonly label: string;
  /** Trust anchors (PEM). When given they replace the system store, pinning the service's CA. */
  readonly ca?: string | readonly string[];
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly cert?: string;
  readonly key?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

function classify(e: NodeJS.ErrnoException, label: string): QledgerError {
  const code = e.code ?? '';
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return new QledgerError(
      'HTTP_TLS',
      `${label}: TLS verification failed (${code})`,
      { tlsCode: code },
      { cause: e },
    );
  }
  return new QledgerError(
    'HTTP_CONNECT',
    `${label}: connection failed (${code || e.message})`,
    { errno: code },
    {
      cause: e,
    },
  );
}

export interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

export interface RequestOptions extends OutboundOptions {
  readonly method?: 'GET' | 'POST';
  /** JSON-encoded request body (POST). */
  readonly json?: unknown;
  /** A keep-alive agent; a fresh connection per request when absent. */
  readonly agent?: Agent;
  /** Check the server certificate against this name instead of the URL's host. */
  readonly serverName?: string;
}

/**
 * One HTTPS request. Resolves with whatever status the server answered (the caller
 * classifies it); rejects only for transport failures, the deadline and the size cap.
 */
export function httpsRequest(url: URL, opts: RequestOptions): Promise<RawResponse> {
  if (url.protocol !== 'https:') {
    return Promise.reject(
      new QledgerError('HTTP_INSECURE', `${opts.label}: only https:// endpoints are allowed`, {
        protocol: url.protocol,
      }),
    );
  }
  const payload = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err: QledgerError | null, value?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(value!);
    };
    const serverName = opts.serverName;
    const req = request(url, {
      method: opts.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        ...opts.headers,
      },
      ...(opts.ca !== undefined ? { ca: opts.ca as string | string[] } : {}),
      ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
      ...(opts.key !== undefined ? { key: opts.key } : {}),
      ...(serverName !== undefined
        ? {
            checkServerIdentity: (_host: string, cert: PeerCertificate) =>
              checkServerIdentity(serverName, cert),
          }
        : {}),
      rejectUnauthorized: true,
      agent: opts.agent ?? false,
    });
    const timer = setTimeout(
      () =>
        done(
          new QledgerError('HTTP_TIMEOUT', `${opts.label}: no complete answer within ${opts.timeoutMs} ms`),
        ),
      opts.timeoutMs,
    );
    req.on('error', (e) => done(classify(e, opts.label)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > opts.maxBytes) {
          done(
            new QledgerError('HTTP_TOO_LARGE', `${opts.label}: answer exceeds ${opts.maxBytes} bytes`, {
              maxBytes: opts.maxBytes,
            }),
          );
          return;
        }
        chunks.push(c);
      });
      res.on('error', (e) => done(classify(e, opts.label)));
      res.on('end', () =>
        done(null, {
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.end(payload);
  });
}

/** GET `url` and parse its JSON body; any non-2xx answer is HTTP_STATUS. */
export async function getJson(url: URL, opts: OutboundOptions): Promise<JsonResponse> {
  const res = await httpsRequest(url, opts);
  if (res.status < 200 || res.status > 299)
    throw new QledgerError('HTTP_STATUS', `${opts.label}: HTTP ${res.status}`, { status: res.status });
  try {
    return { status: res.status, body: JSON.parse(res.body.toString('utf8')) };
  } catch {
    throw new QledgerError('HTTP_BAD_JSON', `${opts.label}: answer is not JSON`, { status: res.status });
  }
}
