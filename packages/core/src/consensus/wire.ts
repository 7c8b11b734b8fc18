/**
 * Bytes for consensus messages, commit certificates and crash snapshots (deterministic
 * CBOR, arrays for compactness). Decoding checks every field's type and range and throws
 * WIRE_MALFORMED naming the field; the state machine checks the protocol rules after that.
 * Digests travel as bytes and are hex strings in memory (so they can key a Map).
 */
import { equalBytes, fromHex, toHex } from '../bytes.js';
import { type CborValue, decode, encode } from '../codec/index.js';
import { QledgerError } from '../errors.js';
import type { CertSig, CommitCert, ConsensusMsg, LockedValue, OwnVote, Snapshot, Step } from './types.js';

export const WIRE_ERRORS = { MALFORMED: 'WIRE_MALFORMED' } as const;

/** Most signatures a certificate or proof of lock may carry (validators are at most 1,000). */
const MAX_SIGS = 1000;
const TAGS = ['proposal', 'prevote', 'precommit', 'decision'] as const;

function bad(field: string, why: string): never {
  throw new QledgerError(WIRE_ERRORS.MALFORMED, `${field}: ${why}`, { field });
}

function int(field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) bad(field, `must be an integer ≥ ${min}`);
  return v;
}

function bytes(field: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) bad(field, 'must be a byte string');
  return v;
}

function arr(field: string, v: unknown, len?: number): readonly unknown[] {
  if (!Array.isArray(v) || (len !== undefined && v.length !== len))
    bad(field, len === undefined ? 'must be an array' : `must be an array of ${len}`);
  return v;
}

function digestHex(field: string, v: unknown): string {
  const b = bytes(field, v);
  if (b.length < 1 || b.length > 64) bad(field, 'must be 1–64 bytes');
  return toHex(b);
}

const sigsOut = (s: readonly CertSig[]): CborValue => s.map((x) => [x.voter, x.sig]);
function sigsIn(field: string, v: unknown): CertSig[] {
  const a = arr(field, v);
  if (a.length > MAX_SIGS) bad(field, `more than ${MAX_SIGS} signatures`);
  return a.map((x, i) => {
    const p = arr(`${field}.${i}`, x, 2);
    return { voter: int(`${field}.${i}.voter`, p[0], 0), sig: bytes(`${field}.${i}.sig`, p[1]) };
  });
}

export function certToCbor(c: CommitCert): CborValue {
  return [c.height, c.round, fromHex(c.digest), sigsOut(c.sigs)];
}

export function certFromCbor(v: unknown, field = 'cert'): CommitCert {
  const a = arr(field, v, 4);
  return {
    height: int(`${field}.height`, a[0], 0),
    round: int(`${field}.round`, a[1], 0),
    digest: digestHex(`${field}.digest`, a[2]),
    sigs: sigsIn(`${field}.sigs`, a[3]),
  };
}

export const encodeCert = (c: CommitCert): Uint8Array => encode(certToCbor(c));
export const decodeCert = (b: Uint8Array): CommitCert => certFromCbor(decodeOrBad(b, 'cert'));

function decodeOrBad(b: Uint8Array, field: string): CborValue {
  try {
    return decode(b);
  } catch (e) {
    return bad(field, `not canonical CBOR (${(e as Error).message})`);
  }
}

export function encodeConsensusMsg(m: ConsensusMsg): Uint8Array {
  switch (m.type) {
    case 'proposal':
      return encode([0, m.height, m.round, m.validRound, m.block, m.pol ? sigsOut(m.pol) : null]);
    case 'prevote':
    case 'precommit':
      return encode([
        TAGS.indexOf(m.type),
        m.height,
        m.round,
        m.digest === null ? null : fromHex(m.digest),
        m.sig ?? null,
      ]);
    case 'decision':
      return encode([3, m.height, m.block, certToCbor(m.cert)]);
  }
}

export function decodeConsensusMsg(b: Uint8Array): ConsensusMsg {
  const a = arr('msg', decodeOrBad(b, 'msg'));
  const tag = TAGS[int('msg.type', a[0], 0)];
  if (tag === undefined) bad('msg.type', 'unknown message type');
  const height = int('msg.height', a[1], 0);
  if (tag === 'proposal') {
    if (a.length !== 6) bad('msg', 'a proposal has 6 fields');
    const round = int('msg.round', a[2], 0);
    const validRound = int('msg.validRound', a[3], -1);
    const block = bytes('msg.block', a[4]);
    return a[5] === null
      ? { type: tag, height, round, validRound, block }
      : { type: tag, height, round, validRound, block, pol: sigsIn('msg.pol', a[5]) };
  }
  if (tag === 'decision') {
    if (a.length !== 4) bad('msg', 'a decision has 4 fields');
    return { type: tag, height, block: bytes('msg.block', a[2]), cert: certFromCbor(a[3], 'msg.cert') };
  }
  if (a.length !== 5) bad('msg', 'a vote has 5 fields');
  const round = int('msg.round', a[2], 0);
  const digest = a[3] === null ? null : digestHex('msg.digest', a[3]);
  return a[4] === null
    ? { type: tag, height, round, digest }
    : { type: tag, height, round, digest, sig: bytes('msg.sig', a[4]) };
}

