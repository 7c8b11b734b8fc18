/**
 * A deterministic simulated network for the consensus state machine, driven by a seed.
 *
 * Virtual time, an event queue, and per-message random delay, loss, duplication and
 * reordering; partitions; crash and restart from the last persisted snapshot (half of the
 * crashes fall in the middle of a step that sends a vote or syncs: its actions up to a random
 * point happen, the rest never do, as when a process dies between a send and a sync); one
 * Byzantine validator.
 * Until `gstMs` (global stabilisation time) the network misbehaves; after it, every message
 * arrives within 50 ms and every crashed validator is back. The run checks
 * safety at every commit, checks that no honest validator ever sends two different votes for
 * one height, round and kind (across its restarts too), and reports which transactions every
 * honest validator committed.
 *
 * Randomness is a seeded xoshiro128** so that a failing seed replays exactly; it only drives
 * the schedule, never anything the protocol treats as secret.
 */
import { sha3_256 } from '@noble/hashes/sha3.js';
import {
  type CommitCert,
  type ConsensusAction,
  type ConsensusCrypto,
  type ConsensusEvent,
  type ConsensusMsg,
  type ConsensusParams,
  type ConsensusState,
  coalescePersists,
  concatBytes,
  initialState,
  proposerFromOrder,
  type Snapshot,
  signedVote,
  step,
  toHex,
  utf8,
  verifyCommitCert,
  votePayload,
} from '@qledger/core';

