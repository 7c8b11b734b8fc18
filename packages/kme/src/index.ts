/** ETSI GS QKD 014 KME simulator, QKD link model, key relay and admin API (docs/qkd.md). */
export * from './admin.js';
export * from './config.js';
export * from './etsi-server.js';
export * from './kme.js';
export * from './model.js';
export * from './peer.js';
export * from './run.js';
export * from './store.js';
export * from './transport.js';
