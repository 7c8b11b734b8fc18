/**
 * The one storage interface of a validator. A block is appended together with its state
 * changes in one database transaction: after a crash the store holds either the whole
 * block or none of it. Implementations: SQLite (embedded default) and PostgreSQL; both pass
 * test/storage-compliance.
 */
import type {
  Block,
  DatasetRecord,
  GenesisConfig,
  IdentityRecord,
  LedgerState,
  StateChange,
} from '@qledger/core';

export interface BlockCommit {
  readonly block: Block;
  readonly hash: Uint8Array;
  readonly changes: readonly StateChange[];
  /** The state after the block (its accumulator is saved; organisations are looked up in it). */
  readonly state: LedgerState;
  /** The block's commit certificate (encodeCert), when consensus produced it. */
  readonly cert?: Uint8Array;
}

export interface StoredBlock {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly headerBytes: Uint8Array;
  readonly txs: readonly Uint8Array[];
  /** The commit certificate, or null (genesis, imported chains). */
  readonly cert: Uint8Array | null;
}

export interface StoredTx {
  readonly id: Uint8Array;
  readonly height: number;
  readonly index: number;
  readonly kind: string;
  readonly sender: string;
  readonly bytes: Uint8Array;
}

export interface ChainHead {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly time: number;
}

export interface StoreStats {
  readonly height: number;
  readonly blocks: number;
  readonly transactions: number;
  readonly identities: number;
  readonly datasets: number;
}

export interface DatasetQuery {
  /** Case-insensitive substring of the id or name. */
  readonly search?: string;
  readonly limit?: number;
  /** Cursor: the last id of the previous page. */
  readonly after?: string;
}

export interface LoadedState {
  readonly entries: [string, Uint8Array][];
  readonly accumulator: Uint8Array;
  readonly head: ChainHead;
}

export interface ChainStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates the schema (migrations) if needed; does not write a genesis. */
  migrate(): Promise<void>;
  /** Writes genesis (block 0, its state, and the config text it was built from). */
  initGenesis(genesisText: string, commit: BlockCommit): Promise<void>;
  /** The genesis config text, or null for an empty store. */
  genesisText(): Promise<string | null>;
  head(): Promise<ChainHead | null>;
  /**
   * Appends the next block atomically; STORE_CONFLICT when it does not extend the head.
   * `durable: false` does not wait for the disk: a power loss (never a process crash) may
   * take the block back off, whole, until the store's next durable write returns. A validator
   * appends decided blocks so, since peers hold them and its next vote is a durable write.
   */
  append(commit: BlockCommit, opts?: { durable?: boolean }): Promise<void>;
  blockByHeight(height: number): Promise<StoredBlock | null>;
  blockByHash(hash: Uint8Array): Promise<StoredBlock | null>;
  /** Blocks from `from` to `to` inclusive, in order, read in pages. */
  blocks(from: number, to: number): AsyncIterable<StoredBlock>;
  transaction(id: Uint8Array): Promise<StoredTx | null>;
  identity(name: string): Promise<IdentityRecord | null>;
  trustScore(name: string): Promise<number | null>;
  dataset(id: string): Promise<DatasetRecord | null>;
  datasets(q: DatasetQuery): Promise<DatasetRecord[]>;
  stats(): Promise<StoreStats>;
  loadState(): Promise<LoadedState | null>;
  /** The consensus crash snapshot (encodeSnapshot), replaced as a whole. */
  saveConsensus(snapshot: Uint8Array): Promise<void>;
  consensus(): Promise<Uint8Array | null>;
  /**
   * Node-local records, never part of the chain or of any API answer (the beacon's value and
   * salt between commitment and reveal): each key set, or deleted where `null`, all in one
   * transaction.
   */
  saveLocal(changes: Readonly<Record<string, Uint8Array | null>>): Promise<void>;
  local(key: string): Promise<Uint8Array | null>;
  /**
   * Records QKD key_IDs as used on `link`, all or none; STORE_KEY_REUSED (and nothing
   * recorded) when one of them was recorded before.
   */
  recordKeyIds(link: string, keyIds: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export type { GenesisConfig };
