/**
 * The state transition of one transaction. Order of checks: sender, sequence number,
 * algorithm, signature, then the kind's own rules; the first failure throws a coded
 * QledgerError and the caller drops the transaction's draft, so a rejected transaction
 * changes nothing.
 */
import { equalBytes, toHex } from '../bytes.js';
import type { CryptoBackend, HashSuite, SigAlg } from '../crypto/types.js';
import { beaconVerify } from '../qrng/beacon.js';
import {
  type BeaconTx,
  epochLength,
  epochOf,
  FIRST_BEACON_EPOCH,
  isBeaconTx,
  seedFixedAt,
} from './beacon.js';
import { LEDGER_ERRORS as E, ledgerError } from './errors.js';
import { STATE_KEYS as K } from './keys.js';
import {
  asRecord,
  type DatasetRecord,
  type IdentityRecord,
  toCbor,
  type ValidatorRecord,
} from './records.js';
import type { StateDraft } from './state.js';
import { keyPopMessage, publicKeyOk } from './tx.js';
import {
  KX_BUCKET_MS,
  KX_BUCKET_SLACK,
  type LedgerParams,
  TRUST_ACTIONS,
  TRUST_SCALE,
  TRUST_START,
  type TxBodies,
  type TxEnvelope,
} from './types.js';

/** A signature check postponed so a caller can run many in parallel (chain verification). */
export interface SigCheck {
  readonly alg: SigAlg;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** Index of the transaction in its block. */
  readonly index: number;
}

export interface TxContext {
  readonly chain: string;
  readonly params: LedgerParams;
  readonly height: number;
  /** The block's time (unix ms). */
  readonly time: number;
  readonly hashes: HashSuite;
  readonly crypto: CryptoBackend;
  /** When set, signatures are appended here instead of checked. */
  readonly deferred?: SigCheck[];
  /**
   * The transaction's index in its block, for SigCheck.index only: the mempool replays a
   * transaction without regard to it (mempool.ts), so no rule may depend on it otherwise.
   */
  readonly index: number;
}

function identity(d: StateDraft, name: string): IdentityRecord | undefined {
  return asRecord<IdentityRecord>(d.get(K.identity(name)));
}

function activeIdentity(d: StateDraft, name: string, field: string): IdentityRecord {
  const id = identity(d, name);
  if (id?.status !== 'active')
    throw ledgerError(E.IDENTITY_UNKNOWN, `${field}: no active identity named ${name}`, { field, name });
  return id;
}

function checkSig(
  ctx: TxContext,
  alg: SigAlg,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  what: string,
) {
  if (ctx.deferred) {
    ctx.deferred.push({ alg, publicKey, message, signature, index: ctx.index });
    return;
  }
  if (!ctx.crypto.signer(alg).verify(signature, message, publicKey))
    throw ledgerError(E.TX_BAD_SIGNATURE, `${what} does not verify`, { alg });
}

function checkKey(kind: 'sig' | 'kem' | 'ecc', alg: string, key: Uint8Array, field: string) {
  if (!publicKeyOk(kind, alg, key))
    throw ledgerError(E.IDENTITY_BAD_KEY, `${field}: not a valid ${alg} public key (${key.length} bytes)`, {
      field,
    });
}

function bumpTrust(d: StateDraft, user: string, delta: number) {
  const cur = (d.get(K.trust(user)) as number | undefined) ?? TRUST_START;
  d.put(K.trust(user), Math.min(TRUST_SCALE, Math.max(0, cur + delta)));
}

