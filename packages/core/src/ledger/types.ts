/**
 * Ledger data model: transactions, blocks and chain parameters. Everything hashed or signed
 * is encoded with the canonical codec (deterministic CBOR, core/codec).
 */
import type { KemAlg, SigAlg } from '../crypto/types.js';

export const LEDGER_VERSION = 1;

export const TX_KINDS = [
  'data',
  'identity.register',
  'identity.rotate',
  'identity.revoke',
  'trust.record',
  'dataset.register',
  'dataset.verify',
  'keyexchange.record',
  'beacon.commit',
  'beacon.reveal',
] as const;
export type TxKind = (typeof TX_KINDS)[number];

/**
 * Trust deltas of the trust-network reference, in parts per million (fixed point, so every
 * node computes bit-identical scores): interaction +0.01, rating +0.03, verification +0.02,
 * community connection +0.05. Scores start at 0.5 and are clamped to [0, 1].
 */
export const TRUST_ACTIONS = {
  interaction: 10_000,
  rating: 30_000,
  verification: 20_000,
  connection: 50_000,
} as const;
export type TrustAction = keyof typeof TRUST_ACTIONS;
export const TRUST_SCALE = 1_000_000;
export const TRUST_START = 500_000;

/** Dataset licences (SPDX identifiers, plus `proprietary`). */
export const LICENCES = [
  'CC0-1.0',
  'CC-BY-4.0',
  'CC-BY-SA-4.0',
  'CC-BY-NC-4.0',
  'ODbL-1.0',
  'MIT',
  'Apache-2.0',
  'proprietary',
] as const;
export type Licence = (typeof LICENCES)[number];

export const ECC_CURVES = ['p-256', 'x25519'] as const;
export type EccCurve = (typeof ECC_CURVES)[number];

/** Key-exchange audit records use 5-minute time buckets (the QFLARE reference's rotation period). */
export const KX_BUCKET_MS = 300_000;
/** A recorded bucket must lie within this many buckets of the block's own time. */
export const KX_BUCKET_SLACK = 12;

export interface DataBody {
  readonly payload: Uint8Array;
  /** Optional media type, e.g. `application/json`. */
  readonly type?: string;
}

export interface PublicKeyRef<A extends string> {
  readonly alg: A;
  readonly key: Uint8Array;
}

/** `from` is the new name; the transaction is signed with the key being registered (proof of possession). */
export interface RegisterBody {
  readonly sigKey: Uint8Array;
  readonly kemAlg: KemAlg;
  readonly kemKey: Uint8Array;
  readonly ecc?: { readonly curve: EccCurve; readonly key: Uint8Array };
  /** Key allowed to revoke the identity in an emergency; keep it offline. */
  readonly recovery?: PublicKeyRef<SigAlg>;
  readonly meta: Readonly<Record<string, string>>;
}

/** Signed with the current key; `pop` is the new key's signature over the rotation (keyPopMessage). */
export interface RotateBody {
  readonly sigAlg: SigAlg;
  readonly sigKey: Uint8Array;
  readonly pop: Uint8Array;
  readonly kemAlg?: KemAlg;
  readonly kemKey?: Uint8Array;
}

export interface RevokeBody {
  /** `recovery`: signed with the registered recovery key; `self`: with the current key. */
  readonly by: 'self' | 'recovery';
  readonly reason: string;
}

export interface TrustBody {
  /** The identity whose score changes; never the sender. */
  readonly user: string;
  readonly action: string;
  readonly target: string;
}

export interface DatasetRegisterBody {
  readonly id: string;
  readonly name: string;
  readonly licence: Licence;
  /** SHA3-256 of the dataset's content. */
  readonly contentHash: Uint8Array;
  /** Quality score in parts per million ([0, 1] × 10⁶). */
  readonly quality: number;
}

export interface DatasetVerifyBody {
  readonly id: string;
  /** The hash the verifier computed over the content it fetched. */
  readonly contentHash: Uint8Array;
}

