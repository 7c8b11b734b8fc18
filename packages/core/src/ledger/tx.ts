/**
 * Transactions: canonical encoding, strict decoding (every field checked and named),
 * ids, signing and signature checks.
 */
import { p256 } from '@noble/curves/nist.js';
import { concatBytes, toHex } from '../bytes.js';
import { decode, encode, withoutMapKey } from '../codec/index.js';
import type { CborValue } from '../codec/types.js';
import { DOMAIN, domainHash, labelPrefix } from '../crypto/domain.js';
import { mlKemEncapsKeyOk } from '../crypto/mlkem-checks.js';
import { KEM_PARAMS, SIG_PARAMS } from '../crypto/params.js';
import {
  type CryptoBackend,
  type HashSuite,
  KEM_ALGS,
  type KemAlg,
  SIG_ALGS,
  type SigAlg,
} from '../crypto/types.js';
import { QledgerError } from '../errors.js';
import { BEACON_SALT_BYTES, BEACON_VALUE_BYTES } from '../qrng/beacon.js';
import { LEDGER_ERRORS, ledgerError } from './errors.js';
import { FieldReader, NAME_RE, PRINTABLE } from './fields.js';
import {
  ECC_CURVES,
  LEDGER_VERSION,
  type LedgerParams,
  LICENCES,
  TX_KINDS,
  type Tx,
  type TxEnvelope,
  type UnsignedTx,
} from './types.js';

const R = new FieldReader(LEDGER_ERRORS.TX_MALFORMED);
const META_KEY = /^[a-z0-9_.-]{1,32}$/;
const TEXT = PRINTABLE;

/** Canonical CBOR value of a transaction (with or without `sig`). */
export function txToCbor(tx: UnsignedTx | Tx): CborValue {
  return tx as unknown as CborValue;
}

/**
 * Checks a public key's length (and, where the algorithm allows, its structure): `alg` is a
 * SigAlg for 'sig', a KemAlg for 'kem', an EccCurve for 'ecc'.
 */
export function publicKeyOk(kind: 'sig' | 'kem' | 'ecc', alg: string, key: Uint8Array): boolean {
  if (kind === 'sig') return key.length === SIG_PARAMS[alg as SigAlg].publicKey;
  if (kind === 'kem') {
    const p = KEM_PARAMS[alg as KemAlg];
    if (key.length !== p.publicKey) return false;
    // FIPS 203 §7.2 modulus check; X-Wing's key starts with an ML-KEM-768 key (k = 3).
    return alg === 'x-wing' ? mlKemEncapsKeyOk(key.subarray(0, 1184), 3) : mlKemEncapsKeyOk(key, p.k);
  }
  if (alg === 'x25519') return key.length === 32;
  try {
    p256.Point.fromBytes(key);
    return key.length === 33 || key.length === 65;
  } catch {
    return false;
  }
}

function sigLengthOk(alg: SigAlg, sig: Uint8Array): boolean {
  const p = SIG_PARAMS[alg];
  return p.variableLength ? sig.length > 0 && sig.length <= p.signature : sig.length === p.signature;
}

