/**
 * Binary Merkle tree over transactions with domain-separated SHA3-256:
 * leaf = H(MERKLE_LEAF, tx bytes), node = H(MERKLE_NODE, left ‖ right). An odd node at the
 * end of a level is promoted unchanged rather than paired with itself, so no two different
 * transaction lists share a root (the duplicated-last-leaf malleability of Bitcoin's tree,
 * CVE-2012-2459, cannot arise). The root of no transactions is H(MERKLE_NODE, "").
 */
import { equalBytes } from '../bytes.js';
import { DOMAIN, domainHash, labelPrefix } from '../crypto/domain.js';
import type { HashSuite } from '../crypto/types.js';
import type { TxEnvelope } from './types.js';

export function merkleLeaf(hashes: HashSuite, data: Uint8Array): Uint8Array {
  return domainHash(hashes, DOMAIN.MERKLE_LEAF, data);
}

function node(hashes: HashSuite, l: Uint8Array, r: Uint8Array): Uint8Array {
  return hashes.sha3_256Parts([labelPrefix(DOMAIN.MERKLE_NODE), l, r]); // = H(MERKLE_NODE, l ‖ r)
}

/** Root over already-hashed leaves. */
export function merkleRootOfLeaves(hashes: HashSuite, leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return domainHash(hashes, DOMAIN.MERKLE_NODE, new Uint8Array(0));
  let level = leaves.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(node(hashes, level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/**
 * Each envelope's leaf, once hashed. An envelope's bytes never change (decodeTx and signTx make
 * them and nothing writes to them), and every hash suite computes the same SHA3-256, so a
 * validator that hashed a transaction on admission reuses the leaf when it builds or checks a
 * block: about 6 µs saved per 2.5 KB transaction and block.
 */
const leaves = new WeakMap<TxEnvelope, Uint8Array>();

/** merkleLeaf(hashes, env.bytes), remembered for the envelope. */
export function txLeaf(hashes: HashSuite, env: TxEnvelope): Uint8Array {
  let leaf = leaves.get(env);
  if (!leaf) {
    leaf = merkleLeaf(hashes, env.bytes);
    leaves.set(env, leaf);
  }
  return leaf;
}

/** The root over transactions: merkleRoot of their bytes, from their remembered leaves. */
export function txRoot(hashes: HashSuite, txs: readonly TxEnvelope[]): Uint8Array {
  return merkleRootOfLeaves(
    hashes,
    txs.map((t) => txLeaf(hashes, t)),
  );
}

export function merkleRoot(hashes: HashSuite, items: readonly Uint8Array[]): Uint8Array {
  return merkleRootOfLeaves(
    hashes,
    items.map((d) => merkleLeaf(hashes, d)),
  );
}

export interface MerkleStep {
  readonly side: 'left' | 'right';
  readonly hash: Uint8Array;
}

/** Inclusion proof for item `index`: the sibling hashes from the leaf up. */
export function merkleProof(hashes: HashSuite, items: readonly Uint8Array[], index: number): MerkleStep[] {
  if (!Number.isInteger(index) || index < 0 || index >= items.length)
    throw new RangeError(`index must be in [0, ${items.length - 1}], got ${index}`);
  let level = items.map((d) => merkleLeaf(hashes, d));
  let i = index;
  const proof: MerkleStep[] = [];
  while (level.length > 1) {
    const sib = i ^ 1;
    if (sib < level.length) proof.push({ side: sib < i ? 'left' : 'right', hash: level[sib]! });
    const next: Uint8Array[] = [];
    for (let j = 0; j + 1 < level.length; j += 2) next.push(node(hashes, level[j]!, level[j + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
    i >>= 1;
  }
  return proof;
}

export function verifyMerkleProof(
  hashes: HashSuite,
  root: Uint8Array,
  item: Uint8Array,
  proof: readonly MerkleStep[],
): boolean {
  let h = merkleLeaf(hashes, item);
  for (const s of proof) h = s.side === 'left' ? node(hashes, s.hash, h) : node(hashes, h, s.hash);
  return equalBytes(h, root);
}
