/** node/storage: the ChainStore interface and its SQLite and PostgreSQL implementations. */
export * from './driver.js';
export * from './open.js';
export { grantOrgReader } from './rls.js';
export { SqlChainStore, STORE_ERRORS } from './sql-store.js';
export type * from './types.js';
