/** core/ledger: transactions, blocks, state, verification and the mempool (pure). */
export * from './beacon.js';
export * from './block.js';
export * from './errors.js';
export { NAME_RE } from './fields.js';
export * from './genesis.js';
export * from './keys.js';
export * from './lthash.js';
export * from './mempool.js';
export * from './merkle.js';
export * from './records.js';
export type { SigCheck } from './rules.js';
export * from './state.js';
export * from './tx.js';
export * from './types.js';
export * from './verify.js';