export class Rng {
  #s: Uint32Array;
  constructor(seed: number) {
    // splitmix32 to fill the state
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s = new Uint32Array([next(), next(), next(), next()]);
  }
  u32(): number {
    const s = this.#s;
    const result = Math.imul(((Math.imul(s[1]!, 5) << 7) | (Math.imul(s[1]!, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = ((s[3]! << 11) | (s[3]! >>> 21)) >>> 0;
    return result;
  }
  float(): number {
    return this.u32() / 2 ** 32;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
}

export interface SimOptions {
  seed: number;
  n?: number;
  /** Index of the Byzantine validator, or null. */
  byzantine?: number | null;
  gstMs?: number;
  endMs?: number;
  txs?: number;
  dropRate?: number;
  dupRate?: number;
  crashes?: boolean;
  partitions?: boolean;
}

export interface SimResult {
  /** Null when safe; otherwise what broke. */
  violation: string | null;
  /** Transactions not committed by every honest validator by the end. */
  missing: string[];
  heights: number[];
  faults: number;
  /** Times an honest validator, restarted, proposed a second block in a round it led. */
  reproposals: number;
  /** Crashes that fell inside a step. */
  midStepCrashes: number;
  /**
   * Restarts of an honest validator that had sent a round-0 prevote its snapshot did not
   * record (the prevote leaves before any sync), so that it sat that prevote out.
   */
  unrecordedPrevotes: number;
  roundChanges: number;
  events: number;
}

interface Node {
  id: number;
  state: ConsensusState;
  chain: { block: Uint8Array; digest: string; cert: CommitCert }[];
  persisted: Snapshot | undefined;
  up: boolean;
  /** A crash is due: it falls inside this validator's next step. */
  crashing: boolean;
  incarnation: number;
  mempool: Set<string>;
  committed: Set<string>;
}

type Item =
  | { at: number; kind: 'event'; node: number; incarnation: number; event: ConsensusEvent }
  | { at: number; kind: 'deliver'; node: number; from: number; msg: ConsensusMsg }
  | { at: number; kind: 'crash'; node: number }
  | { at: number; kind: 'restart'; node: number }
  | { at: number; kind: 'tick' };

class Queue {
  #items: (Item & { seq: number })[] = [];
  #seq = 0;
  push(item: Item): void {
    const h = this.#items;
    h.push({ ...item, seq: this.#seq++ });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#less(h[i]!, h[p]!)) {
        [h[i], h[p]] = [h[p]!, h[i]!];
        i = p;
      } else break;
    }
  }
  pop(): Item | undefined {
    const h = this.#items;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
  #less(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}

const CHAIN_ID = 'sim';
const text = new TextDecoder();

/** Signatures that only the holder of a validator's secret can make (a keyed hash). */
export function simCrypto(self: number, secrets: readonly Uint8Array[]): ConsensusCrypto {
  const mac = (i: number, payload: Uint8Array) => sha3_256(concatBytes(secrets[i]!, payload));
  return {
    digest: (block) => toHex(sha3_256(block)),
    sign: (payload) => mac(self, payload),
    verify: (voter, payload, sig) => toHex(mac(voter, payload)) === toHex(sig),
  };
}

export function simulate(opts: SimOptions): SimResult {
  const n = opts.n ?? 4;
  const rng = new Rng(opts.seed);
  const byz = opts.byzantine === undefined ? null : opts.byzantine;
  const gst = opts.gstMs ?? 6_000;
  const end = opts.endMs ?? gst + 40_000;
  const dropRate = opts.dropRate ?? 0.1;
  const dupRate = opts.dupRate ?? 0.05;
  const secrets = Array.from({ length: n }, (_, i) => sha3_256(utf8(`secret-${opts.seed}-${i}`)));
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const anyone = simCrypto(0, secrets); // for checking anybody's signatures
  const paramsOf = (id: number): ConsensusParams => ({
    chainId: CHAIN_ID,
    n,
    self: id,
    proposer: proposerFromOrder(order),
    timeouts: { proposeMs: 300, prevoteMs: 200, precommitMs: 200, deltaMs: 100 },
    crypto: simCrypto(id, secrets),
  });
  const nodes: Node[] = Array.from({ length: n }, (_, id) => ({
    id,
    state: initialState(paramsOf(id), 0),
    chain: [],
    persisted: undefined,
    up: true,
    crashing: false,
    incarnation: 0,
    mempool: new Set(),
    committed: new Set(),
  }));
  const honest = nodes.filter((x) => x.id !== byz);
  const decided = new Map<number, string>();
  /** Every vote an honest validator sent, by `validator/height/round/kind`. */
  const votesSent = new Map<string, string>();
  const proposalsSent = new Map<string, string>();
  let reproposals = 0;
  let midStepCrashes = 0;
  let unrecordedPrevotes = 0;
  let violation: string | null = null;
  let faults = 0;
  let roundChanges = 0;
  let events = 0;
  let now = 0;
  const q = new Queue();

  // Partitions before GST: windows in which one group hears nothing from the other.
  const partitions: { from: number; to: number; side: Set<number> }[] = [];
  if (opts.partitions ?? true)
    for (let k = 0; k < 2; k++) {
      const from = rng.int(0, gst - 1000);
      const side = new Set<number>([rng.int(0, n - 1)]);
      if (rng.chance(0.5)) side.add(rng.int(0, n - 1));
      partitions.push({ from, to: from + rng.int(300, 1500), side });
    }
  const cut = (a: number, b: number, at: number) =>
    partitions.some((p) => at >= p.from && at < p.to && p.side.has(a) !== p.side.has(b));

  const send = (from: number, to: number, msg: ConsensusMsg) => {
    if (to === from) return;
    const stable = now >= gst;
    if (!stable && (rng.chance(dropRate) || cut(from, to, now))) return;
    const copies = !stable && rng.chance(dupRate) ? 2 : 1;
    for (let c = 0; c < copies; c++)
      q.push({ at: now + (stable ? rng.int(1, 50) : rng.int(1, 400)), kind: 'deliver', node: to, from, msg });
  };

  const byzantineSend = (from: number, msg: ConsensusMsg) => {
    for (let to = 0; to < n; to++) {
      if (to === from || rng.chance(0.2)) continue; // withholds some messages
      let m: ConsensusMsg = msg;
      if ((m.type === 'prevote' || m.type === 'precommit') && rng.chance(0.5)) {
        // Equivocates: a vote for a block nobody proposed, different per receiver.
        // Signed as an honest validator's would be (round-0 prevotes are not).
        const digest = toHex(sha3_256(utf8(`fake-${to}-${m.round}`)));
        if (signedVote(m.type, m.round)) {
          const sig = nodes[from]!.state.params.crypto.sign(
            votePayload(m.type, CHAIN_ID, m.height, m.round, digest),
          );
          m = { ...m, digest, sig };
        } else m = { type: m.type, height: m.height, round: m.round, digest };
      } else if (m.type !== 'proposal' && m.type !== 'decision' && m.sig && rng.chance(0.3)) {
        // Forges: claims a signature it cannot make.
        m = { ...m, sig: sha3_256(utf8(`forged-${m.round}`)) };
      } else if (m.type === 'proposal' && rng.chance(0.5)) {
        // Equivocates as proposer: a different block for some receivers.
        m = { ...m, block: utf8(JSON.stringify({ h: m.height, txs: [`byz-${to}`] })) };
      }
      send(from, to, m);
    }
  };

  /** An event for this incarnation of `node` in `ms` (lost if it crashes meanwhile). */
  const later = (node: Node, ms: number, event: ConsensusEvent) =>
    q.push({ at: now + ms, kind: 'event', node: node.id, incarnation: node.incarnation, event });

  /** Records what an honest validator sends: a second, different vote is a violation. */
  const noteSent = (node: Node, msg: ConsensusMsg) => {
    if (node.id !== byz && msg.type === 'proposal') {
      const key = `${node.id}/${msg.height}/${msg.round}`;
      const digest = toHex(sha3_256(msg.block));
      if (proposalsSent.has(key) && proposalsSent.get(key) !== digest) reproposals++;
      proposalsSent.set(key, digest);
    }
    if (node.id === byz || (msg.type !== 'prevote' && msg.type !== 'precommit')) return;
    const key = `${node.id}/${msg.height}/${msg.round}/${msg.type}`;
    const digest = msg.digest ?? 'nil';
    const had = votesSent.get(key);
    if (had !== undefined && had !== digest)
      violation ??= `validator ${node.id} sent two different ${msg.type}s at height ${msg.height} round ${msg.round}`;
    votesSent.set(key, digest);
  };

  const perform = (node: Node, actions: readonly ConsensusAction[]) => {
    for (const a of actions) {
      if (a.type === 'broadcast' || a.type === 'send') noteSent(node, a.msg);
      switch (a.type) {
        case 'broadcast':
          if (node.id === byz) byzantineSend(node.id, a.msg);
          else for (let to = 0; to < n; to++) send(node.id, to, a.msg);
          break;
        case 'send':
          send(node.id, a.to, a.msg);
          break;
        case 'schedule':
          later(node, a.ms, { type: 'timeout', step: a.step, height: a.height, round: a.round });
          break;
        case 'requestBlock': {
          const txs = [...node.mempool].filter((t) => !node.committed.has(t)).slice(0, 20);
          // The incarnation makes a block rebuilt after a restart differ from the one before.
          const block = utf8(JSON.stringify({ h: a.height, txs, by: node.id, inc: node.incarnation }));
          later(node, 1, { type: 'block', height: a.height, round: a.round, block });
          break;
        }
        case 'validate': {
          let valid = false;
          try {
            const b = JSON.parse(text.decode(a.block)) as { h: number; txs: string[] };
            valid = b.h === a.height && b.txs.every((t) => !node.committed.has(t) && !t.startsWith('byz'));
          } catch {
            valid = false;
          }
          later(node, 2, { type: 'validated', height: a.height, digest: a.digest, valid });
          break;
        }
        case 'commit': {
          if (a.height !== node.chain.length)
            violation ??= `validator ${node.id} committed height ${a.height} out of order`;
          const digest = toHex(sha3_256(a.block));
          const problem = verifyCommitCert(a.cert, { chainId: CHAIN_ID, n, verify: anyone.verify });
          if (node.id !== byz) {
            if (problem)
              violation ??= `validator ${node.id} committed height ${a.height} with a bad certificate: ${problem}`;
            const other = decided.get(a.height);
            if (other !== undefined && other !== digest)
              violation ??= `two blocks decided at height ${a.height} (validator ${node.id})`;
            decided.set(a.height, digest);
          }
          node.chain.push({ block: a.block, digest, cert: a.cert });
          for (const t of blockTxs(a.block)) {
            if (node.committed.has(t)) violation ??= `validator ${node.id} committed ${t} twice`;
            node.committed.add(t);
            node.mempool.delete(t);
          }
          break;
        }
        case 'sendDecision': {
          const c = node.chain[a.height];
          if (c) send(node.id, a.to, { type: 'decision', height: a.height, block: c.block, cert: c.cert });
          break;
        }
        case 'persist':
          node.persisted = a.snapshot;
          break;
        case 'fault':
          faults++;
          break;
        case 'roundChange':
          roundChanges++;
          break;
      }
    }
  };

  const deliver = (node: Node, event: ConsensusEvent) => {
    if (!node.up) return;
    events++;
    const r = step(node.state, event);
    node.state = r.state;
    // As the runtime does: one sync for the step's snapshots.
    const actions = coalescePersists(r.actions);
    // A crash that is due falls inside the next step that sends and either syncs (the order of
    // the two matters) or sends a vote (a round-0 prevote leaves with no sync at all).
    const sends = actions.some((a) => a.type === 'broadcast' || a.type === 'send');
    const votes = actions.some(
      (a) => a.type === 'broadcast' && (a.msg.type === 'prevote' || a.msg.type === 'precommit'),
    );
    if (!node.crashing || !sends || !(votes || actions.some((a) => a.type === 'persist')))
      return perform(node, actions);
    // The process dies in the middle of this step: what it did so far stands, the rest is lost.
    perform(node, actions.slice(0, rng.int(0, actions.length)));
    midStepCrashes++;
    crashNow(node);
  };

  const crashNow = (node: Node) => {
    node.up = false;
    node.crashing = false;
    node.incarnation++;
  };

  // Schedule: start, ticks, transactions, crashes.
  for (const node of nodes)
    q.push({ at: rng.int(0, 50), kind: 'event', node: node.id, incarnation: 0, event: { type: 'start' } });
  for (let t = 200; t < end; t += 200) q.push({ at: t, kind: 'tick' });
  const txs: string[] = [];
  for (let i = 0; i < (opts.txs ?? 30); i++) txs.push(`tx-${i}`);
  const txTimes = txs.map(() => rng.int(0, gst + 2000));
  if (opts.crashes ?? true)
    for (let k = 0; k < 2; k++) {
      const victim = honest[rng.int(0, honest.length - 1)]!.id;
      const at = rng.int(100, gst - 500);
      q.push({ at, kind: 'crash', node: victim });
      q.push({ at: Math.min(gst, at + rng.int(200, 2000)), kind: 'restart', node: victim });
    }

  const pendingTx = txs.map((t, i) => ({ t, at: txTimes[i]! })).sort((a, b) => a.at - b.at);
  let nextTx = 0;
  for (;;) {
    const item = q.pop();
    if (!item || item.at > end || violation) break;
    now = item.at;
    while (nextTx < pendingTx.length && pendingTx[nextTx]!.at <= now) {
      for (const node of nodes) node.mempool.add(pendingTx[nextTx]!.t);
      nextTx++;
    }
    switch (item.kind) {
      case 'event': {
        const node = nodes[item.node]!;
        if (item.incarnation === node.incarnation) deliver(node, item.event);
        break;
      }
      case 'deliver':
        deliver(nodes[item.node]!, { type: 'message', from: item.from, msg: item.msg });
        break;
      case 'tick':
        for (const node of nodes) deliver(node, { type: 'tick' });
        break;
      case 'crash': {
        const node = nodes[item.node]!;
        if (rng.chance(0.5)) node.crashing = true;
        else crashNow(node);
        break;
      }
      case 'restart': {
        const node = nodes[item.node]!;
        if (node.crashing) crashNow(node); // no such step came between: it dies now
        if (node.up) break;
        node.up = true;
        node.incarnation++;
        const height = node.chain.length;
        const recorded =
          node.persisted?.height === height &&
          node.persisted.votes.some((v) => v.type === 'prevote' && v.round === 0);
        if (votesSent.has(`${node.id}/${height}/0/prevote`) && !recorded) unrecordedPrevotes++;
        node.state = initialState(paramsOf(node.id), height, node.persisted, true);
        deliver(node, { type: 'start' });
        break;
      }
    }
    if (now > gst && honest.every((h) => txs.every((t) => h.committed.has(t)))) break;
  }
  const missing = txs.filter((t) => !honest.every((h) => h.committed.has(t)));
  return {
    violation,
    missing,
    heights: nodes.map((x) => x.chain.length),
    faults,
    reproposals,
    midStepCrashes,
    unrecordedPrevotes,
    roundChanges,
    events,
  };
}

function blockTxs(block: Uint8Array): string[] {
  return (JSON.parse(text.decode(block)) as { txs: string[] }).txs;
}
