/**
 * Driving a `qledger devnet` from another process: start it (JSON events), reach its
 * validators' APIs and its QKD admin API, and make signed transactions. Used by the
 * end-to-end tests and `npm run bench -- consensus`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  type CryptoBackend,
  type HashSuite,
  type KeyPair,
  signTx,
  type TxEnvelope,
  type UnsignedTx,
} from '@qledger/core';
import { QledgerClient } from '@qledger/core/api';
import { httpsRequest } from '../http/outbound.js';

export interface DevnetReady {
  readonly dir: string;
  readonly validators: { name: string; api: string; pid: number; site: string }[];
  /** The dashboard: the web app, /v1/* forwarded to a live validator, /devnet/* controls. */
  readonly web: string;
  readonly kme: { admin: string; sites: Record<string, { etsi: string }>; tokenFile: string };
}

export interface DevnetProcess {
  readonly ready: DevnetReady;
  readonly child: ChildProcess;
  /** Every JSON event the devnet printed (ready, exited, restarted, …). */
  readonly events: Record<string, unknown>[];
  /** The validator's current pid (after restarts). */
  pid(name: string): number;
  /** Set a QKD link's eavesdropper fraction or cut it, through the admin API. */
  link(id: string, control: { eavesdrop?: number; cut?: boolean }): Promise<number>;
  stop(): Promise<void>;
}

export async function startDevnet(
  dir: string,
  args: readonly string[] = [],
  timeoutMs = 120_000,
): Promise<DevnetProcess> {
  const main = fileURLToPath(
    new URL(`../cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
  );
  const child = spawn(
    process.execPath,
    [...process.execArgv, main, 'devnet', '--dir', dir, '--port', '0', '--json', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const events: Record<string, unknown>[] = [];
  const pids = new Map<string, number>();
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<DevnetReady>((resolve, reject) => {
    const t = setTimeout(() => {
      // Do not leave a half-started devnet (and its validators) running behind the caller.
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
      reject(new Error(`devnet did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => reject(new Error(`devnet exited with ${code} before it was ready`)));
    lines.on('line', (line) => {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      events.push(e);
      if (e.event === 'restarted') pids.set(e.name as string, e.pid as number);
      if (e.event === 'ready') {
        clearTimeout(t);
        resolve(e as unknown as DevnetReady);
      }
    });
  });
  for (const v of ready.validators) pids.set(v.name, v.pid);
  const ca = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
  const token = readFileSync(ready.kme.tokenFile, 'utf8').trim();
  return {
    ready,
    child,
    events,
    pid: (name) => pids.get(name)!,
    async link(id, control) {
      const r = await httpsRequest(new URL(`${ready.kme.admin}/admin/v1/links/${id}`), {
        ca,
        method: 'POST',
        json: control,
        headers: { authorization: `Bearer ${token}` },
        label: 'QKD admin',
        timeoutMs: 10_000,
        maxBytes: 1 << 20,
      });
      return r.status;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}

/** A client identity: registers itself (seq 0), then sends data transactions. */
export interface Client {
  readonly name: string;
  readonly keys: KeyPair;
  seq: number;
}

export function registerTx(
  chain: string,
  name: string,
  crypto: CryptoBackend,
  hashes: HashSuite,
): { client: Client; env: TxEnvelope } {
  const keys = crypto.signer('ml-dsa-44').keygen();
  const kem = crypto.kem('ml-kem-768').keygen();
  const unsigned = {
    v: 1,
    chain,
    kind: 'identity.register',
    from: name,
    seq: 0,
    alg: 'ml-dsa-44',
    body: { sigKey: keys.publicKey, kemAlg: 'ml-kem-768', kemKey: kem.publicKey, meta: {} },
  } as unknown as UnsignedTx;
  return { client: { name, keys, seq: 1 }, env: signTx(unsigned, keys.secretKey, crypto, hashes) };
}

export function dataTx(
  chain: string,
  c: Client,
  payload: Uint8Array,
  crypto: CryptoBackend,
  hashes: HashSuite,
): TxEnvelope {
  return signedTx(chain, c, 'data', { payload }, crypto, hashes);
}

/** The client's next transaction of any kind (its seq advances). */
export function signedTx(
  chain: string,
  c: Client,
  kind: UnsignedTx['kind'],
  body: Record<string, unknown>,
  crypto: CryptoBackend,
  hashes: HashSuite,
): TxEnvelope {
  const unsigned = {
    v: 1,
    chain,
    kind,
    from: c.name,
    seq: c.seq++,
    alg: 'ml-dsa-44',
    body,
  } as unknown as UnsignedTx;
  return signTx(unsigned, c.keys.secretKey, crypto, hashes);
}

export interface SubmitResult {
  readonly id: string;
  readonly status: string;
  readonly code?: string;
}

/** Submits a batch as application/cbor, through the typed client's submitTxsBinary. */
export async function submitTxs(api: string, txs: readonly Uint8Array[]): Promise<SubmitResult[]> {
  // A loaded devnet may take a while to admit a full batch: no 15 s default deadline. Results
  // as the API gives them; the driver's callers read ids of the transactions it admitted.
  return (await new QledgerClient(api, { timeoutMs: 120_000 }).submitTxsBinary(txs)) as SubmitResult[];
}

export async function apiGet<T = Record<string, unknown>>(url: string): Promise<T> {
  const r = await fetch(url);
  return (await r.json()) as T;
}