function parseBody(kind: (typeof TX_KINDS)[number], v: unknown, params: LedgerParams): UnsignedTx['body'] {
  const f = 'tx.body';
  switch (kind) {
    case 'data': {
      const o = R.obj(f, v, ['payload', 'type']);
      const payload = R.bytes(`${f}.payload`, o.payload, { max: params.maxDataBytes });
      return o.type === undefined ? { payload } : { payload, type: R.str(`${f}.type`, o.type, 128, TEXT) };
    }
    case 'identity.register': {
      const o = R.obj(f, v, ['sigKey', 'kemAlg', 'kemKey', 'ecc', 'recovery', 'meta']);
      const kemAlg = R.oneOf(`${f}.kemAlg`, o.kemAlg, KEM_ALGS);
      const body: Record<string, unknown> = {
        sigKey: R.bytes(`${f}.sigKey`, o.sigKey, { max: 4096 }),
        kemAlg,
        kemKey: R.bytes(`${f}.kemKey`, o.kemKey, { max: 4096 }),
        meta: R.textMap(`${f}.meta`, o.meta, 16, META_KEY, 256),
      };
      if (o.ecc !== undefined) {
        const e = R.obj(`${f}.ecc`, o.ecc, ['curve', 'key']);
        body.ecc = {
          curve: R.oneOf(`${f}.ecc.curve`, e.curve, ECC_CURVES),
          key: R.bytes(`${f}.ecc.key`, e.key, { max: 65 }),
        };
      }
      if (o.recovery !== undefined) {
        const r = R.obj(`${f}.recovery`, o.recovery, ['alg', 'key']);
        body.recovery = {
          alg: R.oneOf(`${f}.recovery.alg`, r.alg, SIG_ALGS),
          key: R.bytes(`${f}.recovery.key`, r.key, { max: 4096 }),
        };
      }
      return body as unknown as UnsignedTx['body'];
    }
    case 'identity.rotate': {
      const o = R.obj(f, v, ['sigAlg', 'sigKey', 'pop', 'kemAlg', 'kemKey']);
      const body: Record<string, unknown> = {
        sigAlg: R.oneOf(`${f}.sigAlg`, o.sigAlg, SIG_ALGS),
        sigKey: R.bytes(`${f}.sigKey`, o.sigKey, { max: 4096 }),
        pop: R.bytes(`${f}.pop`, o.pop, { max: 50_000 }),
      };
      if ((o.kemAlg === undefined) !== (o.kemKey === undefined))
        R.fail(`${f}.kemKey`, 'kemAlg and kemKey go together');
      if (o.kemAlg !== undefined) {
        body.kemAlg = R.oneOf(`${f}.kemAlg`, o.kemAlg, KEM_ALGS);
        body.kemKey = R.bytes(`${f}.kemKey`, o.kemKey, { max: 4096 });
      }
      return body as unknown as UnsignedTx['body'];
    }
    case 'identity.revoke': {
      const o = R.obj(f, v, ['by', 'reason']);
      return {
        by: R.oneOf(`${f}.by`, o.by, ['self', 'recovery'] as const),
        reason: R.str(`${f}.reason`, o.reason, 256, TEXT),
      };
    }
    case 'trust.record': {
      const o = R.obj(f, v, ['user', 'action', 'target']);
      return {
        user: R.str(`${f}.user`, o.user, 64, NAME_RE),
        action: R.str(`${f}.action`, o.action, 32, TEXT),
        target: R.str(`${f}.target`, o.target, 128, TEXT),
      };
    }
    case 'dataset.register': {
      const o = R.obj(f, v, ['id', 'name', 'licence', 'contentHash', 'quality']);
      return {
        id: R.str(`${f}.id`, o.id, 64, NAME_RE),
        name: R.str(`${f}.name`, o.name, 128, TEXT),
        licence: R.oneOf(`${f}.licence`, o.licence, LICENCES),
        contentHash: R.bytes(`${f}.contentHash`, o.contentHash, { exact: 32 }),
        quality: R.int(`${f}.quality`, o.quality, 0, 1_000_000),
      };
    }
    case 'dataset.verify': {
      const o = R.obj(f, v, ['id', 'contentHash']);
      return {
        id: R.str(`${f}.id`, o.id, 64, NAME_RE),
        contentHash: R.bytes(`${f}.contentHash`, o.contentHash, { exact: 32 }),
      };
    }
    case 'keyexchange.record': {
      const o = R.obj(f, v, ['peer', 'alg', 'bucket', 'commitment']);
      return {
        peer: R.str(`${f}.peer`, o.peer, 64, NAME_RE),
        alg: R.oneOf(`${f}.alg`, o.alg, [...KEM_ALGS, 'qkd-etsi014'] as const),
        bucket: R.int(`${f}.bucket`, o.bucket, 0, Number.MAX_SAFE_INTEGER),
        commitment: R.bytes(`${f}.commitment`, o.commitment, { exact: 32 }),
      };
    }
    case 'beacon.commit': {
      const o = R.obj(f, v, ['epoch', 'commitment']);
      return {
        epoch: R.int(`${f}.epoch`, o.epoch, 0, Number.MAX_SAFE_INTEGER),
        commitment: R.bytes(`${f}.commitment`, o.commitment, { exact: 32 }),
      };
    }
    case 'beacon.reveal': {
      const o = R.obj(f, v, ['epoch', 'value', 'salt']);
      return {
        epoch: R.int(`${f}.epoch`, o.epoch, 0, Number.MAX_SAFE_INTEGER),
        value: R.bytes(`${f}.value`, o.value, { exact: BEACON_VALUE_BYTES }),
        salt: R.bytes(`${f}.salt`, o.salt, { exact: BEACON_SALT_BYTES }),
      };
    }
  }
}

/** Validates a decoded value as a signed transaction (structure and static limits only). */
export function parseTx(v: unknown, params: LedgerParams): Tx {
  const o = R.obj('tx', v, ['v', 'chain', 'kind', 'from', 'seq', 'alg', 'body', 'sig']);
  if (o.v !== LEDGER_VERSION) R.fail('tx.v', `must be ${LEDGER_VERSION}`);
  const kind = R.oneOf('tx.kind', o.kind, TX_KINDS);
  const alg = R.oneOf('tx.alg', o.alg, SIG_ALGS);
  const sig = R.bytes('tx.sig', o.sig, { max: SIG_PARAMS[alg].signature });
  if (!sigLengthOk(alg, sig)) R.fail('tx.sig', `wrong length for ${alg}: ${sig.length} bytes`);
  return {
    v: LEDGER_VERSION,
    chain: R.str('tx.chain', o.chain, 64, NAME_RE),
    kind,
    from: R.str('tx.from', o.from, 64, NAME_RE),
    seq: R.int('tx.seq', o.seq, 0, Number.MAX_SAFE_INTEGER),
    alg,
    body: parseBody(kind, o.body, params),
    sig,
  } as Tx;
}