/** Applies one transaction to `d`; throws a coded QledgerError when it is invalid. */
export function applyTx(d: StateDraft, env: TxEnvelope, ctx: TxContext): void {
  const { tx } = env;
  if (tx.chain !== ctx.chain)
    throw ledgerError(E.TX_WRONG_CHAIN, `transaction is for chain ${tx.chain}, not ${ctx.chain}`, {
      chain: tx.chain,
    });
  if (tx.kind === 'data' && tx.body.payload.length > ctx.params.maxDataBytes)
    throw ledgerError(E.TX_TOO_LARGE, `data payload exceeds ${ctx.params.maxDataBytes} bytes`, {
      field: 'tx.body.payload',
    });
  if (env.bytes.length > ctx.params.maxTxBytes)
    throw ledgerError(E.TX_TOO_LARGE, `transaction exceeds ${ctx.params.maxTxBytes} bytes`, {
      size: env.bytes.length,
    });

  if (tx.kind === 'identity.register') {
    if (d.get(K.identity(tx.from)) !== undefined)
      throw ledgerError(E.IDENTITY_NAME_TAKEN, `the name ${tx.from} is taken`, { name: tx.from });
    if (tx.seq !== 0)
      throw ledgerError(E.TX_SEQ_GAP, `identity.register must have seq 0, got ${tx.seq}`, {
        expected: 0,
        seq: tx.seq,
      });
    const b = tx.body;
    checkKey('sig', tx.alg, b.sigKey, 'tx.body.sigKey');
    checkKey('kem', b.kemAlg, b.kemKey, 'tx.body.kemKey');
    if (b.ecc) checkKey('ecc', b.ecc.curve, b.ecc.key, 'tx.body.ecc.key');
    if (b.recovery) checkKey('sig', b.recovery.alg, b.recovery.key, 'tx.body.recovery.key');
    // Proof of possession: the registration is signed by the key it registers.
    checkSig(ctx, tx.alg, b.sigKey, env.signingBytes, tx.sig, 'signature');
    const rec: IdentityRecord = {
      name: tx.from,
      sigAlg: tx.alg,
      sigKey: b.sigKey,
      kemAlg: b.kemAlg,
      kemKey: b.kemKey,
      ...(b.ecc ? { ecc: b.ecc } : {}),
      ...(b.recovery ? { recovery: b.recovery } : {}),
      meta: b.meta,
      status: 'active',
      registered: ctx.height,
      keyVersion: 1,
    };
    d.put(K.identity(tx.from), toCbor(rec));
    d.put(K.seq(tx.from), 1);
    d.put(K.trust(tx.from), TRUST_START);
    return;
  }

  if (isBeaconTx(tx)) {
    applyBeacon(d, tx, env, ctx);
    return;
  }

  const sender = identity(d, tx.from);
  if (!sender) throw ledgerError(E.TX_UNKNOWN_SENDER, `no identity named ${tx.from}`, { from: tx.from });
  if (sender.status !== 'active')
    throw ledgerError(E.TX_SENDER_REVOKED, `identity ${tx.from} is revoked`, { from: tx.from });
  const next = (d.get(K.seq(tx.from)) as number | undefined) ?? 0;
  if (tx.seq < next)
    throw ledgerError(E.TX_SEQ_REPLAY, `seq ${tx.seq} of ${tx.from} is already used (next is ${next})`, {
      expected: next,
      seq: tx.seq,
    });
  if (tx.seq > next)
    throw ledgerError(E.TX_SEQ_GAP, `seq ${tx.seq} of ${tx.from} skips ahead (next is ${next})`, {
      expected: next,
      seq: tx.seq,
    });

  const byRecovery = tx.kind === 'identity.revoke' && tx.body.by === 'recovery';
  if (byRecovery && !sender.recovery)
    throw ledgerError(E.IDENTITY_NO_RECOVERY, `identity ${tx.from} has no recovery key`, { from: tx.from });
  const key = byRecovery ? sender.recovery! : { alg: sender.sigAlg, key: sender.sigKey };
  if (tx.alg !== key.alg)
    throw ledgerError(
      E.TX_ALG_MISMATCH,
      `tx.alg is ${tx.alg} but the ${byRecovery ? 'recovery' : 'signing'} key is ${key.alg}`,
      {
        field: 'tx.alg',
      },
    );
  checkSig(ctx, tx.alg, key.key, env.signingBytes, tx.sig, 'signature');
  d.put(K.seq(tx.from), next + 1);

  switch (tx.kind) {
    case 'data':
      return;
    case 'identity.rotate':
      rotate(d, sender, tx.body, tx.seq, ctx);
      return;
    case 'identity.revoke': {
      const rec: IdentityRecord = {
        ...sender,
        status: 'revoked',
        revoked: ctx.height,
        revokeReason: tx.body.reason,
      };
      d.put(K.identity(tx.from), toCbor(rec));
      return;
    }
    case 'trust.record': {
      const b = tx.body;
      if (!Object.hasOwn(TRUST_ACTIONS, b.action))
        throw ledgerError(
          E.TRUST_UNKNOWN_ACTION,
          `unknown trust action ${JSON.stringify(b.action)}; known: ${Object.keys(TRUST_ACTIONS).join(', ')}`,
          {
            field: 'tx.body.action',
          },
        );
      if (b.user === tx.from)
        throw ledgerError(E.TRUST_SELF, 'an identity cannot record trust for itself', {
          field: 'tx.body.user',
        });
      activeIdentity(d, b.user, 'tx.body.user');
      const evKey = K.trustEvent(tx.from, b.user, b.action, b.target);
      if (d.get(evKey) !== undefined)
        throw ledgerError(
          E.TRUST_DUPLICATE,
          `${tx.from} already recorded ${b.action} on ${b.target} for ${b.user}`,
          {
            field: 'tx.body',
          },
        );
      d.put(evKey, ctx.height);
      bumpTrust(d, b.user, TRUST_ACTIONS[b.action as keyof typeof TRUST_ACTIONS]);
      return;
    }
    case 'dataset.register': {
      const b = tx.body;
      if (d.get(K.dataset(b.id)) !== undefined)
        throw ledgerError(E.DATASET_EXISTS, `dataset ${b.id} is already registered`, { field: 'tx.body.id' });
      const rec: DatasetRecord = {
        id: b.id,
        name: b.name,
        licence: b.licence,
        contentHash: b.contentHash,
        quality: b.quality,
        owner: tx.from,
        registered: ctx.height,
        verified: false,
        verifications: 0,
      };
      d.put(K.dataset(b.id), toCbor(rec));
      return;
    }
    case 'dataset.verify': {
      const b = tx.body;
      const ds = asRecord<DatasetRecord>(d.get(K.dataset(b.id)));
      if (!ds) throw ledgerError(E.DATASET_UNKNOWN, `no dataset ${b.id}`, { field: 'tx.body.id' });
      if (ds.owner === tx.from)
        throw ledgerError(E.DATASET_SELF_VERIFY, 'the owner cannot verify its own dataset', {
          field: 'tx.from',
        });
      if (!equalBytes(ds.contentHash, b.contentHash))
        throw ledgerError(
          E.DATASET_HASH_MISMATCH,
          `content hash ${toHex(b.contentHash)} differs from the registered one`,
          {
            field: 'tx.body.contentHash',
          },
        );
      const vKey = K.datasetVerifier(b.id, tx.from);
      if (d.get(vKey) !== undefined)
        throw ledgerError(E.DATASET_DUPLICATE_VERIFY, `${tx.from} already verified ${b.id}`, {
          field: 'tx.body.id',
        });
      d.put(vKey, ctx.height);
      const rec: DatasetRecord = {
        ...ds,
        verified: true,
        verifications: ds.verifications + 1,
        lastVerifiedBy: tx.from,
        lastVerifiedAt: ctx.height,
      };
      d.put(K.dataset(b.id), toCbor(rec));
      return;
    }
    case 'keyexchange.record': {
      const b = tx.body;
      if (b.peer === tx.from)
        throw ledgerError(E.KX_SELF, 'a key exchange needs two parties', { field: 'tx.body.peer' });
      activeIdentity(d, b.peer, 'tx.body.peer');
      const blockBucket = Math.floor(ctx.time / KX_BUCKET_MS);
      if (Math.abs(b.bucket - blockBucket) > KX_BUCKET_SLACK)
        throw ledgerError(
          E.KX_BUCKET_RANGE,
          `bucket ${b.bucket} is more than ${KX_BUCKET_SLACK} buckets from the block's ${blockBucket}`,
          {
            field: 'tx.body.bucket',
          },
        );
      // The record lives in the block (an audit log); the state only advances the sequence number.
      return;
    }
  }
}