export interface KeyExchangeBody {
  readonly peer: string;
  readonly alg: KemAlg | 'qkd-etsi014';
  /** floor(unix ms / KX_BUCKET_MS). */
  readonly bucket: number;
  /** keyIdsCommitment(...): a salted hash of the key_IDs, never a key. */
  readonly commitment: Uint8Array;
}

/**
 * A validator's commitment to its QRNG contribution to the leader order of `epoch`, sent
 * two epochs ahead (ledger/beacon.ts). Sent by a validator (`from` is its name), with seq 0.
 */
export interface BeaconCommitBody {
  readonly epoch: number;
  /** beaconCommit(chain, epoch, validator, value, salt). */
  readonly commitment: Uint8Array;
}

/** The opening of a commitment, sent in the epoch before `epoch`. */
export interface BeaconRevealBody {
  readonly epoch: number;
  readonly value: Uint8Array;
  readonly salt: Uint8Array;
}

export interface TxBodies {
  data: DataBody;
  'identity.register': RegisterBody;
  'identity.rotate': RotateBody;
  'identity.revoke': RevokeBody;
  'trust.record': TrustBody;
  'dataset.register': DatasetRegisterBody;
  'dataset.verify': DatasetVerifyBody;
  'keyexchange.record': KeyExchangeBody;
  'beacon.commit': BeaconCommitBody;
  'beacon.reveal': BeaconRevealBody;
}

interface TxOf<K extends TxKind> {
  readonly v: typeof LEDGER_VERSION;
  readonly chain: string;
  readonly kind: K;
  readonly from: string;
  /** Per-sender sequence number: 0 for identity.register, then +1 for each transaction. */
  readonly seq: number;
  readonly alg: SigAlg;
  readonly body: TxBodies[K];
}
/** A transaction before signing. */
export type UnsignedTx = { [K in TxKind]: TxOf<K> }[TxKind];
export type Tx = UnsignedTx & { readonly sig: Uint8Array };

/** A decoded, validated transaction with its canonical bytes and id. */
export interface TxEnvelope {
  readonly tx: Tx;
  /** Canonical encoding of the whole signed transaction: the Merkle leaf input. */
  readonly bytes: Uint8Array;
  /** H(TX_ID, encoding without the signature): stable whatever the (hedged) signature. */
  readonly id: Uint8Array;
  /** What the sender signed: labelPrefix(TX_SIGN) ‖ encoding without the signature. */
  readonly signingBytes: Uint8Array;
}

export interface BlockHeader {
  readonly v: typeof LEDGER_VERSION;
  readonly chain: string;
  readonly height: number;
  readonly prev: Uint8Array;
  /** Unix milliseconds, never below the parent's. */
  readonly time: number;
  readonly txRoot: Uint8Array;
  readonly txCount: number;
  readonly stateRoot: Uint8Array;
  /** Validator name; empty for genesis. */
  readonly proposer: string;
  /** Consensus round data: the view in which the block was proposed. */
  readonly view: number;
  /**
   * The seed of the leader order of this block's epoch (ledger/beacon.ts), 32 bytes; empty in
   * the first two epochs, whose order comes from the genesis hash.
   */
  readonly beacon: Uint8Array;
}

export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly TxEnvelope[];
}

/** Chain-wide limits, fixed in genesis. */
export interface LedgerParams {
  readonly maxTxBytes: number;
  readonly maxDataBytes: number;
  readonly maxBlockTxs: number;
  readonly maxBlockBytes: number;
  /** Heights per leader-order epoch (ledger/beacon.ts). */
  readonly epochLength: number;
}

export const DEFAULT_PARAMS: LedgerParams = {
  maxTxBytes: 65_536,
  maxDataBytes: 16_384,
  maxBlockTxs: 10_000,
  maxBlockBytes: 32 * 1024 * 1024,
  epochLength: 64,
};

export interface Validator {
  readonly name: string;
  readonly sigAlg: SigAlg;
  readonly sigKey: Uint8Array;
}
