/**
 * The mempool admits only transactions that are valid on top of the chain state and of the
 * transactions already pending (signature, sequence number, size and the kind's rules), so
 * a proposer can take any prefix and build a valid block. Pure: no clock (callers pass the
 * time), no I/O.
 *
 * After a block, every pending transaction must be judged again on the new state. Applying a
 * transaction is a deterministic function of what it reads from the state and of the context
 * (chain, parameters, height, time), so the mempool records, for each one, the entries it
 * read and the entries it wrote. A transaction whose reads still hold the same bytes, under
 * the same chain and parameters, and that did not look at the height or the time, would do
 * exactly the same again: its writes are replayed instead (`replay`, on by default). The
 * others are applied again. A data transaction reads its sender's identity and sequence
 * number, which a committed predecessor leaves as it found them, so at saturation nearly
 * every pending transaction is replayed.
 *
 * A replayed transaction also needs no signature judged again: the checks applying it asks
 * for are a function of what it read (the signing key is in the sender's identity record),
 * so they are the very checks it was admitted with. Only a transaction applied again is shown
 * to the caller's `keep` (see rebase). At saturation the pool holds thousands of transactions
 * and every block replays them all, so this matters: the check cost a hex id, a lookup and a
 * copy of the checks per pending transaction per block.
 */
import { equalBytes, toHex } from '../bytes.js';
import type { CryptoBackend, HashSuite } from '../crypto/types.js';
import { QledgerError } from '../errors.js';
import { isBeaconTx } from './beacon.js';
import { chainParams } from './block.js';
import { LEDGER_ERRORS as E, ledgerError } from './errors.js';
import { applyTx, type SigCheck, type TxContext } from './rules.js';
import type { LedgerState, StateDraft, StateEntry } from './state.js';
import { txIdHex } from './tx.js';
import type { LedgerParams, TxEnvelope } from './types.js';

export interface MempoolOptions {
  /** Most transactions held at once (MEMPOOL_FULL beyond). */
  readonly maxTxs: number;
  /** Most bytes held at once (MEMPOOL_FULL beyond). */
  readonly maxBytes: number;
  readonly hashes: HashSuite;
  readonly crypto: CryptoBackend;
  /**
   * Replay a pending transaction's recorded writes after a block when nothing it depends on
   * changed, instead of applying it again (default true; false is the plain reference).
   */
  readonly replay?: boolean;
}

/** What applying a pending transaction depended on and did. */
interface Applied {
  /** The transaction's id in hex. */
  readonly id: string;
  readonly reads: ReadonlyMap<string, StateEntry | null>;
  readonly writes: ReadonlyMap<string, StateEntry | null>;
  /** It read the height or the time. */
  readonly clock: boolean;
  readonly chain: string;
  readonly params: LedgerParams;
}

export class Mempool {
  private base: LedgerState;
  private pending: StateDraft;
  private order: TxEnvelope[] = [];
  private readonly ids = new Set<string>();
  private readonly unverified = new Set<string>();
  /** For every pending transaction. */
  private readonly applied = new Map<TxEnvelope, Applied>();
  /** Pending transactions carried over blocks: replayed, or applied again. */
  readonly stats = { replayed: 0, applied: 0 };
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

  /** Whether a transaction with this id (or this envelope's) is pending. */
  has(id: Uint8Array | TxEnvelope): boolean {
    return this.ids.has(id instanceof Uint8Array ? toHex(id) : txIdHex(id));
  }

  /**
   * Admits `env` or throws a coded QledgerError (and changes nothing). With
   * `deferSignatures`, signatures are not checked here but returned: the caller checks them
   * (e.g. on worker threads), calls markVerified on success and remove on failure; take()
   * never hands out a transaction before it is marked.
   */
  add(env: TxEnvelope, now: number, opts: { deferSignatures?: boolean } = {}): SigCheck[] {
    const id = txIdHex(env);
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
    this.tryApply(env, id, now, deferred);
    this.keep(env, id);
    if (deferred) this.unverified.add(id);
    return deferred ?? [];
  }

  /** The deferred signatures of `id` checked out: it may now go into a block. */
  markVerified(id: Uint8Array | TxEnvelope): void {
    this.unverified.delete(id instanceof Uint8Array ? toHex(id) : txIdHex(id));
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

  /**
   * Applies `env` on a child of the pending draft and records what it read and wrote; `accept`
   * may still refuse it before it is kept.
   */
  private tryApply(
    env: TxEnvelope,
    id: string,
    now: number,
    deferred?: SigCheck[],
    accept?: () => void,
  ): void {
    const { chain, params } = chainParams(this.base);
    const child = this.pending.child();
    const reads = child.recordReads();
    const height = this.base.height + 1;
    const time = Math.max(now, this.base.lastTime);
    let clock = false;
    const ctx: TxContext = {
      chain,
      params,
      get height() {
        clock = true;
        return height;
      },
      get time() {
        clock = true;
        return time;
      },
      hashes: this.opts.hashes,
      crypto: this.opts.crypto,
      index: this.order.length,
      ...(deferred ? { deferred } : {}),
    };
    applyTx(child, env, ctx);
    accept?.();
    this.applied.set(env, {
      id,
      reads,
      writes: child.ownWrites(),
      clock,
      chain,
      params,
    });
    child.commit();
  }

  /**
   * Replays a transaction's recorded writes (`a`) if applying it again would do exactly the
   * same: the same bytes under every key it read, the same chain and parameters, no use of
   * height or time. Its signature checks would then be the ones it was admitted with, so none
   * is asked about. False when it must be applied again instead.
   */
  private tryReplay(a: Applied | undefined, chain: string, params: LedgerParams): boolean {
    if (a === undefined || a.clock) return false;
    if (a.chain !== chain || a.params !== params) return false;
    for (const [key, seen] of a.reads) {
      const now = this.pending.entryOf(key);
      if (now !== seen && (now === null || seen === null || !equalBytes(now.bytes, seen.bytes))) return false;
    }
    this.pending.putEntries(a.writes);
    return true;
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
      if (this.unverified.size > 0 && this.unverified.has(txIdHex(t))) break;
      out.push(t);
      bytes += t.bytes.length;
    }
    return out;
  }

  /**
   * Moves to a new chain state (after a block commits): drops the `committed` ids and
   * re-admits the rest in order; returns those that are no longer valid, with why. With
   * `keep`, signatures (already checked on admission) are not checked again: `keep` sees the
   * checks each transaction applied again would now need and says whether they are the ones
   * it verified (a rotated key is not). A replayed transaction read what it read before, so
   * it needs the checks it was admitted with, and `keep` is not asked.
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
    const { chain, params } = chainParams(state);
    const replay = this.opts.replay !== false;
    for (const env of old) {
      const a = this.applied.get(env);
      const id = a?.id ?? txIdHex(env);
      if (gone.has(id)) {
        this.unverified.delete(id);
        this.applied.delete(env);
        continue;
      }
      try {
        if (replay && this.tryReplay(a, chain, params)) this.stats.replayed++;
        else {
          this.stats.applied++;
          const deferred: SigCheck[] | undefined = keep ? [] : undefined;
          this.tryApply(env, id, now, deferred, () => {
            if (keep && deferred && !keep(env, deferred))
              throw ledgerError(
                E.TX_BAD_SIGNATURE,
                'the signing key changed since the transaction was admitted',
              );
          });
        }
        this.keep(env, id);
      } catch (e) {
        if (!(e instanceof QledgerError)) throw e;
        this.unverified.delete(id);
        this.applied.delete(env);
        dropped.push({ env, error: e });
      }
    }
    return dropped;
  }
}
