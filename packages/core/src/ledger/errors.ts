/**
 * Stable error codes of the ledger: transaction admission, block application, genesis and
 * chain verification. Callers branch on these codes; docs/ledger.md lists every one.
 */
import { QledgerError } from '../errors.js';

export const LEDGER_ERRORS = {
  /** A field is missing, of the wrong type, out of range or unknown; `details.field` names it. */
  TX_MALFORMED: 'TX_MALFORMED',
  TX_TOO_LARGE: 'TX_TOO_LARGE',
  TX_WRONG_CHAIN: 'TX_WRONG_CHAIN',
  TX_BAD_SIGNATURE: 'TX_BAD_SIGNATURE',
  TX_UNKNOWN_SENDER: 'TX_UNKNOWN_SENDER',
  TX_SENDER_REVOKED: 'TX_SENDER_REVOKED',
  TX_ALG_MISMATCH: 'TX_ALG_MISMATCH',
  /** seq below the sender's next sequence number: already used. */
  TX_SEQ_REPLAY: 'TX_SEQ_REPLAY',
  /** seq above the sender's next sequence number: a transaction is missing. */
  TX_SEQ_GAP: 'TX_SEQ_GAP',
  IDENTITY_NAME_TAKEN: 'IDENTITY_NAME_TAKEN',
  IDENTITY_BAD_KEY: 'IDENTITY_BAD_KEY',
  IDENTITY_NO_RECOVERY: 'IDENTITY_NO_RECOVERY',
  IDENTITY_UNKNOWN: 'IDENTITY_UNKNOWN',
  TRUST_UNKNOWN_ACTION: 'TRUST_UNKNOWN_ACTION',
  TRUST_SELF: 'TRUST_SELF',
  TRUST_DUPLICATE: 'TRUST_DUPLICATE',
  DATASET_EXISTS: 'DATASET_EXISTS',
  DATASET_UNKNOWN: 'DATASET_UNKNOWN',
  DATASET_HASH_MISMATCH: 'DATASET_HASH_MISMATCH',
  DATASET_SELF_VERIFY: 'DATASET_SELF_VERIFY',
  DATASET_DUPLICATE_VERIFY: 'DATASET_DUPLICATE_VERIFY',
  KX_SELF: 'KX_SELF',
  KX_BUCKET_RANGE: 'KX_BUCKET_RANGE',
  /** A beacon transaction for an epoch that is not open to it at this height. */
  BEACON_WRONG_EPOCH: 'BEACON_WRONG_EPOCH',
  /** The validator already committed (or revealed) for that epoch. */
  BEACON_DUPLICATE: 'BEACON_DUPLICATE',
  /** A reveal without a commitment on the chain. */
  BEACON_NO_COMMITMENT: 'BEACON_NO_COMMITMENT',
  /** A reveal that does not open the validator's commitment. */
  BEACON_BAD_REVEAL: 'BEACON_BAD_REVEAL',
  BLOCK_MALFORMED: 'BLOCK_MALFORMED',
  BLOCK_WRONG_CHAIN: 'BLOCK_WRONG_CHAIN',
  BLOCK_HEIGHT: 'BLOCK_HEIGHT',
  BLOCK_PREV_HASH: 'BLOCK_PREV_HASH',
  BLOCK_TIME: 'BLOCK_TIME',
  BLOCK_PROPOSER: 'BLOCK_PROPOSER',
  BLOCK_TOO_LARGE: 'BLOCK_TOO_LARGE',
  BLOCK_TX_ROOT: 'BLOCK_TX_ROOT',
  BLOCK_STATE_ROOT: 'BLOCK_STATE_ROOT',
  BLOCK_DUPLICATE_TX: 'BLOCK_DUPLICATE_TX',
  BLOCK_HASH: 'BLOCK_HASH',
  /** header.beacon is not the seed of the block's epoch. */
  BLOCK_BEACON: 'BLOCK_BEACON',
  GENESIS_INVALID: 'GENESIS_INVALID',
  GENESIS_MISMATCH: 'GENESIS_MISMATCH',
  MEMPOOL_FULL: 'MEMPOOL_FULL',
  MEMPOOL_DUPLICATE: 'MEMPOOL_DUPLICATE',
} as const;
export type LedgerErrorCode = (typeof LEDGER_ERRORS)[keyof typeof LEDGER_ERRORS];

export function ledgerError(
  code: LedgerErrorCode,
  message: string,
  details?: Record<string, unknown>,
): QledgerError {
  return new QledgerError(code, message, details);
}