/**
 * The blocks of a snapshot, each stored once: the locked block, the valid block and this
 * validator's own proposal are usually the same bytes (up to megabytes at saturation), and a
 * snapshot is written before every vote. Fields refer to blocks by index.
 */
class BlockTable {
  readonly blocks: Uint8Array[] = [];
  ref(b: Uint8Array): number {
    let i = this.blocks.indexOf(b);
    if (i < 0) i = this.blocks.findIndex((x) => x.length === b.length && equalBytes(x, b));
    if (i < 0) i = this.blocks.push(b) - 1;
    return i;
  }
}

const lockedOut = (l: LockedValue | null, t: BlockTable): CborValue =>
  l && [l.round, fromHex(l.digest), t.ref(l.block), sigsOut(l.pol)];

/** `blockAt` reads a block field: an index into the table, or (old snapshots) the bytes. */
function lockedIn(
  field: string,
  v: unknown,
  blockAt: (f: string, x: unknown) => Uint8Array,
): LockedValue | null {
  if (v === null) return null;
  const a = arr(field, v, 4);
  return {
    round: int(`${field}.round`, a[0], 0),
    digest: digestHex(`${field}.digest`, a[1]),
    block: blockAt(`${field}.block`, a[2]),
    pol: sigsIn(`${field}.pol`, a[3]),
  };
}

const STEPS: readonly Step[] = ['propose', 'prevote', 'precommit'];

/** A crash snapshot (written by the validator itself; still checked when read back). */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  const t = new BlockTable();
  const locked = lockedOut(s.locked, t);
  const valid = lockedOut(s.valid, t);
  const proposals = s.proposals.map((p) => [p.round, t.ref(p.block)]);
  return encode([
    s.height,
    s.round,
    STEPS.indexOf(s.step),
    locked,
    valid,
    s.votes.map((v) => [
      v.type === 'prevote' ? 0 : 1,
      v.round,
      v.digest === null ? null : fromHex(v.digest),
      v.sig ?? null,
    ]),
    proposals,
    t.blocks,
  ]);
}

export function decodeSnapshot(b: Uint8Array): Snapshot {
  const a = arr('snapshot', decodeOrBad(b, 'snapshot'));
  // 8 fields: blocks in a table (encodeSnapshot); 7: a snapshot written before the table,
  // with the bytes in place.
  if (a.length !== 7 && a.length !== 8) bad('snapshot', 'must be an array of 8');
  const table =
    a.length === 8 ? arr('snapshot.blocks', a[7]).map((x, i) => bytes(`snapshot.blocks.${i}`, x)) : null;
  const blockAt = (f: string, x: unknown): Uint8Array => {
    if (!table) return bytes(f, x);
    const block = table[int(f, x, 0)];
    if (block === undefined) bad(f, 'refers to no block of the snapshot');
    return block;
  };
  const step = STEPS[int('snapshot.step', a[2], 0)];
  if (step === undefined) bad('snapshot.step', 'unknown step');
  return {
    height: int('snapshot.height', a[0], 0),
    round: int('snapshot.round', a[1], 0),
    step,
    locked: lockedIn('snapshot.locked', a[3], blockAt),
    valid: lockedIn('snapshot.valid', a[4], blockAt),
    votes: arr('snapshot.votes', a[5]).map((x, i): OwnVote => {
      const f = `snapshot.votes.${i}`;
      const v = arr(f, x, 4);
      const type = int(`${f}.type`, v[0], 0) === 0 ? 'prevote' : 'precommit';
      const round = int(`${f}.round`, v[1], 0);
      const digest = v[2] === null ? null : digestHex(`${f}.digest`, v[2]);
      return v[3] === null ? { type, round, digest } : { type, round, digest, sig: bytes(`${f}.sig`, v[3]) };
    }),
    proposals: arr('snapshot.proposals', a[6]).map((x, i) => {
      const p = arr(`snapshot.proposals.${i}`, x, 2);
      return {
        round: int(`snapshot.proposals.${i}.round`, p[0], 0),
        block: blockAt(`snapshot.proposals.${i}.block`, p[1]),
      };
    }),
  };
}