/**
 * The envelope of `tx`, given its signed `bytes` and the parts of its unsigned encoding: the id
 * hashes the unsigned encoding, and the signing bytes are that encoding under the signing label.
 */
function envelopeOf(
  tx: Tx,
  bytes: Uint8Array,
  unsigned: readonly Uint8Array[],
  hashes: HashSuite,
): TxEnvelope {
  const prefix = labelPrefix(DOMAIN.TX_SIGN);
  const signingBytes = concatBytes(prefix, ...unsigned);
  const id = domainHash(hashes, DOMAIN.TX_ID, signingBytes.subarray(prefix.length));
  return { tx, bytes, id, signingBytes };
}

/**
 * Each envelope's id in hex, once converted. An envelope's id never changes (decodeTx and signTx
 * make it and nothing writes to it), and a validator keys its maps by it several times per
 * transaction (mempool, admission, the block, its event): a lookup here costs a tenth of
 * toHex.
 */
const idHexes = new WeakMap<TxEnvelope, string>();

/** toHex(env.id), remembered for the envelope. */
export function txIdHex(env: TxEnvelope): string {
  let hex = idHexes.get(env);
  if (hex === undefined) {
    hex = toHex(env.id);
    idHexes.set(env, hex);
  }
  return hex;
}

/** Decodes and validates a transaction's canonical bytes (size, structure, static limits). */
export function decodeTx(bytes: Uint8Array, params: LedgerParams, hashes: HashSuite): TxEnvelope {
  if (bytes.length > params.maxTxBytes) {
    throw ledgerError(
      LEDGER_ERRORS.TX_TOO_LARGE,
      `transaction is ${bytes.length} bytes, limit ${params.maxTxBytes}`,
      {
        size: bytes.length,
        limit: params.maxTxBytes,
      },
    );
  }
  let value: CborValue;
  try {
    // Views, not copies, of the signature and other byte fields: the envelope keeps `bytes`,
    // which nothing writes to, so the fields cannot change under it (about 4 µs and a 2.4 KB
    // allocation less per transaction).
    value = decode(bytes, { maxDepth: 8, views: true });
  } catch (e) {
    const why = e instanceof QledgerError ? `${e.code}: ${e.message}` : String(e);
    throw ledgerError(LEDGER_ERRORS.TX_MALFORMED, `tx: not canonical CBOR (${why})`, { field: 'tx' });
  }
  // The unsigned transaction's encoding is the bytes without the `sig` entry: the bytes are
  // deterministic CBOR (decode accepts nothing else) and parseTx neither adds, drops nor
  // changes a field, so cutting the entry out gives what encoding the unsigned transaction
  // would, without encoding again (a property test compares the two on random transactions of
  // every kind).
  return envelopeOf(parseTx(value, params), bytes, withoutMapKey(bytes, 'sig'), hashes);
}

/** Signs an unsigned transaction; the result round-trips through decodeTx. */
export function signTx(
  unsigned: UnsignedTx,
  secretKey: Uint8Array,
  crypto: CryptoBackend,
  hashes: HashSuite,
): TxEnvelope {
  const unsignedBytes = encode(txToCbor(unsigned));
  const sig = crypto
    .signer(unsigned.alg)
    .sign(concatBytes(labelPrefix(DOMAIN.TX_SIGN), unsignedBytes), secretKey);
  const tx = { ...unsigned, sig } as Tx;
  return envelopeOf(tx, encode(txToCbor(tx)), [unsignedBytes], hashes);
}

/** True when the envelope's signature verifies under `publicKey` with the transaction's algorithm. */
export function txSignatureOk(env: TxEnvelope, publicKey: Uint8Array, crypto: CryptoBackend): boolean {
  return crypto.signer(env.tx.alg).verify(env.tx.sig, env.signingBytes, publicKey);
}

/**
 * What the new key signs in identity.rotate: binds chain, identity, sequence number and
 * both keys, so a proof of possession cannot be replayed into another rotation.
 */
export function keyPopMessage(
  chain: string,
  name: string,
  seq: number,
  sigAlg: SigAlg,
  sigKey: Uint8Array,
): Uint8Array {
  return concatBytes(labelPrefix(DOMAIN.KEY_POP), encode([chain, name, seq, sigAlg, sigKey]));
}

/**
 * keyexchange.record commitment: H(KEYEXCHANGE_AUDIT, [salt, sorted key_IDs]). The salt (≥ 16
 * random bytes, kept by the parties) hides the key_IDs; auditors given the salt can check it.
 */
export function keyIdsCommitment(hashes: HashSuite, salt: Uint8Array, keyIds: readonly string[]): Uint8Array {
  if (salt.length < 16) throw new RangeError('salt must be at least 16 bytes');
  return domainHash(hashes, DOMAIN.KEYEXCHANGE_AUDIT, encode([salt, [...keyIds].sort()]));
}
