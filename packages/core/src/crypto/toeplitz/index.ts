export { bytesToWords, toeplitzHash, toeplitzKeyBits, wordsToBytes } from './hash.js';
export {
  MAC_ERRORS,
  type MacMode,
  type MacTag,
  macDigest,
  ToeplitzMac,
  type ToeplitzMacOptions,
} from './mac.js';
export { PAD_ERRORS, PadStream } from './pad-stream.js';
