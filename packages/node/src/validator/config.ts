/**
 * `qledger node --config FILE`: one validator. Relative paths are relative to the file.
 * Every field is checked; the first bad one is named (CONFIG_INVALID).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { QledgerError } from '@qledger/core';
import { z } from 'zod';
import { parseConfig } from '../config/errors.js';
import { qrngConfigSchema } from '../qrng/config.js';

const port = z.number().int().min(0).max(65535);
const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a validator name (a-z, 0-9, ".", "_", "-")');
const endpoint = z.strictObject({ host: z.string().min(1).default('127.0.0.1'), port });

export const NodeConfigSchema = z.strictObject({
  /** This validator's name in the genesis config; also its SAE ID at its KME and its certificate CN. */
  name,
  genesis: z.string().min(1),
  /** The validator's ML-DSA signing key file (`qledger keys gen --alg ml-dsa-44`). */
  key: z.string().min(1),
  /** A SQLite file path (default embedded store) or a postgres:// URL. */
  store: z.string().min(1),
  /** `sqlite` durability: FULL fsyncs every block, NORMAL survives process crashes only. */
  synchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
  /** Directory of `qledger pki init` (ca.crt, validator/NAME.crt and .key). */
  pki: z.string().min(1),
  /** Validator-to-validator mutual TLS. */
  listen: endpoint,
  api: z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port,
    /** Origins allowed to call the API from a browser (CORS); none by default. `*` allows any. */
    cors: z
      .array(z.union([z.literal('*'), z.url()]))
      .max(64)
      .default([]),
    /** Per-client (per IP) request budget: `max` requests per `windowMs`; 429 RATE_LIMITED beyond. */
    rateLimit: z
      .strictObject({
        max: z.number().int().min(1).max(1_000_000).default(1200),
        windowMs: z.number().int().min(100).max(3_600_000).default(10_000),
      })
      .default({ max: 1200, windowMs: 10_000 }),
  }),
  /** QRNG sources mixed with the OS generator (docs/qrng.md); default: the simulated source. */
  qrng: qrngConfigSchema.default(qrngConfigSchema.parse({})),
  peers: z
    .array(
      z.strictObject({
        name,
        host: z.string().min(1).default('127.0.0.1'),
        port,
        /**
         * This peer's QKD key reaches this site through a trusted-node relay (their KMEs share
         * no link), so it costs key on every hop: round-0 votes go to it only when needed
         * (consensus.thriftyVotes, thrifty.ts).
         */
        relayed: z.boolean().default(false),
      }),
    )
    .min(0),
  /** This site's KME (ETSI GS QKD 014); absent: links run on ML-KEM keys only (or halt). */
  kme: z
    .strictObject({
      url: z.url({ protocol: /^https$/ }),
      /** Name on the KME's certificate (default: the URL's host). */
      name: z.string().min(1).optional(),
    })
    .optional(),
  /** Never authenticate with ML-KEM-derived keys: a link without QKD key halts. */
  requireQkd: z.boolean().default(false),
  keyBuffer: z
    .strictObject({
      lowBytes: z
        .number()
        .int()
        .min(32)
        .max(1 << 20)
        .default(512),
      highBytes: z
        .number()
        .int()
        .min(64)
        .max(1 << 22)
        .default(2048),
      keyBits: z.number().int().min(64).max(8192).multipleOf(8).default(256),
      fallbackAfterMs: z.number().int().min(100).max(600_000).default(3000),
    })
    .default({ lowBytes: 512, highBytes: 2048, keyBits: 256, fallbackAfterMs: 3000 })
    .refine((k) => k.highBytes > k.lowBytes, {
      message: 'highBytes must exceed lowBytes',
      path: ['highBytes'],
    }),
  consensus: z
    .strictObject({
      proposeMs: z.number().int().min(10).max(600_000).default(3000),
      prevoteMs: z.number().int().min(10).max(600_000).default(1000),
      precommitMs: z.number().int().min(10).max(600_000).default(1000),
      deltaMs: z.number().int().min(0).max(600_000).default(250),
      /** Re-send this validator's messages when a height has not moved for this long. */
      tickMs: z.number().int().min(100).max(600_000).default(2000),
      /** Most transactions per block (also bounded by the genesis maxBlockTxs). */
      maxBlockTxs: z.number().int().min(1).max(1_000_000).default(1000),
      /** How long a proposer waits for more transactions once it has one. */
      batchMs: z.number().int().min(0).max(10_000).default(2),
      /**
       * Round-0 votes go to `relayed` peers only if the height is still undecided a while after
       * they went to the direct ones (thrifty.ts); false: every vote to every peer at once.
       */
      thriftyVotes: z.boolean().default(true),
    })
    .default({
      proposeMs: 3000,
      prevoteMs: 1000,
      precommitMs: 1000,
      deltaMs: 250,
      tickMs: 2000,
      maxBlockTxs: 1000,
      batchMs: 2,
      thriftyVotes: true,
    }),
  mempool: z
    .strictObject({
      maxTxs: z.number().int().min(1).max(10_000_000).default(100_000),
      maxBytes: z
        .number()
        .int()
        .min(1024)
        .max(2 ** 34)
        .default(512 * 1024 * 1024),
    })
    .default({ maxTxs: 100_000, maxBytes: 512 * 1024 * 1024 }),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type NodeConfig = z.output<typeof NodeConfigSchema>;

/** Reads, parses and checks a node config file; paths come back absolute. */
export function loadNodeConfig(file: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new QledgerError(
      'CONFIG_INVALID',
      `${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new QledgerError('CONFIG_INVALID', `${file}: not JSON (${(e as Error).message})`);
  }
  const c = parseConfig(NodeConfigSchema, json, '');
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const store = /^postgres(ql)?:\/\//.test(c.store) ? c.store : abs(c.store);
  if (c.peers.some((p) => p.name === c.name))
    throw new QledgerError('CONFIG_INVALID', 'peers: a validator does not list itself as a peer');
  return { ...c, genesis: abs(c.genesis), key: abs(c.key), store, pki: abs(c.pki) };
}
