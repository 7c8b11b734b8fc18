export * from './leader.js';
export * from './machine.js';
export * from './types.js';
export * from './wire.js';
