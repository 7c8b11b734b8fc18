export * from './config.js';
export * from './device.js';
export * from './metrics.js';
export * from './remote.js';
