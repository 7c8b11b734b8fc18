/**
 * Chain verification: block hashes and links, Merkle roots, full state replay, and every
 * signature — inline, or handed in batches to a caller-supplied checker (the node runs one
 * worker per core). Reports the first bad height and why.
 */
import { equalBytes, toHex } from '../bytes.js';
import type { CryptoBackend, HashSuite } from '../crypto/types.js';
import { QledgerError } from '../errors.js';
import { applyBlock, blockHash, checkLinks } from './block.js';
import { LEDGER_ERRORS as E } from './errors.js';
import { type GenesisConfig, genesisBlock } from './genesis.js';
import type { SigCheck } from './rules.js';
import type { LedgerState } from './state.js';
import type { Block } from './types.js';

/** Checks a batch; resolves to the index (in `checks`) of the first invalid signature, or −1. */
export type SignatureChecker = (checks: readonly SigCheck[]) => Promise<number>;

export interface ChainVerifyOptions {
  readonly hashes: HashSuite;
  readonly crypto: CryptoBackend;
  /**
   * `'full'` (default): replay state and check signatures; `'state'`: replay without
   * signatures; `'headers'`: hashes, links and Merkle roots only.
   */
  readonly mode?: 'full' | 'state' | 'headers';
  /** Parallel signature checking for `'full'`; inline (one core) when absent. */
  readonly checker?: SignatureChecker;
  /** How many blocks' signature batches may be in flight at once (default 8). */
  readonly window?: number;
  /** Called after each block passes (its signatures may still be in flight), with its hash. */
  readonly onProgress?: (height: number, hash: Uint8Array) => void;
}

export interface VerifyFailure {
  readonly height: number;
  readonly code: string;
  readonly message: string;
  readonly index?: number;
}

export interface VerifyReport {
  readonly valid: boolean;
  /** Blocks checked (including genesis). */
  readonly blocks: number;
  readonly transactions: number;
  /** Height of the last block that passed (−1 when genesis failed). */
  readonly height: number;
  readonly headHash?: string;
  readonly error?: VerifyFailure;
  readonly state?: LedgerState;
}

function failure(e: unknown, height: number): VerifyFailure {
  if (!(e instanceof QledgerError)) throw e;
  const index = typeof e.details?.index === 'number' ? e.details.index : undefined;
  return { height, code: e.code, message: e.message, ...(index !== undefined ? { index } : {}) };
}

export async function verifyChain(
  genesis: GenesisConfig,
  blocks: AsyncIterable<Block> | Iterable<Block>,
  opts: ChainVerifyOptions,
): Promise<VerifyReport> {
  const mode = opts.mode ?? 'full';
  const g = genesisBlock(genesis, opts.hashes);
  let state = g.state;
  let prevHash = g.hash;
  let height = -1;
  let count = 0;
  let txs = 0;
  const pending: { height: number; checks: readonly SigCheck[]; result: Promise<number> }[] = [];
  const window = opts.window ?? 8;

  const drain = async (keep: number): Promise<VerifyFailure | undefined> => {
    while (pending.length > keep) {
      const p = pending.shift()!;
      const bad = await p.result;
      if (bad >= 0) {
        const c = p.checks[bad]!;
        return {
          height: p.height,
          code: E.TX_BAD_SIGNATURE,
          message: `block ${p.height} transaction ${c.index}: signature does not verify`,
          index: c.index,
        };
      }
    }
    return undefined;
  };
  const report = (error?: VerifyFailure): VerifyReport => ({
    valid: error === undefined,
    blocks: count,
    transactions: txs,
    height: error ? Math.min(height, error.height - 1) : height,
    ...(height >= 0 && !error ? { headHash: toHex(prevHash) } : {}),
    ...(error ? { error } : {}),
    ...(!error && mode !== 'headers' ? { state } : {}),
  });

  for await (const block of blocks) {
    const h = block.header;
    if (count === 0) {
      if (h.height !== 0 || !equalBytes(blockHash(opts.hashes, h), g.hash) || block.txs.length !== 0)
        return report({
          height: h.height,
          code: E.GENESIS_MISMATCH,
          message: 'block 0 differs from the genesis built from the config',
        });
      height = 0;
      count = 1;
      opts.onProgress?.(0, g.hash);
      continue;
    }
    let fail: VerifyFailure | undefined;
    if (mode === 'headers') {
      try {
        checkLinks(opts.hashes, block, { height, hash: prevHash });
        prevHash = blockHash(opts.hashes, h);
      } catch (e) {
        fail = failure(e, h.height);
      }
    } else {
      const inline = mode === 'full' && !opts.checker;
      const r = applyBlock(state, block, {
        hashes: opts.hashes,
        crypto: opts.crypto,
        ...(inline ? {} : { signatures: 'defer' as const }),
      });
      if (!r.ok) fail = failure(r.error, h.height);
      else {
        state = r.state;
        prevHash = r.hash;
        if (mode === 'full' && opts.checker && r.deferred.length > 0)
          pending.push({ height: h.height, checks: r.deferred, result: opts.checker(r.deferred) });
      }
    }
    if (fail) return report((await drain(0)) ?? fail);
    const sigFail = await drain(window);
    if (sigFail) return report(sigFail);
    height = h.height;
    count++;
    txs += block.txs.length;
    opts.onProgress?.(height, prevHash);
  }
  if (count === 0)
    return report({ height: 0, code: E.GENESIS_MISMATCH, message: 'the chain has no genesis block' });
  return report(await drain(0));
}

/** Inline checker on one thread, for tests and the browser. */
export function inlineChecker(crypto: CryptoBackend): SignatureChecker {
  return async (checks) =>
    checks.findIndex((c) => !crypto.signer(c.alg).verify(c.signature, c.message, c.publicKey));
}
