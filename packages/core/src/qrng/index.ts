/** core/qrng: randomness sources, SP 800-90B health tests, mixing, sampling, beacon, SP 800-22. */
export * from './beacon.js';
export * from './health.js';
export * from './mixer.js';
export * from './monitored.js';
export * from './sample.js';
export * from './source.js';
export * from './special.js';
export * from './stream.js';
export * from './sts.js';
