export * from './client.js';
export * from './errors.js';
export * from './openapi.js';
export * from './routes.js';
export * as schemas from './schemas.js';
