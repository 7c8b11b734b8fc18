/**
 * This validator's part in the leader-order beacon (core ledger/beacon.ts, docs/consensus.md
 * "Leader order"): at every height it checks, on the committed state, whether it still owes
 *
 *   - a commitment for epoch e + 2 (e the epoch of the next height): it draws a 32-byte value
 *     from the health-tested QRNG mix and a salt from the OS generator, stores both locally
 *     *before* sending anything (a crash between the two must not lose the opening), then
 *     sends `beacon.commit`;
 *   - a reveal for epoch e + 1, whose commitment is on the chain: it reads the stored opening
 *     and sends `beacon.reveal`; the opening is deleted once the reveal window has closed.
 *
 * Both go through the ordinary admission path (mempool, gossip), so any honest proposer
 * includes them. A send that is refused (a full mempool, say) is tried again at the next
 * height while its window is open.
 *
 * Cost: one store write per epoch (the new opening, and the deletion of the one whose window
 * closed, in one transaction), and the validators send at different heights of the epoch
 * (validator i from position i mod ⌊L/4⌋), so no height carries everyone's burst.
 */
import { randomBytes } from 'node:crypto';
import {
  BEACON_SALT_BYTES,
  BEACON_VALUE_BYTES,
  beaconCommit,
  type CryptoBackend,
  epochLength,
  epochOf,
  FIRST_BEACON_EPOCH,
  type HashSuite,
  STATE_KEYS as K,
  type LedgerParams,
  type LedgerState,
  type SigAlg,
  seedFixedAt,
  signTx,
  type UnsignedTx,
} from '@qledger/core';
import type { Logger } from 'pino';
import type { ChainStore } from '../storage/index.js';

export interface BeaconDutyDeps {
  readonly name: string;
  /** The validator's index in genesis: spreads the validators' sends over the epoch. */
  readonly slot: number;
  readonly chainId: string;
  readonly params: LedgerParams;
  readonly alg: SigAlg;
  readonly secretKey: Uint8Array;
  readonly crypto: CryptoBackend;
  readonly hashes: HashSuite;
  readonly store: Pick<ChainStore, 'saveLocal' | 'local'>;
  /** The committed state. */
  state(): LedgerState;
  /** `n` bytes from the QRNG mix. */
  draw(n: number): Uint8Array;
  /** Admits and gossips a signed transaction; resolves to its admission status. */
  submit(bytes: Uint8Array): Promise<{ status: string; code?: string }>;
  readonly log: Logger;
}

const secretKey = (epoch: number) => `beacon:${epoch}`;

export class BeaconDuty {
  readonly stats = { commitsSent: 0, revealsSent: 0, openingsLost: 0, sendsRefused: 0 };
  readonly #d: BeaconDutyDeps;
  #busy = false;
  #again = false;
  #closed = false;
  #cleaned = false;
  #current: Promise<void> = Promise.resolve();
  /** Sends in flight or admitted for this run, by `c<epoch>` / `r<epoch>`. */
  readonly #sent = new Set<string>();

  constructor(deps: BeaconDutyDeps) {
    this.#d = deps;
  }

  /**
   * Looks at the committed state again (after each block and at start). Resolves when this
   * look, and any asked for meanwhile, is done.
   */
  poke(): Promise<void> {
    if (this.#closed) return this.#current;
    this.#again = true;
    if (this.#busy) return this.#current;
    this.#busy = true;
    this.#current = (async () => {
      while (this.#again && !this.#closed) {
        this.#again = false;
        try {
          await this.#run();
        } catch (err) {
          this.#d.log.warn({ err }, 'beacon duty failed; trying again at the next block');
        }
      }
      this.#busy = false;
    })();
    return this.#current;
  }

