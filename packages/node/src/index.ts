/** @qledger/node — the validator side of qledger. */

export { type Launch, launchPlan } from './cli/devnet-launch.js';
export * from './config/errors.js';
export * from './crypto/index.js';
export * from './http/outbound.js';
export * from './http/ports.js';
export * from './ledger/index.js';
export * from './pki/certs.js';
export * from './pki/dev.js';
export * from './qkd/etsi014.js';
export * from './qrng/index.js';
export * from './storage/index.js';
export * from './validator/devnet-driver.js';
export { PHASES as HEIGHT_PHASES } from './validator/phases.js';
