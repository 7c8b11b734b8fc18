/**
 * Genesis: one deterministic block and state from a config file, identical on every node
 * that reads the same config. The config is validated field by field (GENESIS_INVALID
 * naming the field); keys are hex.
 */
import { fromHex } from '../bytes.js';
import { type HashSuite, KEM_ALGS, SIG_ALGS } from '../crypto/types.js';
import { blockHash } from './block.js';
import { LEDGER_ERRORS as E } from './errors.js';
import { FieldReader, NAME_RE } from './fields.js';
import { STATE_KEYS as K } from './keys.js';
import { merkleRoot } from './merkle.js';
import { type IdentityRecord, toCbor, type ValidatorRecord } from './records.js';
import { LedgerState, type StateChange } from './state.js';
import { publicKeyOk } from './tx.js';
import {
  type Block,
  type BlockHeader,
  DEFAULT_PARAMS,
  ECC_CURVES,
  LEDGER_VERSION,
  type LedgerParams,
  TRUST_START,
} from './types.js';

export interface GenesisConfig {
  readonly chainId: string;
  /** Unix milliseconds. */
  readonly time: number;
  readonly params: LedgerParams;
  readonly validators: readonly ValidatorRecord[];
  readonly identities: readonly IdentityRecord[];
}

const R = new FieldReader(E.GENESIS_INVALID);

function hexKey(field: string, v: unknown): Uint8Array {
  const s = R.str(field, v, 20_000, /^(?:[0-9a-f]{2})*$/);
  return fromHex(s);
}

function key(field: string, kind: 'sig' | 'kem' | 'ecc', alg: string, v: unknown): Uint8Array {
  const k = hexKey(field, v);
  if (!publicKeyOk(kind, alg, k)) R.fail(field, `not a valid ${alg} public key (${k.length} bytes)`);
  return k;
}

/** Parses a genesis config file's text: JSON, then parseGenesis. */
export function parseGenesisText(text: string): GenesisConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    R.fail('genesis', `not JSON (${(e as Error).message})`);
  }
  return parseGenesis(json);
}

