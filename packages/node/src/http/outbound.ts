/**
 * The one wrapper every outbound HTTPS call goes through (QRNG services now, ETSI 014 KMEs
 * next). It always verifies the server's certificate (there is no switch to turn that off),
 * enforces a whole-request deadline and a response-size cap, parses JSON, and classifies
 * every failure into a stable code:
 *
 *   HTTP_TLS        certificate or handshake failure    HTTP_TIMEOUT   deadline passed
 *   HTTP_CONNECT    DNS, refused, reset                 HTTP_STATUS    non-2xx answer
 *   HTTP_TOO_LARGE  body over maxBytes                  HTTP_BAD_JSON  body is not JSON
 *
 * Error messages carry the caller's `label` (a redacted description of the endpoint), never
 * the URL, because some services put API keys in the path.
 */
import { request } from 'node:https';
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

/** GET `url` and parse its JSON body. Only https: URLs are accepted. */
export function getJson(url: URL, opts: OutboundOptions): Promise<JsonResponse> {
  if (url.protocol !== 'https:') {
    return Promise.reject(
      new QledgerError('HTTP_INSECURE', `${opts.label}: only https:// endpoints are allowed`, {
        protocol: url.protocol,
      }),
    );
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err: QledgerError | null, value?: JsonResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(value!);
    };
    const req = request(url, {
      method: 'GET',
      headers: { accept: 'application/json', ...opts.headers },
      ...(opts.ca !== undefined ? { ca: opts.ca as string | string[] } : {}),
      ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
      ...(opts.key !== undefined ? { key: opts.key } : {}),
      rejectUnauthorized: true,
      agent: false,
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
      const status = res.statusCode ?? 0;
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
      res.on('end', () => {
        if (status < 200 || status > 299) {
          done(new QledgerError('HTTP_STATUS', `${opts.label}: HTTP ${status}`, { status }));
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          done(new QledgerError('HTTP_BAD_JSON', `${opts.label}: answer is not JSON`, { status }));
          return;
        }
        done(null, { status, body });
      });
    });
    req.end();
  });
}
