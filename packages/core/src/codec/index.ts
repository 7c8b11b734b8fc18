export { type DecodeOptions, decode, withoutMapKey } from './decode.js';
export { encode } from './encode.js';
export { type CborMap, type CborValue, CODEC_ERRORS } from './types.js';
