/**
 * Ledger state: a persistent (never mutated) map from text keys to canonical CBOR values,
 * with its LtHash accumulator. New states share structure with their parent through
 * copy-on-write layers, flattened every FLATTEN_DEPTH blocks, so applying a block costs
 * O(changes) and the old state stays valid (what purity of applyBlock needs).
 */
import { equalBytes } from '../bytes.js';
import { decode, encode } from '../codec/index.js';
import type { CborValue } from '../codec/types.js';
import type { HashSuite } from '../crypto/types.js';
import { LtHash, LtHashElements, lthashElement } from './lthash.js';

export interface StateEntry {
  readonly bytes: Uint8Array;
  readonly value: CborValue;
}

/** One key's final value after a block; `null` means deleted. */
export interface StateChange {
  readonly key: string;
  readonly value: Uint8Array | null;
}

interface Layer {
  readonly parent: Layer | null;
  readonly own: ReadonlyMap<string, StateEntry | null>;
  readonly depth: number;
}

const FLATTEN_DEPTH = 32;

function lookup(layer: Layer | null, key: string): StateEntry | undefined {
  for (let l = layer; l !== null; l = l.parent) {
    const e = l.own.get(key);
    if (e !== undefined) return e ?? undefined;
  }
  return undefined;
}

function flatten(layer: Layer | null): Map<string, StateEntry> {
  const chain: Layer[] = [];
  for (let l = layer; l !== null; l = l.parent) chain.push(l);
  const out = new Map<string, StateEntry>();
  for (let i = chain.length - 1; i >= 0; i--) {
    for (const [k, e] of chain[i]!.own) {
      if (e === null) out.delete(k);
      else out.set(k, e);
    }
  }
  return out;
}

export interface StateMeta {
  /** Height of the last applied block; −1 before genesis. */
  readonly height: number;
  /** Hash of the last applied block (32 zero bytes before genesis). */
  readonly lastHash: Uint8Array;
  readonly lastTime: number;
}

export interface StateReader {
  get(key: string): CborValue | undefined;
}

/**
 * Expansions of the entries blocks added, shared by every state of this process: a cache of a
 * pure function (see LtHashElements), checked by the bytes on every hit.
 */
const ELEMENTS = new LtHashElements();

/** Most keys a state remembers lookups of (then it starts again). */
const LOOKUP_CACHE_MAX = 65_536;

export class LedgerState implements StateReader, StateMeta {
  /** Lookups through the layers so far (null: no entry): a key is looked up once per state. */
  private readonly looked = new Map<string, StateEntry | null>();

  private constructor(
    readonly height: number,
    readonly lastHash: Uint8Array,
    readonly lastTime: number,
    private readonly acc: LtHash,
    private readonly layer: Layer | null,
  ) {}

  static empty(): LedgerState {
    return new LedgerState(-1, new Uint8Array(32), 0, new LtHash(), null);
  }

  /**
   * Rebuilds a state from stored entries. With `accumulator` the caller vouches for it (a
   * store that saved it atomically with the entries); without, it is recomputed.
   */
  static fromEntries(
    entries: Iterable<readonly [string, Uint8Array]>,
    meta: StateMeta,
    hashes: HashSuite,
    accumulator?: Uint8Array,
  ): LedgerState {
    const own = new Map<string, StateEntry>();
    const acc = accumulator ? LtHash.fromBytes(accumulator) : new LtHash();
    for (const [k, bytes] of entries) {
      own.set(k, { bytes, value: decode(bytes) });
      if (!accumulator) acc.mix(lthashElement(hashes, k, bytes), 1);
    }
    return new LedgerState(meta.height, meta.lastHash, meta.lastTime, acc, { parent: null, own, depth: 0 });
  }

  get(key: string): CborValue | undefined {
    return this.entry(key)?.value;
  }

  getBytes(key: string): Uint8Array | undefined {
    return this.entry(key)?.bytes;
  }

  /** @internal */
  entry(key: string): StateEntry | undefined {
    let e = this.looked.get(key);
    if (e === undefined) {
      e = lookup(this.layer, key) ?? null;
      if (this.looked.size >= LOOKUP_CACHE_MAX) this.looked.clear();
      this.looked.set(key, e);
    }
    return e ?? undefined;
  }

