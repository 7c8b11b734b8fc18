/**
 * The consensus bench's load generator talks to the validators with node:http on keep-alive
 * sockets rather than through the typed API client's `fetch`. Both send the same request
 * (`POST /v1/transactions`, an application/cbor array of signed transactions) and read the
 * same SSE stream; what differs is the load generator's own CPU, which shares the machine's
 * two cores with the four validators. At 100 tx/s, one request per transaction, `fetch`
 * (undici, WHATWG streams) took about a fifth of a core in the load generator alone, two
 * milliseconds of CPU per request (`node --cpu-prof` of a one-off probe, 2026-12-03); that was
 * CPU the validators under test did not get.
 */
import { Agent, request } from 'node:http';
import { encode } from '@qledger/core';
import type { SubmitResult } from '@qledger/node';

export class LoadClient {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 16 });
  readonly #url: URL;
  /** The open event streams, ended by close(). */
  readonly #streams: ReturnType<typeof request>[] = [];

  constructor(api: string) {
    this.#url = new URL(api);
  }

  /** Submits `txs` in one request; the validator's answer for each, in order. */
  submit(txs: readonly Uint8Array[]): Promise<SubmitResult[]> {
    const body = encode([...txs]);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.#agent,
          host: this.#url.hostname,
          port: this.#url.port,
          method: 'POST',
          path: '/v1/transactions',
          headers: { 'content-type': 'application/cbor', 'content-length': body.length },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (b: Buffer) => parts.push(b));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            const code = res.statusCode ?? 0;
            if (code < 200 || code >= 300) {
              reject(new Error(`submit: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
              return;
            }
            try {
              resolve((JSON.parse(text) as { results: SubmitResult[] }).results);
            } catch (e) {
              reject(e);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Follows the validator's SSE stream: `onEvent(name, data)` for each event until close().
   * Resolves once the stream is open.
   */
  follow(onEvent: (event: string, data: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.#url.hostname, port: this.#url.port, path: '/v1/events', method: 'GET' },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`events: HTTP ${res.statusCode}`));
            res.destroy();
            return;
          }
          res.setEncoding('utf8');
          let buf = '';
          res.on('data', (s: string) => {
            buf += s;
            let i = buf.indexOf('\n\n');
            while (i >= 0) {
              const chunk = buf.slice(0, i);
              buf = buf.slice(i + 2);
              i = buf.indexOf('\n\n');
              let event = 'message';
              let data = '';
              for (const line of chunk.split('\n')) {
                if (line.startsWith('event: ')) event = line.slice(7);
                else if (line.startsWith('data: ')) data = line.slice(6);
              }
              onEvent(event, data);
            }
          });
          res.on('error', () => {}); // closed by close()
          resolve();
        },
      );
      req.on('error', reject);
      this.#streams.push(req);
      req.end();
    });
  }

  close(): void {
    for (const s of this.#streams) s.destroy();
    this.#agent.destroy();
  }
}
