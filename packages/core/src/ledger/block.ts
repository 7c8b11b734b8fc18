/**
 * Blocks: header hashing, canonical encoding, and the pure transition
 * applyBlock(state, block) → next state, or a coded error naming the first bad transaction.
 */
import { equalBytes, toHex } from '../bytes.js';
import { decode, encode } from '../codec/index.js';
import type { CborValue } from '../codec/types.js';
import { DOMAIN, domainHash } from '../crypto/domain.js';
import type { CryptoBackend, HashSuite } from '../crypto/types.js';
import { QledgerError } from '../errors.js';
import { epochLength, epochOf, epochSeed, finishEpoch } from './beacon.js';
import { LEDGER_ERRORS as E, ledgerError } from './errors.js';
import { FieldReader, NAME_RE } from './fields.js';
import { STATE_KEYS as K } from './keys.js';
import { txRoot } from './merkle.js';
import { applyTx, type SigCheck } from './rules.js';
import type { LedgerState, StateChange } from './state.js';
import { decodeTx, txIdHex } from './tx.js';
import { type Block, type BlockHeader, LEDGER_VERSION, type LedgerParams, type TxEnvelope } from './types.js';

const R = new FieldReader(E.BLOCK_MALFORMED);

export function blockHash(hashes: HashSuite, header: BlockHeader): Uint8Array {
  return domainHash(hashes, DOMAIN.BLOCK_HASH, encode(header as unknown as CborValue));
}

/** Canonical block encoding: `{ header, txs: [tx bytes…] }`; transactions stay as their own bytes. */
export function encodeBlock(block: Block): Uint8Array {
  return encode({ header: block.header as unknown as CborValue, txs: block.txs.map((t) => t.bytes) });
}

export function parseHeader(v: unknown): BlockHeader {
  const o = R.obj('header', v, [
    'v',
    'chain',
    'height',
    'prev',
    'time',
    'txRoot',
    'txCount',
    'stateRoot',
    'proposer',
    'view',
    'beacon',
  ]);
  if (o.v !== LEDGER_VERSION) R.fail('header.v', `must be ${LEDGER_VERSION}`);
  const proposer = R.str('header.proposer', o.proposer, 64);
  if (proposer !== '' && !NAME_RE.test(proposer)) R.fail('header.proposer', `must match ${NAME_RE}`);
  const beacon = R.bytes('header.beacon', o.beacon, { max: 32 });
  if (beacon.length !== 0 && beacon.length !== 32) R.fail('header.beacon', 'must be empty or 32 bytes');
  return {
    v: LEDGER_VERSION,
    chain: R.str('header.chain', o.chain, 64, NAME_RE),
    height: R.int('header.height', o.height, 0, Number.MAX_SAFE_INTEGER),
    prev: R.bytes('header.prev', o.prev, { exact: 32 }),
    time: R.int('header.time', o.time, 0, Number.MAX_SAFE_INTEGER),
    txRoot: R.bytes('header.txRoot', o.txRoot, { exact: 32 }),
    txCount: R.int('header.txCount', o.txCount, 0, Number.MAX_SAFE_INTEGER),
    stateRoot: R.bytes('header.stateRoot', o.stateRoot, { exact: 32 }),
    proposer,
    view: R.int('header.view', o.view, 0, Number.MAX_SAFE_INTEGER),
    beacon,
  };
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  return parseHeader(decodeOrFail(bytes, 'header'));
}

function decodeOrFail(bytes: Uint8Array, field: string): CborValue {
  try {
    return decode(bytes, { maxDepth: 8 });
  } catch (e) {
    const why = e instanceof QledgerError ? `${e.code}: ${e.message}` : String(e);
    throw ledgerError(E.BLOCK_MALFORMED, `${field}: not canonical CBOR (${why})`, { field });
  }
}

/** Decodes a block; each transaction is decoded and checked statically with `params`. */
export function decodeBlock(bytes: Uint8Array, params: LedgerParams, hashes: HashSuite): Block {
  const o = R.obj('block', decodeOrFail(bytes, 'block'), ['header', 'txs']);
  const header = parseHeader(o.header);
  const raw = R.arr('block.txs', o.txs, params.maxBlockTxs);
  const txs = raw.map((t, i) => {
    const b = R.bytes(`block.txs.${i}`, t, { max: params.maxTxBytes });
    try {
      return decodeTx(b, params, hashes);
    } catch (e) {
      throw withTxIndex(e, header.height, i, undefined);
    }
  });
  return { header, txs };
}