  /** Every live entry, sorted by key. */
  entries(): [string, Uint8Array][] {
    return [...flatten(this.layer)]
      .map(([k, e]) => [k, e.bytes] as [string, Uint8Array])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  accumulator(): Uint8Array {
    return this.acc.toBytes();
  }

  /** @internal */
  accumulatorCopy(): LtHash {
    return this.acc.clone();
  }

  root(hashes: HashSuite): Uint8Array {
    return this.acc.root(hashes);
  }

  draft(): StateDraft {
    return new StateDraft(this, null);
  }

  /** @internal used by StateDraft.finish */
  static next(
    parent: LedgerState,
    own: Map<string, StateEntry | null>,
    acc: LtHash,
    meta: StateMeta,
  ): LedgerState {
    let layer: Layer = { parent: parent.layer, own, depth: (parent.layer?.depth ?? -1) + 1 };
    if (layer.depth >= FLATTEN_DEPTH) layer = { parent: null, own: flatten(layer), depth: 0 };
    return new LedgerState(meta.height, meta.lastHash, meta.lastTime, acc, layer);
  }
}

/**
 * Writes on top of a state (or of another draft). Nothing reaches the base until `finish`
 * (top-level) or `commit` (nested) — so a failed transaction is dropped with its draft.
 */
export class StateDraft implements StateReader {
  private readonly writes = new Map<string, StateEntry | null>();
  /** With recordReads: each key read through to the parent, with the entry seen first (null: none). */
  private reads: Map<string, StateEntry | null> | undefined;

  constructor(
    private readonly base: LedgerState,
    private readonly parent: StateDraft | null,
  ) {}

  private read(key: string): StateEntry | null | undefined {
    const w = this.writes.get(key);
    if (w !== undefined) return w;
    const r = this.parent ? this.parent.read(key) : this.base.entry(key);
    if (this.reads !== undefined && !this.reads.has(key)) this.reads.set(key, r ?? null);
    return r;
  }

  /**
   * From now on, records every key this draft reads from below it (its parent or base), with
   * the entry it saw the first time (null for none). Reads of its own writes are not recorded:
   * they follow from the recorded ones. Everything a computation on this draft depends on in
   * the state is then in the map.
   */
  recordReads(): ReadonlyMap<string, StateEntry | null> {
    this.reads = new Map();
    return this.reads;
  }

  /** What this draft sees under `key` (null: nothing). */
  entryOf(key: string): StateEntry | null {
    return this.read(key) ?? null;
  }

  /** A copy of this draft's own writes (null: deleted). */
  ownWrites(): Map<string, StateEntry | null> {
    return new Map(this.writes);
  }

  /** Writes these entries as they are (from ownWrites of a draft over an equal state). */
  putEntries(entries: ReadonlyMap<string, StateEntry | null>): void {
    for (const [k, e] of entries) this.writes.set(k, e);
  }

  get(key: string): CborValue | undefined {
    return this.read(key)?.value;
  }

  put(key: string, value: CborValue): void {
    this.writes.set(key, { bytes: encode(value), value });
  }

  delete(key: string): void {
    this.writes.set(key, null);
  }

  child(): StateDraft {
    return new StateDraft(this.base, this);
  }

  /** Merges a nested draft's writes into its parent. */
  commit(): void {
    if (!this.parent) throw new Error('commit() is for nested drafts; use finish()');
    for (const [k, v] of this.writes) this.parent.writes.set(k, v);
    this.writes.clear();
  }

  /** Changes relative to the base state, in key order, with unchanged rewrites dropped. */
  changes(): StateChange[] {
    if (this.parent) throw new Error('changes() is for top-level drafts');
    const out: StateChange[] = [];
    for (const [key, e] of [...this.writes].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const old = this.base.getBytes(key);
      if (e === null ? old === undefined : old !== undefined && equalBytes(old, e.bytes)) continue;
      out.push({ key, value: e?.bytes ?? null });
    }
    return out;
  }

  /**
   * The accumulator after these changes. The expansion of an entry added here is remembered
   * (`elements`, by default the process's cache), so the block that next changes the key only
   * expands its new value.
   */
  accumulatorAfter(
    hashes: HashSuite,
    changes: readonly StateChange[],
    elements: LtHashElements = ELEMENTS,
  ): LtHash {
    const acc = this.base.accumulatorCopy();
    for (const c of changes) {
      const old = this.base.getBytes(c.key);
      if (old !== undefined) acc.mix(elements.element(hashes, c.key, old), -1);
      if (c.value !== null) acc.mix(elements.added(hashes, c.key, c.value), 1);
    }
    return acc;
  }

  /** Seals the draft into the next state. */
  finish(acc: LtHash, meta: StateMeta): LedgerState {
    if (this.parent) throw new Error('finish() is for top-level drafts');
    return LedgerState.next(this.base, new Map(this.writes), acc, meta);
  }
}
