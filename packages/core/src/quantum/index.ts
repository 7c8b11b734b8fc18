/** core/quantum: a state-vector circuit simulator for small registers. */
export * from './state.js';