  /** Stops sending (the store is about to close); resolves when no look is in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#current;
  }

  async #run(): Promise<void> {
    const d = this.#d;
    const state = d.state();
    const length = epochLength(d.params);
    const next = state.height + 1;
    const now = epochOf(next, length);
    // Openings of epochs whose reveal window has closed are of no use: forget them. Once at
    // start (a stop may have left some), then with each new opening.
    const closed = (e: number): Record<string, null> =>
      Object.fromEntries(
        [e - 2, e - 1, e].filter((x) => x >= FIRST_BEACON_EPOCH).map((x) => [secretKey(x), null]),
      );
    if (!this.#cleaned) {
      await d.store.saveLocal(closed(now));
      this.#cleaned = true;
    }
    // This validator's turn in the epoch: position (next − 1) mod L reached its slot.
    if ((next - 1) % length < d.slot % Math.max(1, Math.floor(length / 4))) return;

    const target = now + 2;
    if (target >= FIRST_BEACON_EPOCH && state.get(K.beaconCommit(target, d.name)) === undefined) {
      await this.#send(`c${target}`, async () => {
        let opening = await d.store.local(secretKey(target));
        if (opening?.length !== BEACON_VALUE_BYTES + BEACON_SALT_BYTES) {
          opening = new Uint8Array(BEACON_VALUE_BYTES + BEACON_SALT_BYTES);
          const drawn = d.draw(BEACON_VALUE_BYTES);
          opening.set(drawn, 0);
          drawn.fill(0);
          opening.set(randomBytes(BEACON_SALT_BYTES), BEACON_VALUE_BYTES);
          await d.store.saveLocal({ ...closed(now), [secretKey(target)]: opening });
        }
        const value = opening.subarray(0, BEACON_VALUE_BYTES);
        const salt = opening.subarray(BEACON_VALUE_BYTES);
        const commitment = beaconCommit({ chainId: d.chainId, epoch: target }, d.name, value, salt, d.hashes);
        opening.fill(0);
        return this.#tx('beacon.commit', { epoch: target, commitment });
      });
    }

    const open = now + 1;
    if (
      open >= FIRST_BEACON_EPOCH &&
      next <= seedFixedAt(open, length) &&
      state.get(K.beaconCommit(open, d.name)) !== undefined &&
      state.get(K.beaconReveal(open, d.name)) === undefined
    ) {
      await this.#send(`r${open}`, async () => {
        const opening = await d.store.local(secretKey(open));
        if (opening?.length !== BEACON_VALUE_BYTES + BEACON_SALT_BYTES) {
          // The store lost it (a restore from an old backup): this validator sits this epoch out.
          this.stats.openingsLost++;
          d.log.warn({ epoch: open }, 'beacon: the opening of our commitment is gone; no reveal this epoch');
          return null;
        }
        const value = opening.slice(0, BEACON_VALUE_BYTES);
        const salt = opening.slice(BEACON_VALUE_BYTES);
        opening.fill(0);
        return this.#tx('beacon.reveal', { epoch: open, value, salt });
      });
    }
  }

  /** Builds the transaction (once per key per run of the process) and submits it. */
  async #send(key: string, build: () => Promise<Uint8Array | null>): Promise<void> {
    if (this.#sent.has(key)) return;
    const bytes = await build();
    if (this.#closed) return;
    this.#sent.add(key);
    if (bytes === null) return; // nothing to send (a lost opening, counted once)
    try {
      const r = await this.#d.submit(bytes);
      if (r.status === 'rejected') throw new Error(r.code ?? 'rejected');
      if (key.startsWith('c')) this.stats.commitsSent++;
      else this.stats.revealsSent++;
    } catch (err) {
      // MEMPOOL_FULL and the like: the next block tries again while the window is open.
      this.#sent.delete(key);
      this.stats.sendsRefused++;
      this.#d.log.warn({ err: String((err as Error)?.message ?? err), key }, 'beacon transaction refused');
    }
  }

  #tx<K extends 'beacon.commit' | 'beacon.reveal'>(kind: K, body: UnsignedTx['body']): Uint8Array {
    const d = this.#d;
    const unsigned = { v: 1, chain: d.chainId, kind, from: d.name, seq: 0, alg: d.alg, body } as UnsignedTx;
    return signTx(unsigned, d.secretKey, d.crypto, d.hashes).bytes;
  }
}