function rotate(
  d: StateDraft,
  sender: IdentityRecord,
  b: TxBodies['identity.rotate'],
  seq: number,
  ctx: TxContext,
) {
  checkKey('sig', b.sigAlg, b.sigKey, 'tx.body.sigKey');
  if (b.kemAlg !== undefined && b.kemKey !== undefined) checkKey('kem', b.kemAlg, b.kemKey, 'tx.body.kemKey');
  checkSig(
    ctx,
    b.sigAlg,
    b.sigKey,
    keyPopMessage(ctx.chain, sender.name, seq, b.sigAlg, b.sigKey),
    b.pop,
    'tx.body.pop',
  );
  const rec: IdentityRecord = {
    ...sender,
    sigAlg: b.sigAlg,
    sigKey: b.sigKey,
    ...(b.kemAlg !== undefined && b.kemKey !== undefined ? { kemAlg: b.kemAlg, kemKey: b.kemKey } : {}),
    keyVersion: sender.keyVersion + 1,
    rotated: ctx.height,
  };
  d.put(K.identity(sender.name), toCbor(rec));
}

/**
 * beacon.commit and beacon.reveal (ledger/beacon.ts): sent by a validator, signed with its
 * genesis key, seq 0 (the (epoch, validator) record is what stops a replay).
 */
