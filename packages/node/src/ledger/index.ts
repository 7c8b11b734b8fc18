export * from './chain-ops.js';
export * from './export.js';
export * from './sig-pool.js';
