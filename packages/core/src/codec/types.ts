/** Values the canonical codec carries. Floats, tags and undefined are deliberately absent. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | readonly CborValue[]
  | CborMap
  | { readonly [key: string]: CborValue | undefined };

/** A map with integer or text keys; decoded maps whose keys are all text become plain objects. */
export type CborMap = ReadonlyMap<number | bigint | string, CborValue>;

export const CODEC_ERRORS = {
  TRUNCATED: 'CODEC_TRUNCATED',
  NON_CANONICAL: 'CODEC_NON_CANONICAL',
  UNSUPPORTED: 'CODEC_UNSUPPORTED',
  TRAILING_BYTES: 'CODEC_TRAILING_BYTES',
  INVALID_UTF8: 'CODEC_INVALID_UTF8',
  TOO_DEEP: 'CODEC_TOO_DEEP',
  DUPLICATE_KEY: 'CODEC_DUPLICATE_KEY',
} as const;
