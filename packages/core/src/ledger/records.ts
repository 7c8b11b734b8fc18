/** Typed views of the records the state holds (stored as canonical CBOR maps). */
import type { CborValue } from '../codec/types.js';
import type { KemAlg, SigAlg } from '../crypto/types.js';
import type { EccCurve, Licence } from './types.js';

export interface IdentityRecord {
  readonly name: string;
  readonly sigAlg: SigAlg;
  readonly sigKey: Uint8Array;
  readonly kemAlg: KemAlg;
  readonly kemKey: Uint8Array;
  readonly ecc?: { readonly curve: EccCurve; readonly key: Uint8Array };
  readonly recovery?: { readonly alg: SigAlg; readonly key: Uint8Array };
  readonly meta: Readonly<Record<string, string>>;
  readonly status: 'active' | 'revoked';
  /** Height of registration (0 for genesis identities). */
  readonly registered: number;
  /** Incremented by every rotation. */
  readonly keyVersion: number;
  readonly rotated?: number;
  readonly revoked?: number;
  readonly revokeReason?: string;
}

export interface DatasetRecord {
  readonly id: string;
  readonly name: string;
  readonly licence: Licence;
  readonly contentHash: Uint8Array;
  readonly quality: number;
  readonly owner: string;
  readonly registered: number;
  readonly verified: boolean;
  readonly verifications: number;
  readonly lastVerifiedBy?: string;
  readonly lastVerifiedAt?: number;
}

export interface ValidatorRecord {
  readonly name: string;
  readonly sigAlg: SigAlg;
  readonly sigKey: Uint8Array;
}

/** Records are written by the rules themselves, so reading them back is a cast, not a parse. */
export function asRecord<T>(v: CborValue | undefined): T | undefined {
  return v as T | undefined;
}

export function toCbor(v: object): CborValue {
  return v as CborValue;
}