function applyBeacon(d: StateDraft, tx: BeaconTx, env: TxEnvelope, ctx: TxContext): void {
  const val = asRecord<ValidatorRecord>(d.get(K.validator(tx.from)));
  if (!val) throw ledgerError(E.TX_UNKNOWN_SENDER, `no validator named ${tx.from}`, { from: tx.from });
  if (tx.alg !== val.sigAlg)
    throw ledgerError(E.TX_ALG_MISMATCH, `validator ${tx.from} signs with ${val.sigAlg}, not ${tx.alg}`, {
      field: 'tx.alg',
    });
  if (tx.seq !== 0) throw ledgerError(E.TX_MALFORMED, 'beacon transactions have seq 0', { field: 'tx.seq' });
  checkSig(ctx, tx.alg, val.sigKey, env.signingBytes, tx.sig, 'signature');
  const length = epochLength(ctx.params);
  const now = epochOf(ctx.height, length);
  const epoch = tx.body.epoch;
  const commit = tx.kind === 'beacon.commit';
  // Commitments two epochs ahead, reveals one: every commitment is final before a reveal.
  const open = now + (commit ? 2 : 1);
  if (epoch !== open || epoch < FIRST_BEACON_EPOCH)
    throw ledgerError(
      E.BEACON_WRONG_EPOCH,
      `at height ${ctx.height} (epoch ${now}) a ${tx.kind} must be for epoch ${open}, not ${epoch}`,
      { field: 'tx.body.epoch', expected: open },
    );
  if (!commit && ctx.height > seedFixedAt(epoch, length))
    throw ledgerError(
      E.BEACON_WRONG_EPOCH,
      `the reveals for epoch ${epoch} closed at height ${seedFixedAt(epoch, length)}`,
      { field: 'tx.body.epoch' },
    );
  if (commit) {
    if (d.get(K.beaconCommit(epoch, tx.from)) !== undefined)
      throw ledgerError(E.BEACON_DUPLICATE, `${tx.from} already committed for epoch ${epoch}`, { epoch });
    d.put(K.beaconCommit(epoch, tx.from), tx.body.commitment);
    return;
  }
  const b = tx.body;
  const c = d.get(K.beaconCommit(epoch, tx.from)) as Uint8Array | undefined;
  if (c === undefined)
    throw ledgerError(E.BEACON_NO_COMMITMENT, `${tx.from} has no commitment for epoch ${epoch}`, { epoch });
  if (d.get(K.beaconReveal(epoch, tx.from)) !== undefined)
    throw ledgerError(E.BEACON_DUPLICATE, `${tx.from} already revealed for epoch ${epoch}`, { epoch });
  const reveal = { validator: tx.from, value: b.value, salt: b.salt };
  if (!beaconVerify({ chainId: ctx.chain, epoch }, c, reveal, ctx.hashes))
    throw ledgerError(E.BEACON_BAD_REVEAL, `the reveal does not open ${tx.from}'s commitment`, { epoch });
  d.put(K.beaconReveal(epoch, tx.from), { value: b.value, salt: b.salt });
}