function withTxIndex(e: unknown, height: number, index: number, id: Uint8Array | undefined): QledgerError {
  if (!(e instanceof QledgerError)) throw e;
  const idText = id ? ` (${toHex(id)})` : '';
  return new QledgerError(e.code, `block ${height} transaction ${index}${idText}: ${e.message}`, {
    ...e.details,
    height,
    index,
    ...(id ? { txId: toHex(id) } : {}),
  });
}

export interface ApplyOptions {
  readonly hashes: HashSuite;
  readonly crypto: CryptoBackend;
  /** `true` (default): check every signature; `'defer'`: return them in `deferred` instead. */
  readonly signatures?: true | 'defer';
}

export type ApplyResult =
  | {
      readonly ok: true;
      readonly state: LedgerState;
      readonly changes: readonly StateChange[];
      readonly hash: Uint8Array;
      readonly deferred: readonly SigCheck[];
    }
  | { readonly ok: false; readonly error: QledgerError };

export function chainParams(state: LedgerState): { chain: string; params: LedgerParams } {
  const chain = state.get(K.chain) as string | undefined;
  const params = state.get(K.params) as LedgerParams | undefined;
  if (chain === undefined || params === undefined)
    throw new Error('state has no genesis (chain and params missing)');
  return { chain, params };
}

interface Body {
  readonly time: number;
  readonly height: number;
  readonly txs: readonly TxEnvelope[];
}

/** Applies transactions in order on a draft; throws the first transaction's error with its index. */
function applyBody(state: LedgerState, body: Body, opts: ApplyOptions, deferred: SigCheck[] | undefined) {
  const { chain, params } = chainParams(state);
  const draft = state.draft();
  const seen = new Set<string>();
  for (let i = 0; i < body.txs.length; i++) {
    const env = body.txs[i]!;
    const idHex = txIdHex(env);
    if (seen.has(idHex))
      throw withTxIndex(
        ledgerError(E.BLOCK_DUPLICATE_TX, 'transaction appears twice'),
        body.height,
        i,
        env.id,
      );
    seen.add(idHex);
    try {
      applyTx(draft, env, {
        chain,
        params,
        height: body.height,
        time: body.time,
        hashes: opts.hashes,
        crypto: opts.crypto,
        index: i,
        ...(deferred ? { deferred } : {}),
      });
    } catch (e) {
      throw withTxIndex(e, body.height, i, env.id);
    }
  }
  finishEpoch(draft, chain, body.height, epochLength(params), opts.hashes);
  const changes = draft.changes();
  const acc = draft.accumulatorAfter(opts.hashes, changes);
  return { draft, changes, acc };
}

/** The pure block transition. Never mutates `state`. */
export function applyBlock(state: LedgerState, block: Block, opts: ApplyOptions): ApplyResult {
  try {
    const h = block.header;
    const { chain, params } = chainParams(state);
    if (h.chain !== chain)
      throw ledgerError(E.BLOCK_WRONG_CHAIN, `block is for chain ${h.chain}, not ${chain}`);
    checkLinks(opts.hashes, block, { height: state.height, hash: state.lastHash });
    if (h.time < state.lastTime)
      throw ledgerError(
        E.BLOCK_TIME,
        `block ${h.height} time ${h.time} is before its parent's ${state.lastTime}`,
        { height: h.height },
      );
    if (state.get(K.validator(h.proposer)) === undefined)
      throw ledgerError(E.BLOCK_PROPOSER, `proposer ${JSON.stringify(h.proposer)} is not a validator`, {
        height: h.height,
      });
    checkSize(block, params);
    if (!equalBytes(h.beacon, headerBeacon(state, h.height)))
      throw ledgerError(E.BLOCK_BEACON, `block ${h.height} header.beacon is not its epoch's seed`, {
        height: h.height,
        field: 'header.beacon',
      });
    const deferred: SigCheck[] | undefined = opts.signatures === 'defer' ? [] : undefined;
    const { draft, changes, acc } = applyBody(
      state,
      { time: h.time, height: h.height, txs: block.txs },
      opts,
      deferred,
    );
    const root = acc.root(opts.hashes);
    if (!equalBytes(root, h.stateRoot))
      throw ledgerError(
        E.BLOCK_STATE_ROOT,
        `block ${h.height} state root does not match the state after its transactions`,
        {
          height: h.height,
        },
      );
    const hash = blockHash(opts.hashes, h);
    const next = draft.finish(acc, { height: h.height, lastHash: hash, lastTime: h.time });
    return { ok: true, state: next, changes, hash, deferred: deferred ?? [] };
  } catch (e) {
    if (e instanceof QledgerError) return { ok: false, error: e };
    throw e;
  }
}

