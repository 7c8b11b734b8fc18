/** `qledger chain init|verify|stats|export|import`. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QledgerError, toHex } from '@qledger/core';
import { exportChain, importChain, NODE_ENV, verifyStore } from '../ledger/chain-ops.js';
import { ExportReader } from '../ledger/export.js';
import { initStore, openStore } from '../storage/open.js';
import type { ChainStore } from '../storage/types.js';
import { parseCommand } from './args.js';
import { CliError } from './errors.js';
import { Progress } from './progress.js';

export const CHAIN_USAGE = `usage: qledger chain <command> (--data DIR | --store URL) [options]
  init --genesis FILE        create a chain from a genesis config (JSON)
  verify [--mode full|state|headers] [--workers N]
                             check hashes, links, Merkle roots, state replay and (full) every
                             signature on all cores; exit 0 only when the chain is valid
  stats [--verify]           length, transactions, identities, datasets (and validity)
  export --out FILE          write the whole chain to FILE
  import FILE                verify FILE fully, then write it into an empty store
options:
  --data DIR                 embedded store DIR/chain.sqlite
  --store URL                postgres://user:pass@host/db?schema=NAME, or a SQLite file path
  --json                     one JSON object on stdout instead of text
  -h, --help                 this text`;

const OPTIONS = {
  data: { type: 'string' },
  store: { type: 'string' },
  json: { type: 'boolean', default: false },
  genesis: { type: 'string' },
  mode: { type: 'string' },
  workers: { type: 'string' },
  out: { type: 'string' },
  verify: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean;
};

function location(v: Values): string {
  if (v.data && v.store) throw new CliError('give --data or --store, not both', 2);
  if (v.store) return v.store;
  if (v.data) return join(v.data, 'chain.sqlite');
  throw new CliError('--data DIR or --store URL is required', 2);
}

async function withStore<T>(v: Values, mustExist: boolean, fn: (s: ChainStore) => Promise<T>): Promise<T> {
  const loc = location(v);
  if (mustExist && !loc.includes('://') && !existsSync(loc)) throw new CliError(`no chain at ${loc}`);
  const store = await openStore(loc);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function workers(v: Values): number | undefined {
  if (v.workers === undefined) return undefined;
  const n = Number(v.workers);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new CliError('--workers must be an integer in [1, 256]', 2);
  return n;
}

function out(v: Values, json: unknown, text: string): void {
  console.log(v.json ? JSON.stringify(json) : text);
}

export async function chainCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, OPTIONS);
  const v = parsed.values as Values;
  const [sub, ...pos] = parsed.positionals;
  if (v.help || sub === undefined) {
    console.log(CHAIN_USAGE);
    return v.help ? 0 : 2;
  }
  const noMore = (n: number) => {
    if (pos.length > n) throw new CliError(`unexpected argument ${JSON.stringify(pos[n])}`, 2);
  };
  switch (sub) {
    case 'init': {
      noMore(0);
      if (!v.genesis) throw new CliError('chain init needs --genesis FILE', 2);
      let text: string;
      try {
        text = readFileSync(v.genesis, 'utf8');
      } catch (e) {
        throw new CliError(
          `cannot read ${v.genesis}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      return withStore(v, false, async (s) => {
        const state = await initStore(s, text, NODE_ENV);
        out(
          v,
          { ok: true, height: 0, hash: toHex(state.lastHash) },
          `created chain, genesis ${toHex(state.lastHash)}`,
        );
        return 0;
      });
    }
    case 'verify': {
      noMore(0);
      const mode = v.mode ?? 'full';
      if (mode !== 'full' && mode !== 'state' && mode !== 'headers')
        throw new CliError('--mode must be full, state or headers', 2);
      const w = workers(v);
      return withStore(v, true, async (s) => {
        const head = await s.head();
        const bar = new Progress('verify', head?.height ?? 0, v.json);
        const started = performance.now();
        const r = await verifyStore(s, {
          mode,
          ...(w ? { workers: w } : {}),
          onProgress: (h) => bar.update(h),
        });
        bar.done();
        const seconds = (performance.now() - started) / 1000;
        const json = {
          valid: r.valid,
          mode,
          height: r.height,
          blocks: r.blocks,
          transactions: r.transactions,
          seconds: Number(seconds.toFixed(3)),
          ...(r.headHash ? { headHash: r.headHash } : {}),
          ...(r.error ? { error: r.error } : {}),
        };
        const text = r.valid
          ? `valid: ${r.blocks} blocks, ${r.transactions} transactions, head ${r.height} (${mode}, ${seconds.toFixed(2)} s)`
          : `INVALID at height ${r.error!.height}: ${r.error!.code}: ${r.error!.message}`;
        out(v, json, text);
        return r.valid ? 0 : 1;
      });
    }
    case 'stats': {
      noMore(0);
      return withStore(v, true, async (s) => {
        const st = await s.stats();
        const validity = v.verify ? await verifyStore(s, { mode: 'full' }) : undefined;
        // The mempool lives in a running node's memory; a store read offline has none.
        const json = { length: st.blocks, ...st, pending: null, valid: validity ? validity.valid : null };
        const text = [
          `length        ${st.blocks} blocks (head ${st.height})`,
          `transactions  ${st.transactions}`,
          `identities    ${st.identities}`,
          `datasets      ${st.datasets}`,
          `pending       n/a (no running node)`,
          `valid         ${validity ? (validity.valid ? 'yes' : `NO (height ${validity.error?.height}: ${validity.error?.code})`) : 'not checked (--verify)'}`,
        ].join('\n');
        out(v, json, text);
        return validity && !validity.valid ? 1 : 0;
      });
    }
    case 'export': {
      noMore(0);
      if (!v.out) throw new CliError('chain export needs --out FILE', 2);
      const file = v.out;
      return withStore(v, true, async (s) => {
        const head = await s.head();
        const bar = new Progress('export', head?.height ?? 0, v.json);
        const height = await exportChain(s, file, (h) => bar.update(h));
        bar.done();
        out(v, { ok: true, height, file }, `exported ${height + 1} blocks to ${file}`);
        return 0;
      });
    }
    case 'import': {
      noMore(1);
      const file = pos[0];
      if (!file) throw new CliError('chain import needs FILE', 2);
      if (!existsSync(file)) throw new CliError(`no such file: ${file}`);
      let total = 0;
      try {
        const r = new ExportReader(file);
        total = r.header.height;
        r.close();
      } catch (e) {
        throw new CliError(e instanceof QledgerError ? `${e.code}: ${e.message}` : String(e));
      }
      const w = workers(v);
      return withStore(v, false, async (s) => {
        const verifyBar = new Progress('verify', total, v.json);
        let writeBar: Progress | undefined;
        const r = await importChain(file, s, {
          ...(w ? { workers: w } : {}),
          onVerify: (h) => verifyBar.update(h),
          onWrite: (h) => {
            if (!writeBar) {
              verifyBar.done();
              writeBar = new Progress('import', total, v.json);
            }
            writeBar.update(h);
          },
        });
        (writeBar ?? verifyBar).done();
        if (!r.report.valid) {
          const e = r.report.error!;
          out(
            v,
            { ok: false, error: e },
            `refused: the export is invalid at height ${e.height}: ${e.code}: ${e.message}`,
          );
          return 1;
        }
        out(
          v,
          { ok: true, height: r.imported, transactions: r.report.transactions },
          `imported ${r.imported + 1} blocks (${r.report.transactions} transactions), verified`,
        );
        return 0;
      });
    }
    default:
      throw new CliError(`unknown chain command ${JSON.stringify(sub)}`, 2);
  }
}
