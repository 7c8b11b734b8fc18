/**
 * The mempool admits only transactions that are valid on top of the chain state and of the
 * transactions already pending (signature, sequence number, size and the kind's rules), so
 * a proposer can take any prefix and build a valid block. Pure: no clock (callers pass the
 * time), no I/O.
 */
import { toHex } from '../bytes.js';
import type { CryptoBackend, HashSuite } from '../crypto/types.js';
import { QledgerError } from '../errors.js';
import { chainParams } from './block.js';
import { LEDGER_ERRORS as E, ledgerError } from './errors.js';
import { applyTx } from './rules.js';
import type { LedgerState, StateDraft } from './state.js';
import type { TxEnvelope } from './types.js';

export interface MempoolOptions {
  /** Most transactions held at once (MEMPOOL_FULL beyond). */
  readonly maxTxs: number;
  /** Most bytes held at once (MEMPOOL_FULL beyond). */
  readonly maxBytes: number;
  readonly hashes: HashSuite;
  readonly crypto: CryptoBackend;
}

export class Mempool {
  private base: LedgerState;
  private pending: StateDraft;
  private order: TxEnvelope[] = [];
  private readonly ids = new Set<string>();
  private bytes = 0;

  constructor(
    state: LedgerState,
    private readonly opts: MempoolOptions,
  ) {
    this.base = state;
    this.pending = state.draft();
  }

  get size(): number {
    return this.order.length;
  }

  get byteSize(): number {
    return this.bytes;
  }

  has(id: Uint8Array): boolean {
    return this.ids.has(toHex(id));
  }

  /** Admits `env` or throws a coded QledgerError (and changes nothing). */
  add(env: TxEnvelope, now: number): void {
    const id = toHex(env.id);
    if (this.ids.has(id))
      throw ledgerError(E.MEMPOOL_DUPLICATE, `transaction ${id} is already pending`, { txId: id });
    if (this.order.length >= this.opts.maxTxs || this.bytes + env.bytes.length > this.opts.maxBytes)
      throw ledgerError(
        E.MEMPOOL_FULL,
        `the mempool is full (${this.order.length} transactions, ${this.bytes} bytes)`,
        {
          size: this.order.length,
          bytes: this.bytes,
        },
      );
    this.tryApply(this.pending, env, now);
    this.order.push(env);
    this.ids.add(id);
    this.bytes += env.bytes.length;
  }

  private tryApply(into: StateDraft, env: TxEnvelope, now: number): void {
    const { chain, params } = chainParams(this.base);
    const child = into.child();
    applyTx(child, env, {
      chain,
      params,
      height: this.base.height + 1,
      time: Math.max(now, this.base.lastTime),
      hashes: this.opts.hashes,
      crypto: this.opts.crypto,
      index: this.order.length,
    });
    child.commit();
  }

  /** The oldest pending transactions, at most `maxTxs` of them and `maxBytes` in all. */
  take(maxTxs: number, maxBytes: number): TxEnvelope[] {
    const out: TxEnvelope[] = [];
    let bytes = 0;
    for (const t of this.order) {
      if (out.length >= maxTxs || bytes + t.bytes.length > maxBytes) break;
      out.push(t);
      bytes += t.bytes.length;
    }
    return out;
  }

  /**
   * Moves to a new chain state (after a block commits): drops the `committed` ids and
   * re-admits the rest in order; returns those that are no longer valid, with why.
   */
  rebase(
    state: LedgerState,
    committed: readonly Uint8Array[],
    now: number,
  ): { env: TxEnvelope; error: QledgerError }[] {
    const gone = new Set(committed.map(toHex));
    this.base = state;
    this.pending = state.draft();
    const old = this.order;
    this.order = [];
    this.ids.clear();
    this.bytes = 0;
    const dropped: { env: TxEnvelope; error: QledgerError }[] = [];
    for (const env of old) {
      if (gone.has(toHex(env.id))) continue;
      try {
        this.tryApply(this.pending, env, now);
        this.order.push(env);
        this.ids.add(toHex(env.id));
        this.bytes += env.bytes.length;
      } catch (e) {
        if (!(e instanceof QledgerError)) throw e;
        dropped.push({ env, error: e });
      }
    }
    return dropped;
  }
}
