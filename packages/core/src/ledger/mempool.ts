/**
 * The mempool admits only transactions that are valid on top of the chain state and of the
 * transactions already pending (signature, sequence number, size and the kind's rules), so
 * a proposer can take any prefix and build a valid block. Pure: no clock (callers pass the
 * time), no I/O.
 */
import { toHex } from '../bytes.js';
import type { CryptoBackend, HashSuite } from '../crypto/types.js';
import { QledgerError } from '../errors.js';
import { isBeaconTx } from './beacon.js';
import { chainParams } from './block.js';
import { LEDGER_ERRORS as E, ledgerError } from './errors.js';
import { applyTx, type SigCheck } from './rules.js';
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
  private readonly unverified = new Set<string>();
  private bytes = 0;
  /** Pending beacon transactions: outside the limits (see add). */
  private beaconTxs = 0;
  private beaconBytes = 0;

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

  /**
   * Admits `env` or throws a coded QledgerError (and changes nothing). With
   * `deferSignatures`, signatures are not checked here but returned: the caller checks them
   * (e.g. on worker threads), calls markVerified on success and remove on failure; take()
   * never hands out a transaction before it is marked.
   */
  add(env: TxEnvelope, now: number, opts: { deferSignatures?: boolean } = {}): SigCheck[] {
    const id = toHex(env.id);
    if (this.ids.has(id))
      throw ledgerError(E.MEMPOOL_DUPLICATE, `transaction ${id} is already pending`, { txId: id });
    // The validators' beacon transactions do not count against the limits, so a flood of
    // client transactions cannot crowd the leader order out; the rules bound them to one
    // commitment and one reveal per validator and epoch, valid on the pending state.
    const size = this.order.length - this.beaconTxs;
    const bytes = this.bytes - this.beaconBytes;
    if (!isBeaconTx(env.tx) && (size >= this.opts.maxTxs || bytes + env.bytes.length > this.opts.maxBytes))
      throw ledgerError(E.MEMPOOL_FULL, `the mempool is full (${size} transactions, ${bytes} bytes)`, {
        size,
        bytes,
      });
    const deferred: SigCheck[] | undefined = opts.deferSignatures ? [] : undefined;
    this.tryApply(this.pending, env, now, deferred);
    this.keep(env, id);
    if (deferred) this.unverified.add(id);
    return deferred ?? [];
  }

  /** The deferred signatures of `id` checked out: it may now go into a block. */
  markVerified(id: Uint8Array): void {
    this.unverified.delete(toHex(id));
  }

  /** Drops the given transactions (and re-admits the rest in order, as rebase does). */
  remove(ids: readonly Uint8Array[], now: number): { env: TxEnvelope; error: QledgerError }[] {
    return this.rebase(this.base, ids, now, () => true);
  }

  private keep(env: TxEnvelope, id: string): void {
    this.order.push(env);
    this.ids.add(id);
    this.bytes += env.bytes.length;
    if (isBeaconTx(env.tx)) {
      this.beaconTxs++;
      this.beaconBytes += env.bytes.length;
    }
  }

  /** Applies `env` on a child of `into`; `accept` may still refuse it before it is kept. */
  private tryApply(
    into: StateDraft,
    env: TxEnvelope,
    now: number,
    deferred?: SigCheck[],
    accept?: () => void,
  ): void {
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
      ...(deferred ? { deferred } : {}),
    });
    accept?.();
    child.commit();
  }

  /**
   * The oldest pending transactions, at most `maxTxs` of them and `maxBytes` in all, stopping
   * at the first whose deferred signatures are not yet verified.
   */
  take(maxTxs: number, maxBytes: number): TxEnvelope[] {
    const out: TxEnvelope[] = [];
    let bytes = 0;
    for (const t of this.order) {
      if (out.length >= maxTxs || bytes + t.bytes.length > maxBytes) break;
      if (this.unverified.size > 0 && this.unverified.has(toHex(t.id))) break;
      out.push(t);
      bytes += t.bytes.length;
    }
    return out;
  }

  /**
   * Moves to a new chain state (after a block commits): drops the `committed` ids and
   * re-admits the rest in order; returns those that are no longer valid, with why. With
   * `keep`, signatures (already checked on admission) are not checked again: `keep` sees the
   * checks each transaction would now need and says whether they are the ones it verified
   * (a rotated key is not).
   */
  rebase(
    state: LedgerState,
    committed: readonly Uint8Array[],
    now: number,
    keep?: (env: TxEnvelope, checks: readonly SigCheck[]) => boolean,
  ): { env: TxEnvelope; error: QledgerError }[] {
    const gone = new Set(committed.map(toHex));
    this.base = state;
    this.pending = state.draft();
    const old = this.order;
    this.order = [];
    this.ids.clear();
    this.bytes = 0;
    this.beaconTxs = 0;
    this.beaconBytes = 0;
    const dropped: { env: TxEnvelope; error: QledgerError }[] = [];
    for (const env of old) {
      const id = toHex(env.id);
      if (gone.has(id)) {
        this.unverified.delete(id);
        continue;
      }
      try {
        const deferred: SigCheck[] | undefined = keep ? [] : undefined;
        this.tryApply(this.pending, env, now, deferred, () => {
          if (keep && deferred && !keep(env, deferred))
            throw ledgerError(
              E.TX_BAD_SIGNATURE,
              'the signing key changed since the transaction was admitted',
            );
        });
        this.keep(env, id);
      } catch (e) {
        if (!(e instanceof QledgerError)) throw e;
        this.unverified.delete(id);
        dropped.push({ env, error: e });
      }
    }
    return dropped;
  }
}