/**
 * What a block needs no state for: it follows its parent (height and hash link), its header
 * counts its transactions, and its Merkle root commits to them. applyBlock runs these first;
 * verifyChain's `headers` mode runs only these.
 */
export function checkLinks(
  hashes: HashSuite,
  block: Block,
  parent: { readonly height: number; readonly hash: Uint8Array },
): void {
  const h = block.header;
  if (h.height !== parent.height + 1)
    throw ledgerError(E.BLOCK_HEIGHT, `block height ${h.height}, expected ${parent.height + 1}`, {
      height: h.height,
    });
  if (!equalBytes(h.prev, parent.hash))
    throw ledgerError(E.BLOCK_PREV_HASH, `block ${h.height} does not link to ${toHex(parent.hash)}`, {
      height: h.height,
    });
  if (h.txCount !== block.txs.length)
    throw ledgerError(
      E.BLOCK_MALFORMED,
      `header.txCount is ${h.txCount} but the block has ${block.txs.length}`,
      {
        field: 'header.txCount',
      },
    );
  if (!equalBytes(txRoot(hashes, block.txs), h.txRoot))
    throw ledgerError(E.BLOCK_TX_ROOT, `block ${h.height} transaction root does not match its transactions`, {
      height: h.height,
    });
}

/** The genesis limits on transactions and bytes per block. */
function checkSize(block: Block, params: LedgerParams) {
  if (block.txs.length > params.maxBlockTxs)
    throw ledgerError(
      E.BLOCK_TOO_LARGE,
      `block has ${block.txs.length} transactions, limit ${params.maxBlockTxs}`,
    );
  let bytes = 0;
  for (const t of block.txs) bytes += t.bytes.length;
  if (bytes > params.maxBlockBytes)
    throw ledgerError(
      E.BLOCK_TOO_LARGE,
      `block carries ${bytes} bytes of transactions, limit ${params.maxBlockBytes}`,
    );
}

export interface BlockTemplate {
  readonly time: number;
  readonly proposer: string;
  readonly view?: number;
}

/** What header.beacon must hold at `height` on top of `state`: its epoch's seed, or empty. */
export function headerBeacon(state: LedgerState, height: number): Uint8Array {
  const { params } = chainParams(state);
  return epochSeed(state, epochOf(height, epochLength(params)))?.seed ?? new Uint8Array(0);
}

/**
 * Builds the next block from transactions already known to be valid in order (e.g. taken
 * from the mempool). Throws the first transaction's coded error otherwise.
 */
export function buildBlock(
  state: LedgerState,
  txs: readonly TxEnvelope[],
  tpl: BlockTemplate,
  opts: ApplyOptions,
): { block: Block; state: LedgerState; changes: readonly StateChange[]; hash: Uint8Array } {
  const { chain } = chainParams(state);
  const height = state.height + 1;
  const time = Math.max(tpl.time, state.lastTime);
  // 'defer': the caller vouches for the signatures (its mempool checked them on admission).
  const { draft, changes, acc } = applyBody(
    state,
    { height, time, txs },
    opts,
    opts.signatures === 'defer' ? [] : undefined,
  );
  const header: BlockHeader = {
    v: LEDGER_VERSION,
    chain,
    height,
    prev: state.lastHash,
    time,
    txRoot: txRoot(opts.hashes, txs),
    txCount: txs.length,
    stateRoot: acc.root(opts.hashes),
    proposer: tpl.proposer,
    view: tpl.view ?? 0,
    beacon: headerBeacon(state, height),
  };
  const block = { header, txs };
  checkSize(block, chainParams(state).params);
  const hash = blockHash(opts.hashes, header);
  return { block, state: draft.finish(acc, { height, lastHash: hash, lastTime: time }), changes, hash };
}
