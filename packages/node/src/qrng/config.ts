/**
 * The `qrng` section of a node's configuration, validated once (unknown keys rejected) and
 * turned into an EntropyMixer. API keys are never written in the file: a source names the
 * environment variable that holds its key (`apiKeyEnv`).
 *
 * {
 *   "requireQrng": false, "alphaLog2": 20, "retestAfterMs": 60000, "maxFailures": 3,
 *   "sources": [
 *     { "kind": "device", "name": "quantis", "path": "/dev/qrandom0", "minEntropy": 7 },
 *     { "kind": "anu", "name": "anu", "url": "https://api.quantumnumbers.anu.edu.au/",
 *       "apiKeyEnv": "ANU_API_KEY", "format": "uint8" },
 *     { "kind": "qbck", "name": "qbck", "url": "https://qrng.qbck.io", "apiKeyEnv": "QBCK_API_KEY" },
 *     { "kind": "simulated", "name": "sim", "qubits": 8 }
 *   ]
 * }
 */
import { readFileSync } from 'node:fs';
import {
  EntropyMixer,
  type EntropySource,
  MonitoredSource,
  QledgerError,
  type QrngEvent,
  SimulatedQuantumSource,
} from '@qledger/core';
import { z } from 'zod';
import { parseConfig } from '../config/errors.js';
import { nativeHashes } from '../crypto/hash-native.js';
import { DeviceQrng } from './device.js';
import { AnuQrng, QbckQrng } from './remote.js';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be 1–32 characters: a-z, 0-9, _ or -, starting with a letter');
const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL' });
const envVar = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name (A-Z, 0-9, _)');
const timeoutMs = z.int().min(100).max(60_000).default(5000);
const minEntropy = z.number().gt(0).optional();
const byteMinEntropy = minEntropy.refine((h) => h === undefined || h <= 8, 'must be at most 8 bits per byte');

const simulated = z
  .strictObject({
    kind: z.literal('simulated'),
    name,
    qubits: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).default(8),
    minEntropy,
  })
  .refine((d) => d.minEntropy === undefined || d.minEntropy <= d.qubits, {
    message: 'must be at most qubits (bits per sample)',
    path: ['minEntropy'],
  });

const anu = z.strictObject({
  kind: z.literal('anu'),
  name,
  url: httpsUrl,
  apiKeyEnv: envVar.optional(),
  format: z.enum(['uint8', 'uint16', 'hex16']).default('uint8'),
  blockSize: z.int().min(1).max(1024).default(16),
  caFile: z.string().min(1).optional(),
  timeoutMs,
  minEntropy: byteMinEntropy,
});
const qbck = z.strictObject({
  kind: z.literal('qbck'),
  name,
  url: httpsUrl,
  apiKeyEnv: envVar,
  maxPerRequest: z.int().min(1).max(100_000).default(1024),
  caFile: z.string().min(1).optional(),
  timeoutMs,
  minEntropy: byteMinEntropy,
});
const device = z
  .strictObject({
    kind: z.literal('device'),
    name,
    path: z.string().min(1),
    sampleBits: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).default(8),
    minEntropy,
  })
  .refine((d) => d.minEntropy === undefined || d.minEntropy <= d.sampleBits, {
    message: 'must be at most sampleBits',
    path: ['minEntropy'],
  });

export const qrngConfigSchema = z
  .strictObject({
    requireQrng: z.boolean().default(false),
    alphaLog2: z.int().min(20).max(40).default(20),
    retestAfterMs: z.int().min(0).max(86_400_000).default(60_000),
    maxFailures: z.int().min(1).max(100).default(3),
    sources: z
      .array(z.discriminatedUnion('kind', [simulated, anu, qbck, device]))
      .max(8)
      .default([{ kind: 'simulated', name: 'simulated', qubits: 8 }]),
  })
  .refine((c) => new Set(c.sources.map((s) => s.name)).size === c.sources.length, {
    message: 'source names must be unique',
    path: ['sources'],
  });

export type QrngConfig = z.output<typeof qrngConfigSchema>;

/** Validates a parsed JSON `qrng` section; throws CONFIG_INVALID naming the field. */
export function parseQrngConfig(input: unknown, prefix = 'qrng'): QrngConfig {
  return Object.freeze(parseConfig(qrngConfigSchema, input ?? {}, prefix));
}

export interface BuildOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
  readonly onEvent?: (e: QrngEvent) => void;
  readonly readFile?: (path: string) => string;
}

function apiKey(env: BuildOptions['env'], source: string, variable: string | undefined): string | undefined {
  if (variable === undefined) return undefined;
  const v = env?.[variable];
  if (!v) {
    throw new QledgerError(
      'CONFIG_INVALID',
      `qrng source ${source}: environment variable ${variable} is not set`,
      {
        field: 'apiKeyEnv',
        variable,
      },
    );
  }
  return v;
}

function readCa(read: (p: string) => string, source: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return read(path);
  } catch (e) {
    throw new QledgerError(
      'CONFIG_INVALID',
      `qrng source ${source}: cannot read caFile ${path} (${(e as NodeJS.ErrnoException).code ?? e})`,
      {
        field: 'caFile',
      },
    );
  }
}

/** The sources of a validated config, unmonitored. */
export function createSources(cfg: QrngConfig, opts: BuildOptions = {}): EntropySource[] {
  const env = opts.env ?? process.env;
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const remote = (s: Extract<QrngConfig['sources'][number], { kind: 'anu' | 'qbck' }>) => ({
    name: s.name,
    url: s.url,
    apiKey: apiKey(env, s.name, s.apiKeyEnv),
    ca: readCa(read, s.name, s.caFile),
    timeoutMs: s.timeoutMs,
    minEntropy: s.minEntropy,
  });
  return cfg.sources.map((s): EntropySource => {
    switch (s.kind) {
      case 'simulated':
        return new SimulatedQuantumSource(s.name, s.qubits, s.minEntropy);
      case 'anu':
        return new AnuQrng({ ...remote(s), format: s.format, blockSize: s.blockSize });
      case 'qbck':
        return new QbckQrng({ ...remote(s), maxPerRequest: s.maxPerRequest });
      default: // 'device'
        return new DeviceQrng({
          name: s.name,
          path: s.path,
          sampleBits: s.sampleBits,
          ...(s.minEntropy !== undefined ? { minEntropy: s.minEntropy } : {}),
        });
    }
  });
}

/** The node's one randomness path: every configured source health-monitored, mixed with the OS. */
export function createEntropyMixer(cfg: QrngConfig, opts: BuildOptions = {}): EntropyMixer {
  const now = opts.now ?? Date.now;
  const monitored = createSources(cfg, opts).map(
    (s) =>
      new MonitoredSource(s, {
        now,
        alphaLog2: cfg.alphaLog2,
        retestAfterMs: cfg.retestAfterMs,
        maxFailures: cfg.maxFailures,
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
      }),
  );
  return new EntropyMixer({
    sources: monitored,
    requireQrng: cfg.requireQrng,
    hashes: nativeHashes,
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
}
