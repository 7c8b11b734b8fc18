/** A block of signed transactions, as a validator would build it, for tests of block handling. */
import {
  type BlockHeader,
  LEDGER_VERSION,
  nobleBackend,
  nobleHashes,
  type TxEnvelope,
  txRoot,
} from '@qledger/core';
import { type Client, dataTx, registerTx } from '../../src/validator/devnet-driver.js';
import { encodeValue } from '../../src/validator/value.js';

/** `n` data transactions of one newly registered client, and the block value (at `height`) holding them. */
export function signedBlock(n: number, height = 7): { client: Client; txs: TxEnvelope[]; value: Uint8Array } {
  const { client } = registerTx('devnet', `client-${height}`, nobleBackend, nobleHashes);
  const txs = Array.from({ length: n }, (_, i) =>
    dataTx('devnet', client, new TextEncoder().encode(`payload ${i}`), nobleBackend, nobleHashes),
  );
  const header: BlockHeader = {
    v: LEDGER_VERSION,
    chain: 'devnet',
    height,
    prev: new Uint8Array(32),
    time: 1_763_856_000_000,
    txRoot: txRoot(nobleHashes, txs),
    txCount: n,
    stateRoot: new Uint8Array(32),
    proposer: 'v1',
    view: 0,
    beacon: new Uint8Array(0),
  };
  return { client, txs, value: encodeValue({ header, txs }) };
}
