/** @qledger/core — pure, browser-safe building blocks of qledger. */
export * from './bytes.js';
export * from './codec/index.js';
export * from './consensus/index.js';
export * from './crypto/index.js';
export * from './errors.js';
export * from './ledger/index.js';
export * from './qrng/index.js';
export * from './quantum/index.js';
