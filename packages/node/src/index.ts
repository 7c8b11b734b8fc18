/** @qledger/node — the validator side of qledger. */
export * from './crypto/index.js';