/** Parses a genesis config (e.g. JSON.parse of the file). */
export function parseGenesis(v: unknown): GenesisConfig {
  const o = R.obj('genesis', v, ['chainId', 'time', 'params', 'validators', 'identities']);
  const chainId = R.str('genesis.chainId', o.chainId, 64, NAME_RE);
  let time: number;
  if (typeof o.time === 'string') {
    time = Date.parse(o.time);
    if (!Number.isFinite(time) || !/^\d{4}-\d\d-\d\dT/.test(o.time))
      R.fail('genesis.time', 'must be an ISO 8601 date-time or unix milliseconds');
  } else time = R.int('genesis.time', o.time, 0, Number.MAX_SAFE_INTEGER);
  const p = o.params === undefined ? {} : R.obj('genesis.params', o.params, Object.keys(DEFAULT_PARAMS));
  const params: LedgerParams = {
    maxTxBytes:
      p.maxTxBytes === undefined
        ? DEFAULT_PARAMS.maxTxBytes
        : R.int('genesis.params.maxTxBytes', p.maxTxBytes, 1024, 1 << 24),
    maxDataBytes:
      p.maxDataBytes === undefined
        ? DEFAULT_PARAMS.maxDataBytes
        : R.int('genesis.params.maxDataBytes', p.maxDataBytes, 0, 1 << 24),
    maxBlockTxs:
      p.maxBlockTxs === undefined
        ? DEFAULT_PARAMS.maxBlockTxs
        : R.int('genesis.params.maxBlockTxs', p.maxBlockTxs, 1, 1_000_000),
    maxBlockBytes:
      p.maxBlockBytes === undefined
        ? DEFAULT_PARAMS.maxBlockBytes
        : R.int('genesis.params.maxBlockBytes', p.maxBlockBytes, 1024, 1 << 30),
    epochLength:
      p.epochLength === undefined
        ? DEFAULT_PARAMS.epochLength
        : R.int('genesis.params.epochLength', p.epochLength, 4, 1_000_000),
  };
  if (params.maxDataBytes >= params.maxTxBytes)
    R.fail('genesis.params.maxDataBytes', 'must be below maxTxBytes');
  const vals = R.arr('genesis.validators', o.validators, 1000);
  if (vals.length === 0) R.fail('genesis.validators', 'must name at least one validator');
  const names = new Set<string>();
  const validators = vals.map((x, i) => {
    const f = `genesis.validators.${i}`;
    const v = R.obj(f, x, ['name', 'sigAlg', 'sigKey']);
    const name = R.str(`${f}.name`, v.name, 64, NAME_RE);
    if (names.has(name)) R.fail(`${f}.name`, `duplicate validator ${name}`);
    names.add(name);
    const sigAlg = R.oneOf(`${f}.sigAlg`, v.sigAlg, SIG_ALGS);
    return { name, sigAlg, sigKey: key(`${f}.sigKey`, 'sig', sigAlg, v.sigKey) };
  });
  const ids = o.identities === undefined ? [] : R.arr('genesis.identities', o.identities, 100_000);
  const idNames = new Set<string>();
  const identities = ids.map((x, i): IdentityRecord => {
    const f = `genesis.identities.${i}`;
    const v = R.obj(f, x, ['name', 'sigAlg', 'sigKey', 'kemAlg', 'kemKey', 'ecc', 'recovery', 'meta']);
    const name = R.str(`${f}.name`, v.name, 64, NAME_RE);
    if (idNames.has(name)) R.fail(`${f}.name`, `duplicate identity ${name}`);
    idNames.add(name);
    const sigAlg = R.oneOf(`${f}.sigAlg`, v.sigAlg, SIG_ALGS);
    const kemAlg = R.oneOf(`${f}.kemAlg`, v.kemAlg, KEM_ALGS);
    const rec: IdentityRecord = {
      name,
      sigAlg,
      sigKey: key(`${f}.sigKey`, 'sig', sigAlg, v.sigKey),
      kemAlg,
      kemKey: key(`${f}.kemKey`, 'kem', kemAlg, v.kemKey),
      meta: v.meta === undefined ? {} : R.textMap(`${f}.meta`, v.meta, 16, /^[a-z0-9_.-]{1,32}$/, 256),
      status: 'active',
      registered: 0,
      keyVersion: 1,
    };
    let extra: Partial<IdentityRecord> = {};
    if (v.ecc !== undefined) {
      const e = R.obj(`${f}.ecc`, v.ecc, ['curve', 'key']);
      const curve = R.oneOf(`${f}.ecc.curve`, e.curve, ECC_CURVES);
      extra = { ...extra, ecc: { curve, key: key(`${f}.ecc.key`, 'ecc', curve, e.key) } };
    }
    if (v.recovery !== undefined) {
      const r = R.obj(`${f}.recovery`, v.recovery, ['alg', 'key']);
      const alg = R.oneOf(`${f}.recovery.alg`, r.alg, SIG_ALGS);
      extra = { ...extra, recovery: { alg, key: key(`${f}.recovery.key`, 'sig', alg, r.key) } };
    }
    return { ...rec, ...extra };
  });
  return { chainId, time, params, validators, identities };
}

/** The genesis block (height 0, no transactions) and the state it commits to. */
export function genesisBlock(
  config: GenesisConfig,
  hashes: HashSuite,
): { block: Block; state: LedgerState; changes: readonly StateChange[]; hash: Uint8Array } {
  const draft = LedgerState.empty().draft();
  draft.put(K.chain, config.chainId);
  draft.put(K.params, toCbor(config.params));
  for (const v of config.validators) draft.put(K.validator(v.name), toCbor(v));
  draft.put(
    K.validatorSet,
    config.validators.map((v) => v.name),
  );
  for (const id of config.identities) {
    draft.put(K.identity(id.name), toCbor(id));
    draft.put(K.seq(id.name), 0);
    draft.put(K.trust(id.name), TRUST_START);
  }
  const changes = draft.changes();
  const acc = draft.accumulatorAfter(hashes, changes);
  const header: BlockHeader = {
    v: LEDGER_VERSION,
    chain: config.chainId,
    height: 0,
    prev: new Uint8Array(32),
    time: config.time,
    txRoot: merkleRoot(hashes, []),
    txCount: 0,
    stateRoot: acc.root(hashes),
    proposer: '',
    view: 0,
    beacon: new Uint8Array(0),
  };
  const hash = blockHash(hashes, header);
  const state = draft.finish(acc, { height: 0, lastHash: hash, lastTime: config.time });
  return { block: { header, txs: [] }, state, changes, hash };
}
