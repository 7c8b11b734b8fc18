/**
 * Commit–reveal randomness beacon for the consensus leader order (ARCHITECTURE.md,
 * "Consensus"). Each validator draws a 32-byte value from its QRNG mix and a 32-byte salt,
 * publishes
 *
 *   commitment = H_"qledger/v1/beacon-commit"( CBOR[chainId, epoch, validator, value, salt] )
 *
 * and, once the commitments are fixed, reveals (value, salt). The seed is
 *
 *   seed = H_"qledger/v1/beacon-seed"( CBOR[chainId, epoch, [[validator, value]…]] )
 *
 * over at least `threshold` (2f + 1) valid reveals, sorted by validator. Binding the
 * commitment to chain, epoch and validator stops a validator from copying another's
 * commitment (which with an XOR combiner would cancel it) or replaying an old one. Because
 * every value is fixed before any is revealed, no single contributor can choose the seed
 * while the others are honest; a contributor can only withhold its reveal, which the caller
 * must treat as a protocol fault (see docs/qrng.md for the residual bias this leaves).
 */
import { assertBytes, assertInt, equalBytes } from '../bytes.js';
import { encode } from '../codec/index.js';
import { DOMAIN, domainHash } from '../crypto/domain.js';
import { nobleHashes } from '../crypto/hash-noble.js';
import type { HashSuite } from '../crypto/types.js';
import { QledgerError } from '../errors.js';

export const BEACON_VALUE_BYTES = 32;
export const BEACON_SALT_BYTES = 32;

export interface BeaconContext {
  readonly chainId: string;
  readonly epoch: number;
}

export interface BeaconReveal {
  readonly validator: string;
  readonly value: Uint8Array;
  readonly salt: Uint8Array;
}

function checkCtx(ctx: BeaconContext): void {
  if (typeof ctx?.chainId !== 'string' || ctx.chainId.length === 0)
    throw new TypeError('ctx.chainId must be a non-empty string');
  assertInt('ctx.epoch', ctx.epoch, 0, Number.MAX_SAFE_INTEGER);
}

function checkValidator(v: unknown): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) throw new TypeError('validator must be a non-empty string');
}

/** The commitment a validator publishes for (value, salt) in this chain and epoch. */
export function beaconCommit(
  ctx: BeaconContext,
  validator: string,
  value: Uint8Array,
  salt: Uint8Array,
  hashes: HashSuite = nobleHashes,
): Uint8Array {
  checkCtx(ctx);
  checkValidator(validator);
  assertBytes('value', value, BEACON_VALUE_BYTES);
  assertBytes('salt', salt, BEACON_SALT_BYTES);
  return domainHash(hashes, DOMAIN.BEACON_COMMIT, encode([ctx.chainId, ctx.epoch, validator, value, salt]));
}

/** True when (value, salt) opens `commitment` for this validator, chain and epoch. */
export function beaconVerify(
  ctx: BeaconContext,
  commitment: Uint8Array,
  reveal: BeaconReveal,
  hashes: HashSuite = nobleHashes,
): boolean {
  assertBytes('commitment', commitment, 32);
  return equalBytes(beaconCommit(ctx, reveal.validator, reveal.value, reveal.salt, hashes), commitment);
}

/**
 * The epoch seed from the committed set and the reveals. Every reveal must come from a
 * committed validator, at most once, and open its commitment; at least `threshold` are needed.
 * Throws QRNG_BEACON_UNKNOWN_VALIDATOR, QRNG_BEACON_DUPLICATE_REVEAL, QRNG_BEACON_BAD_REVEAL
 * or QRNG_BEACON_QUORUM, naming the validator.
 */
export function beaconSeed(
  ctx: BeaconContext,
  commitments: ReadonlyMap<string, Uint8Array>,
  reveals: readonly BeaconReveal[],
  threshold: number,
  hashes: HashSuite = nobleHashes,
): Uint8Array {
  checkCtx(ctx);
  if (!(commitments instanceof Map))
    throw new TypeError('commitments must be a Map of validator → commitment');
  assertInt('threshold', threshold, 1, Math.max(1, commitments.size));
  const seen = new Map<string, Uint8Array>();
  for (const r of reveals) {
    checkValidator(r?.validator);
    const c = commitments.get(r.validator);
    if (c === undefined) {
      throw new QledgerError(
        'QRNG_BEACON_UNKNOWN_VALIDATOR',
        `validator ${r.validator} revealed without a commitment`,
        {
          validator: r.validator,
        },
      );
    }
    if (seen.has(r.validator)) {
      throw new QledgerError('QRNG_BEACON_DUPLICATE_REVEAL', `validator ${r.validator} revealed twice`, {
        validator: r.validator,
      });
    }
    if (!beaconVerify(ctx, c, r, hashes)) {
      throw new QledgerError(
        'QRNG_BEACON_BAD_REVEAL',
        `reveal of validator ${r.validator} does not open its commitment`,
        {
          validator: r.validator,
        },
      );
    }
    seen.set(r.validator, r.value);
  }
  if (seen.size < threshold) {
    throw new QledgerError('QRNG_BEACON_QUORUM', `${seen.size} valid reveals, ${threshold} needed`, {
      reveals: seen.size,
      threshold,
    });
  }
  const sorted = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return domainHash(
    hashes,
    DOMAIN.BEACON_SEED,
    encode([ctx.chainId, ctx.epoch, sorted.map(([v, x]) => [v, x])]),
  );
}
