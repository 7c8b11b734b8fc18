/** A small ledger world for tests: validators, identities with keys, and transaction builders. */
import assert from 'node:assert/strict';
import {
  type Block,
  buildBlock,
  type GenesisConfig,
  genesisBlock,
  type KeyPair,
  type LedgerState,
  nobleBackend,
  nobleHashes,
  parseGenesis,
  QledgerError,
  STATE_KEYS,
  signTx,
  type TxBodies,
  type TxEnvelope,
  type TxKind,
  toHex,
  type UnsignedTx,
} from '../../src/index.js';

export const hashes = nobleHashes;
export const crypto = nobleBackend;
export const opts = { hashes, crypto } as const;
export const CHAIN = 'testnet';
export const T0 = 1_763_856_000_000;

const seed = (n: number) => new Uint8Array(32).fill(n);

export interface Party {
  readonly name: string;
  readonly sig: KeyPair;
  readonly kem: KeyPair;
}

export function party(name: string, n: number): Party {
  return {
    name,
    sig: crypto.signer('ml-dsa-44').keygen(seed(n)),
    kem: crypto.kem('ml-kem-768').keygen(new Uint8Array(64).fill(n)),
  };
}

export const VALIDATORS = ['v1', 'v2', 'v3', 'v4'].map((n, i) => party(n, 100 + i));

export function genesisJson(extra: Partial<Record<string, unknown>> = {}): Record<string, unknown> {
  return {
    chainId: CHAIN,
    time: T0,
    validators: VALIDATORS.map((v) => ({
      name: v.name,
      sigAlg: 'ml-dsa-44',
      sigKey: toHex(v.sig.publicKey),
    })),
    ...extra,
  };
}

export function genesis(extra: Partial<Record<string, unknown>> = {}): {
  config: GenesisConfig;
  state: LedgerState;
  block: Block;
} {
  const config = parseGenesis(genesisJson(extra));
  const g = genesisBlock(config, hashes);
  return { config, state: g.state, block: g.block };
}

export function tx<K extends TxKind>(
  p: Party,
  kind: K,
  seq: number,
  body: TxBodies[K],
  over: Partial<UnsignedTx> = {},
  secretKey = p.sig.secretKey,
): TxEnvelope {
  const unsigned = {
    v: 1,
    chain: CHAIN,
    kind,
    from: p.name,
    seq,
    alg: 'ml-dsa-44',
    body,
    ...over,
  } as UnsignedTx;
  return signTx(unsigned, secretKey, crypto, hashes);
}

export function register(
  p: Party,
  meta: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): TxEnvelope {
  return tx(p, 'identity.register', 0, {
    sigKey: p.sig.publicKey,
    kemAlg: 'ml-kem-768',
    kemKey: p.kem.publicKey,
    meta,
    ...extra,
  } as TxBodies['identity.register']);
}

export function data(p: Party, seq: number, text = 'hello'): TxEnvelope {
  return tx(p, 'data', seq, { payload: new TextEncoder().encode(text) });
}

/** Builds and returns the next block over `state` with the given transactions. */
export function next(state: LedgerState, txs: TxEnvelope[], proposer = 'v1', dt = 1000) {
  return buildBlock(state, txs, { time: state.lastTime + dt, proposer }, opts);
}

export function trustOf(state: LedgerState, name: string): number | undefined {
  return state.get(STATE_KEYS.trust(name)) as number | undefined;
}

/** Runs `fn` and checks it throws a QledgerError with `code` (and `details.field`); returns it. */
export function mustFail(fn: () => unknown, code: string, field?: string): QledgerError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof QledgerError, `expected QledgerError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (field) assert.equal(e.details?.field, field, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

/** The code of the QledgerError `fn` throws, or 'ok' when it returns. */
export function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof QledgerError, `expected QledgerError, got ${e}`);
    return e.code;
  }
}
