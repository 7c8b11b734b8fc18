/**
 * The one registry of domain-separation labels. Every hash, MAC, KDF or signature input in
 * qledger is bound to exactly one of these, so a value computed for one purpose can never be
 * replayed as another. Add a label here, never inline.
 */
import { assertBytes } from '../bytes.js';
import type { HashSuite } from './types.js';

export const DOMAIN = {
  TX_SIGN: 'qledger/v1/tx-sign',
  TX_ID: 'qledger/v1/tx-id',
  BLOCK_HASH: 'qledger/v1/block-hash',
  MERKLE_LEAF: 'qledger/v1/merkle-leaf',
  MERKLE_NODE: 'qledger/v1/merkle-node',
  STATE_ROOT: 'qledger/v1/state-root',
  STATE_ENTRY: 'qledger/v1/state-entry',
  KEY_POP: 'qledger/v1/key-pop',
  CONSENSUS_VOTE: 'qledger/v1/consensus-vote',
  COMMIT_CERT: 'qledger/v1/commit-cert',
  MAC_DIGEST: 'qledger/v1/mac-digest',
  KDF_LINK_FALLBACK: 'qledger/v1/kdf/link-fallback',
  KDF_SESSION: 'qledger/v1/kdf/session',
  LINK_HANDSHAKE: 'qledger/v1/link-handshake',
  BEACON_COMMIT: 'qledger/v1/beacon-commit',
  BEACON_SEED: 'qledger/v1/beacon-seed',
  BEACON_FALLBACK: 'qledger/v1/beacon-fallback',
  QRNG_MIX: 'qledger/v1/qrng-mix',
  QRNG_STREAM: 'qledger/v1/qrng-stream',
  KEYEXCHANGE_AUDIT: 'qledger/v1/keyexchange-audit',
} as const;
export type DomainLabel = (typeof DOMAIN)[keyof typeof DOMAIN];

const LABELS = new Set<string>(Object.values(DOMAIN));
const encodedLabels = new Map<string, Uint8Array>();

/** `len(label) ‖ label` (one length byte): an injective prefix, so (label, data) pairs never collide. */
export function labelPrefix(label: DomainLabel): Uint8Array {
  let p = encodedLabels.get(label);
  if (p === undefined) {
    if (!LABELS.has(label))
      throw new RangeError(`label ${JSON.stringify(label)} is not in the DOMAIN registry`);
    const b = new TextEncoder().encode(label);
    p = new Uint8Array(1 + b.length);
    p[0] = b.length;
    p.set(b, 1);
    encodedLabels.set(label, p);
  }
  return p;
}

/** H_label(data) = SHA3-256(len(label) ‖ label ‖ data). */
export function domainHash(suite: HashSuite, label: DomainLabel, data: Uint8Array): Uint8Array {
  assertBytes('data', data);
  return suite.sha3_256Parts([labelPrefix(label), data]);
}
