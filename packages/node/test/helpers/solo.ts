/** A one-validator chain (no KME, no peers) with its REST API on a real socket, for API and CLI tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nobleBackend, toHex } from '@qledger/core';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { writeDevPki } from '../../src/pki/dev.js';
import { startApi } from '../../src/validator/api.js';
import { NodeConfigSchema } from '../../src/validator/config.js';
import { writeSigningKey } from '../../src/validator/keyfile.js';
import { Validator } from '../../src/validator/runtime.js';

export interface Solo {
  readonly dir: string;
  readonly v: Validator;
  readonly api: FastifyInstance;
  readonly base: string;
  stop(): Promise<void>;
  /** Stops the validator and starts it again on the same store (a restart, not a new chain). */
  restart(): Promise<Solo>;
}

export async function startSolo(prefix: string, overrides: Record<string, unknown> = {}): Promise<Solo> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  await writeDevPki(join(dir, 'pki'), { validators: ['solo'], days: 2 });
  const key = writeSigningKey(join(dir, 'solo.key'), 'ml-dsa-44', nobleBackend);
  writeFileSync(
    join(dir, 'genesis.json'),
    JSON.stringify({
      chainId: 'devnet',
      time: 1_763_856_000_000,
      validators: [{ name: 'solo', sigAlg: 'ml-dsa-44', sigKey: toHex(key.publicKey) }],
    }),
  );
  const cfg = NodeConfigSchema.parse({
    name: 'solo',
    genesis: join(dir, 'genesis.json'),
    key: join(dir, 'solo.key'),
    store: join(dir, 'solo.sqlite'),
    pki: join(dir, 'pki'),
    listen: { port: 0 },
    api: { port: 0 },
    peers: [],
    logLevel: 'silent',
    ...overrides,
  });
  return run(dir, cfg);
}

async function run(dir: string, cfg: ReturnType<typeof NodeConfigSchema.parse>): Promise<Solo> {
  const log = pino({ level: 'silent' });
  const v = await Validator.start(cfg, log);
  const api = await startApi(v, { host: '127.0.0.1', port: 0 }, log);
  return {
    dir,
    v,
    api,
    base: `http://127.0.0.1:${(api.server.address() as { port: number }).port}`,
    async stop() {
      await api.close();
      await v.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await api.close();
      await v.stop();
      return run(dir, cfg);
    },
  };
}
