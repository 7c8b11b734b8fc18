/**
 * The receiving side of compact proposals (value.ts: a proposal whose block names its
 * transactions by Merkle leaf). A compact proposal is rebuilt from the envelopes this validator
 * holds, or parked while its sender is asked for the missing ones (TX_WANT); the answer
 * (TX_GIVE) counts only for bytes whose leaf was asked for. Plain logic over injected
 * lookups and senders, so it is tested without a network.
 */
import {
  type Block,
  type ConsensusMsg,
  concatBytes,
  decode,
  decodeHeader,
  decodeTx,
  type HashSuite,
  type LedgerParams,
  merkleLeaf,
  type TxEnvelope,
  toHex,
} from '@qledger/core';
import { encodeRawValue, LEAF_BYTES, parseCompact } from './value.js';

export type ProposalMsg = Extract<ConsensusMsg, { type: 'proposal' }>;

export interface CompactDeps {
  readonly params: LedgerParams;
  readonly hashes: HashSuite;
  /** The envelope this validator holds for a leaf (hex), if any. */
  readonly envelope: (leafHex: string) => TxEnvelope | undefined;
  /**
   * Ask for the transactions with these leaves (a TX_WANT frame). `from` sent the proposal and
   * holds them all; the runtime asks every connected peer, so a busy proposer is no bottleneck.
   */
  readonly want: (from: number, leaves: Uint8Array) => void;
  /** A whole proposal for consensus, and the block it carries, already decoded. */
  readonly deliver: (from: number, msg: ProposalMsg, block: Block) => void;
  /** A compact proposal refused (its leaves are not its header's): a fault of its sender. */
  readonly refuse: (from: number, why: string) => void;
}

interface Parked {
  readonly from: number;
  readonly msg: ProposalMsg;
  readonly header: Uint8Array;
  readonly leaves: readonly Uint8Array[];
  readonly txs: (TxEnvelope | undefined)[];
}

/** Compact proposals parked at once, at most (a Byzantine sender could send many). */
export const PARKED_MAX = 16;

export class CompactInbox {
  readonly #d: CompactDeps;
  readonly #parked = new Map<string, Parked>();
  readonly stats = { received: 0, misses: 0, completed: 0 };

  constructor(deps: CompactDeps) {
    this.#d = deps;
  }

  get parked(): number {
    return this.#parked.size;
  }

  /** A compact proposal whose tag checked. */
  receive(from: number, msg: ProposalMsg): void {
    let parsed: ReturnType<typeof parseCompact>;
    try {
      parsed = parseCompact(msg.block, this.#d.params, this.#d.hashes);
    } catch (e) {
      this.#d.refuse(from, (e as Error).message);
      return;
    }
    this.stats.received++;
    const txs = parsed.leaves.map((l) => this.#d.envelope(toHex(l)));
    const missing = parsed.leaves.filter((_, i) => txs[i] === undefined);
    if (missing.length === 0) {
      this.#deliver(from, msg, parsed.header, txs as TxEnvelope[]);
      return;
    }
    this.stats.misses++;
    const key = `${from}:${msg.height}:${msg.round}`;
    if (!this.#parked.has(key) && this.#parked.size >= PARKED_MAX)
      this.#parked.delete(this.#parked.keys().next().value!);
    this.#parked.set(key, { from, msg, header: parsed.header, leaves: parsed.leaves, txs });
    this.#d.want(from, concatBytes(...missing));
  }

  /**
   * TX_GIVE: transactions parked proposals lacked, from any peer (each is self-authenticating:
   * it counts only where its bytes hash to a wanted leaf). Bytes matching no wanted leaf, or
   * that do not decode, are ignored; a proposal left incomplete then never reaches consensus,
   * and its round times out as for a proposal that never came.
   */
  give(payload: Uint8Array): void {
    const list = decode(payload);
    if (!Array.isArray(list) || list.length > this.#d.params.maxBlockTxs)
      throw new Error('TX_GIVE is not a list within maxBlockTxs');
    const parked = [...this.#parked];
    if (parked.length === 0) return;
    // Where each missing leaf goes: one lookup per given transaction, whatever the block size.
    const wanted = new Map<string, { p: Parked; i: number }[]>();
    for (const [, p] of parked)
      p.leaves.forEach((l, i) => {
        if (p.txs[i] !== undefined) return;
        const k = toHex(l);
        const slots = wanted.get(k);
        if (slots) slots.push({ p, i });
        else wanted.set(k, [{ p, i }]);
      });
    for (const b of list) {
      if (!(b instanceof Uint8Array)) throw new Error('TX_GIVE holds a non-bytes item');
      const k = toHex(merkleLeaf(this.#d.hashes, b));
      const slots = wanted.get(k);
      if (!slots) continue;
      wanted.delete(k);
      let env: TxEnvelope;
      try {
        env = decodeTx(b, this.#d.params, this.#d.hashes);
      } catch {
        continue;
      }
      for (const { p, i } of slots) p.txs[i] = env;
    }
    for (const [key, p] of parked)
      if (p.txs.every((t) => t !== undefined)) {
        this.#parked.delete(key);
        this.#deliver(p.from, p.msg, p.header, p.txs as TxEnvelope[]);
      }
  }

  /**
   * Looks again among the held envelopes for what parked proposals lack. Gossip from a third
   * validator often brings a missing transaction a moment after the proposal that needs it,
   * long before the sender answers TX_WANT, whose event loop may be busy for a hundred ms.
   */
  recheck(): void {
    for (const [key, p] of this.#parked) {
      p.leaves.forEach((l, i) => {
        p.txs[i] ??= this.#d.envelope(toHex(l));
      });
      if (p.txs.every((t) => t !== undefined)) {
        this.#parked.delete(key);
        this.#deliver(p.from, p.msg, p.header, p.txs as TxEnvelope[]);
      }
    }
  }

  /** Drops what waits for heights up to `height`, now decided. */
  committed(height: number): void {
    for (const [key, p] of this.#parked) if (p.msg.height <= height) this.#parked.delete(key);
  }

  #deliver(from: number, msg: ProposalMsg, header: Uint8Array, txs: TxEnvelope[]): void {
    this.stats.completed++;
    const value = encodeRawValue(
      header,
      txs.map((t) => t.bytes),
    );
    this.#d.deliver(from, { ...msg, block: value }, { header: decodeHeader(header), txs });
  }
}

/**
 * TX_WANT: the bytes of the transactions with the leaves in `payload` (32 bytes each) that
 * `lookup` finds; leaves it does not know are skipped.
 */
export function wantedTxs(
  payload: Uint8Array,
  maxTxs: number,
  lookup: (leafHex: string) => TxEnvelope | undefined,
): Uint8Array[] {
  if (payload.length % LEAF_BYTES !== 0 || payload.length > maxTxs * LEAF_BYTES)
    throw new Error('TX_WANT is not a list of leaves within maxBlockTxs');
  const out: Uint8Array[] = [];
  for (let i = 0; i < payload.length; i += LEAF_BYTES) {
    const env = lookup(toHex(payload.subarray(i, i + LEAF_BYTES)));
    if (env) out.push(env.bytes);
  }
  return out;
}
