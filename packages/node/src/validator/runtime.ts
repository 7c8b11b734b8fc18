/**
 * The validator runtime: drives the pure consensus state machine (core/consensus) with
 * clocks, sockets, the mempool and the store. Every event goes through one queue, and the
 * actions of a step are carried out in order: a `persist` is on disk before any message
 * after it leaves (a step's persists coalesced into its last one), a `commit` is stored
 * before the next height is acted on.
 *
 * - Blocks: the proposer waits for at least one verified transaction, then `batchMs` more,
 *   then takes up to `maxBlockTxs`. It also waits (up to a second) while a link's QKD key
 *   buffer is below a few tags' worth, so when key is scarce fewer, larger blocks go out
 *   and key spent per transaction falls. A validator with nothing pending lets its propose
 *   timeout wait too, so an idle chain makes no empty blocks and spends no key.
 * - Proposals travel compact: the block's transactions by Merkle leaf (compact.ts), rebuilt
 *   by each receiver from the transactions gossip brought, missing ones asked of the peers.
 * - Validation: a proposed block is decoded and applied to the state with its signature
 *   checks deferred; checks of transactions this validator already verified (on admission
 *   or gossip) are skipped, those whose admission check is under way are waited for
 *   (block-sigs.ts), the rest run on the worker pool.
 * - Transactions: admitted to the mempool with their signatures checked on the worker pool
 *   in batches, then gossiped to every peer in batches (they are signed, so gossip needs no
 *   link tag). Decided blocks for a validator that is behind come with their certificates.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  type ApplyResult,
  afterCatchUp,
  applyBlock,
  type Block,
  blockHash,
  buildBlock,
  type CommitCert,
  type ConsensusAction,
  type ConsensusEvent,
  type ConsensusMsg,
  type ConsensusParams,
  type ConsensusState,
  type CryptoBackend,
  coalescePersists,
  decode,
  decodeCert,
  decodeConsensusMsg,
  decodeSnapshot,
  decodeTx,
  encode,
  encodeCert,
  encodeConsensusMsg,
  encodeSnapshot,
  epochLength,
  epochOf,
  epochSeed,
  equalBytes,
  FIRST_BEACON_EPOCH,
  type GenesisConfig,
  genesisBlock,
  initialState,
  type LedgerParams,
  type LedgerState,
  leaderOrder,
  Mempool,
  merkleLeaf,
  nobleBackend,
  QledgerError,
  type SigAlg,
  type SigCheck,
  STATE_KEYS,
  seedFixedAt,
  step,
  type TxEnvelope,
  toHex,
  txIdHex,
  txLeaf,
  verifyCommitCert,
} from '@qledger/core';
import type { Logger } from 'pino';
import { createOqsBackend, nativeHashes } from '../crypto/index.js';
import { SignaturePool } from '../ledger/sig-pool.js';
import { Etsi014Client } from '../qkd/etsi014.js';
import { createEntropyMixer } from '../qrng/config.js';
import { initStore, loadState, openStore, storedGenesis } from '../storage/open.js';
import type { ChainStore } from '../storage/types.js';
import { BeaconDuty } from './beacon-duty.js';
import { checkBlockSignatures } from './block-sigs.js';
import { CompactInbox, wantedTxs } from './compact.js';
import type { NodeConfig } from './config.js';
import { FRAME, type FrameType } from './frames.js';
import { readSigningKey } from './keyfile.js';
import { LinkAuth, TAG_BYTES } from './link.js';
import { NonceSource } from './nonces.js';
import { bitsPerHeight, paceWait } from './pacing.js';
import { PeerNetwork } from './peers.js';
import { HeightPhases } from './phases.js';
import { ThriftyVotes } from './thrifty.js';
import { compactValue, decodeValue, encodeRawValue, encodeValue, sameBytes, valueDigest } from './value.js';

const hashes = nativeHashes;
const SYNC_BATCH = 32;
const REJECTED_KEPT = 100_000;
const GOSSIP_MS = 5;
/** Local record: this validator's consensus has started once (see #startConsensus). */
const STARTED = 'consensus-started';

export type TxState =
  | { status: 'pending' }
  | { status: 'committed'; height: number; index: number }
  | { status: 'rejected'; code: string; message: string }
  | { status: 'unknown' };

export interface BlockEvent {
  readonly height: number;
  readonly hash: string;
  readonly time: number;
  readonly proposer: string;
  readonly round: number;
  readonly txs: readonly string[];
}

interface Validated {
  readonly block: Block;
  readonly apply: Extract<ApplyResult, { ok: true }>;
}

/** A transaction awaiting its admission check; `gossip`: a client's bytes, passed on once it passes. */
interface Admission {
  env: TxEnvelope;
  gossip: Uint8Array | null;
  /** The answer, for a caller waiting on it (none for gossip). */
  resolve: ((r: TxState & { id: string }) => void) | null;
}

export class Validator {
  readonly events = new EventEmitter();
  readonly name: string;
  readonly index: number;
  readonly names: readonly string[];
  readonly chainId: string;
  readonly startedAt = Date.now();
  #store: ChainStore;
  #state: LedgerState;
  #params: LedgerParams;
  #crypto: CryptoBackend & { destroy(): void };
  #pool: SignaturePool;
  #mempool: Mempool;
  #net!: PeerNetwork;
  #links = new Map<number, LinkAuth>();
  #kme: Etsi014Client | null = null;
  /** Handshake nonces from the health-tested QRNG mix (GET /v1/qrng reports it). */
  readonly #nonces: NonceSource;
  readonly #validatorKeys: readonly { name: string; sigAlg: string; sigKey: Uint8Array }[];
  /** The validator's ML-DSA secret key: signs votes and the link key exchange; zeroed on stop. */
  readonly #secretKey: Uint8Array;
  readonly #genesisHash: Uint8Array;
  /** Leader order per epoch, from the beacon seed the chain fixed for it. */
  readonly #orders = new Map<number, number[]>();
  readonly #beacon: BeaconDuty;
  #cs!: ConsensusState;
  #cparams: ConsensusParams;
  #queue: Promise<void> = Promise.resolve();
  #timers = new Set<NodeJS.Timeout>();
  #validated = new Map<string, Validated>();
  /**
   * The signature checks each admitted transaction passed. A transaction id covers the
   * unsigned transaction only, so a skipped check must match key and signature bytes.
   */
  #verified = new Map<string, SigCheck[]>();
  #rejected = new Map<string, { code: string; message: string }>();
  /**
   * Decoded envelopes of pending transactions by their Merkle leaf (hex): blocks reuse them, and
   * a compact proposal names its transactions by leaf.
   */
  #envelopes = new Map<string, TxEnvelope>();
  /**
   * Admissions under way: each envelope's deferred signature checks, and a promise that
   * settles once its check has finished (passed or failed). A plain map, emptied by
   * #admitChecked: weak maps cost the collector an ephemeron per entry, several per
   * transaction at saturation.
   */
  readonly #admitting = new Map<TxEnvelope, { checks: SigCheck[]; done: Promise<void> }>();
  readonly #known = (bytes: Uint8Array): TxEnvelope | undefined => {
    const env = this.#envelopes.get(toHex(merkleLeaf(hashes, bytes)));
    return env && sameBytes(env.bytes, bytes) ? env : undefined;
  };
  /** Blocks rebuilt from compact proposals, by digest, for their validation. */
  #expanded = new Map<string, Block>();
  /** The transactions of the last RECENT_BLOCKS decided blocks, newest first (for TX_WANT). */
  #recent: (readonly TxEnvelope[])[] = [];
  readonly #inbox: CompactInbox;
  #awaiting: { height: number; round: number } | null = null;
  #building = false;
  /** When this height began here (its predecessor stored), and when the previous one did. */
  #heightBegan = Number.NEGATIVE_INFINITY;
  #previousBegan = Number.NEGATIVE_INFINITY;
  /** Round-0 votes for relayed peers, held until the height turns out to need them (thrifty.ts). */
  #thrifty!: ThriftyVotes;
  #held: { height: number; to: readonly number[]; bytes: Uint8Array }[] = [];
  #heldTimer: NodeJS.Timeout | undefined;
  #admit: Admission[] = [];
  /** Settles when the admission check of the transactions now in #admit has finished. */
  #admitBatch: { promise: Promise<void>; resolve: () => void } | null = null;
  #admitScheduled = false;
  #gossip: Uint8Array[] = [];
  #gossipTimer: NodeJS.Timeout | undefined;
  #lastGossip = 0;
  #lastSyncAsk = new Map<number, number>();
  #lastProgress = performance.now();
  #tick: NodeJS.Timeout | undefined;
  #stopping = false;
  readonly #log: Logger;
  readonly #cfg: NodeConfig;
  readonly stats = {
    blocks: 0,
    txsCommitted: 0,
    roundChanges: 0,
    faults: 0,
    lastCommitMs: 0,
    synced: 0,
    proposed: 0,
    persistsSkipped: 0,
    /** Snapshots not written because a later one of the same step carried them. */
    persistsMerged: 0,
    /** Consensus snapshots written, and their bytes (the block in them dominates). */
    persists: 0,
    persistBytes: 0,
    /** Compact proposals sent, and TX_WANT frames answered (status() adds the inbox's counts). */
    compactSent: 0,
    txWantServed: 0,
    /** Signatures checked on admission, and those a proposed block still needed. */
    admissionSigChecks: 0,
    blockSigChecks: 0,
    /** Block signatures not checked again because their admission check was under way. */
    blockSigWaits: 0,
    /** Heights this validator proposed later to pace them to its dry links' key (pacing.ts). */
    pacedHeights: 0,
    /** Votes held back from relayed peers, and heights whose held votes then went out (thrifty.ts). */
    votesHeld: 0,
    thriftyFallbacks: 0,
  };
  /** Milliseconds spent, by part (status().timing): where a validator's time goes. */
  readonly timing: Record<string, number> = {};
  /** Where each height's time goes, phase by phase (status().heightPhases). */
  readonly #phases = new HeightPhases();

  #timed<T>(part: string, f: () => T): T {
    const t = performance.now();
    try {
      return f();
    } finally {
      this.#spent(part, t);
    }
  }

  /** Adds the time since `since` to `part` (for awaited work, which #timed cannot wrap). */
  #spent(part: string, since: number): void {
    this.timing[part] = (this.timing[part] ?? 0) + performance.now() - since;
  }

  private constructor(
    cfg: NodeConfig,
    log: Logger,
    store: ChainStore,
    genesis: GenesisConfig,
    state: LedgerState,
    crypto: CryptoBackend & { destroy(): void },
    pool: SignaturePool,
    secretKey: Uint8Array,
    genesisHash: Uint8Array,
  ) {
    this.#secretKey = secretKey;
    this.#genesisHash = genesisHash;
    this.#nonces = new NonceSource(
      createEntropyMixer(cfg.qrng, {
        onEvent: (e) =>
          e.type === 'startup-passed'
            ? log.info({ qrng: e }, 'QRNG event')
            : log.warn({ qrng: e }, 'QRNG event'),
      }),
    );
    this.#cfg = cfg;
    this.#log = log;
    this.#store = store;
    this.#state = state;
    this.#crypto = crypto;
    this.#pool = pool;
    this.#params = genesis.params;
    this.#inbox = new CompactInbox({
      params: this.#params,
      hashes,
      envelope: (leafHex) => this.#envelopes.get(leafHex),
      // Every connected peer: the first answer completes the proposal, and the proposer, the one
      // sure to hold every transaction, may be the busiest of them.
      want: (_from, leaves) => {
        for (const i of this.#links.keys()) this.#net.send(i, FRAME.TX_WANT, leaves);
      },
      deliver: (from, msg, block) => {
        if (this.#expanded.size >= EXPANDED_MAX) this.#expanded.delete(this.#expanded.keys().next().value!);
        this.#expanded.set(valueDigest(hashes, msg.block), block);
        this.#enqueue({ type: 'message', from, msg });
      },
      refuse: (from, why) => {
        this.stats.faults++;
        this.#log.warn({ from: this.names[from], err: why }, 'compact proposal refused');
      },
    });
    this.chainId = genesis.chainId;
    this.names = genesis.validators.map((v) => v.name);
    this.name = cfg.name;
    this.index = this.names.indexOf(cfg.name);
    this.#mempool = new Mempool(state, { ...cfg.mempool, hashes, crypto });
    const keys = genesis.validators.map((v) => ({ alg: v.sigAlg as SigAlg, key: v.sigKey }));
    this.#validatorKeys = genesis.validators.map((v) => ({
      name: v.name,
      sigAlg: v.sigAlg,
      sigKey: v.sigKey,
    }));
    const self = keys[this.index]!;
    this.#cparams = {
      chainId: this.chainId,
      n: this.names.length,
      self: this.index,
      proposer: (height, round) => this.#proposerAt(height, round),
      timeouts: cfg.consensus,
      crypto: {
        digest: (b) => valueDigest(hashes, b),
        sign: (payload) => crypto.signer(self.alg).sign(payload, secretKey),
        verify: (voter, payload, sig) => {
          const k = keys[voter];
          if (!k) return false;
          try {
            return crypto.signer(k.alg).verify(sig, payload, k.key);
          } catch {
            return false;
          }
        },
      },
    };
    this.#beacon = new BeaconDuty({
      name: this.name,
      slot: this.index,
      chainId: this.chainId,
      params: this.#params,
      alg: self.alg,
      secretKey,
      crypto,
      hashes,
      store,
      state: () => this.#state,
      draw: (n) => this.#nonces.take(n),
      submit: (bytes) => this.submit(bytes),
      log,
    });
  }

  /**
   * The proposer of (height, round): the epoch's order, drawn from the seed the chain fixed
   * for it at the second-to-last height of the epoch before (ledger/beacon.ts), or from the
   * genesis hash in the first two epochs. Successive heights and failed rounds walk
   * the order, so every validator leads in turn.
   */
  #proposerAt(height: number, round: number): number {
    const n = this.names.length;
    const e = epochOf(height, epochLength(this.#params));
    let order = this.#orders.get(e);
    if (!order) {
      const seed = epochSeed(this.#state, e)?.seed;
      order = leaderOrder(seed ?? this.#genesisHash, n);
      // Cache only what can no longer change: the seed of e, once the block fixing it applied.
      // The machine asks for height h as it decides h − 1, before this runtime has applied
      // that block: the seed is fixed at h − 2 at the latest for that reason (ledger/beacon.ts).
      if (e < FIRST_BEACON_EPOCH || this.#state.height >= seedFixedAt(e, epochLength(this.#params))) {
        this.#orders.set(e, order);
        for (const k of this.#orders.keys()) if (k < e - 1) this.#orders.delete(k);
      }
    }
    return order[(height + round) % n]!;
  }

  /** The leader-order beacon as the committed state holds it (GET /v1/status). */
  beaconStatus() {
    const length = epochLength(this.#params);
    const epoch = epochOf(this.#state.height + 1, length);
    const s = epochSeed(this.#state, epoch);
    return {
      epoch,
      epochLength: length,
      nextEpochAt: (epoch + 1) * length + 1,
      source:
        s === undefined
          ? ('genesis' as const)
          : s.contributors.length
            ? ('beacon' as const)
            : ('fallback' as const),
      contributors: s ? [...s.contributors] : [],
      ...this.#beacon.stats,
    };
  }

  static async start(cfg: NodeConfig, log: Logger): Promise<Validator> {
    const store = await openStore(cfg.store, { synchronous: cfg.synchronous });
    let pool: SignaturePool | undefined;
    let crypto: (CryptoBackend & { destroy(): void }) | undefined;
    try {
      const text = readFileSync(cfg.genesis, 'utf8');
      if ((await store.genesisText()) === null)
        await initStore(store, text, { hashes, crypto: nobleBackend });
      const { text: stored, config: genesis } = await storedGenesis(store);
      if (stored !== text)
        throw new QledgerError(
          'CONFIG_INVALID',
          `genesis: ${cfg.genesis} differs from the chain in the store`,
        );
      const index = genesis.validators.findIndex((v) => v.name === cfg.name);
      if (index < 0)
        throw new QledgerError('CONFIG_INVALID', `name: ${cfg.name} is not a validator in genesis`);
      const key = readSigningKey(cfg.key);
      const mine = genesis.validators[index]!;
      if (key.alg !== mine.sigAlg || !equalBytes(key.publicKey, mine.sigKey))
        throw new QledgerError(
          'CONFIG_INVALID',
          `key: ${cfg.key} is not the key genesis names for ${cfg.name}`,
        );
      for (const p of cfg.peers)
        if (!genesis.validators.some((v) => v.name === p.name))
          throw new QledgerError('CONFIG_INVALID', `peers: ${p.name} is not a validator in genesis`);
      crypto = await createOqsBackend();
      pool = await SignaturePool.create(Math.max(1, Math.min(2, availableParallelism())), { crypto });
      const state = await loadState(store, { hashes, crypto });
      if (state.get(STATE_KEYS.validatorSet) === undefined)
        throw new QledgerError(
          'CONFIG_INVALID',
          `store: this chain was made by a qledger older than the leader beacon (its state has no validator set); start a new chain in another store`,
        );
      const g = genesisBlock(genesis, hashes);
      const v = new Validator(cfg, log, store, genesis, state, crypto, pool, key.secretKey, g.hash);
      await v.#startNetwork(genesis);
      await v.#startConsensus();
      void v.#beacon.poke();
      return v;
    } catch (e) {
      await pool?.close();
      crypto?.destroy();
      await store.close();
      throw e;
    }
  }

  get height(): number {
    return this.#state.height;
  }

  get peerPort(): number {
    return this.#net.port;
  }

  async #startNetwork(genesis: GenesisConfig): Promise<void> {
    const cfg = this.#cfg;
    const read = (f: string) => readFileSync(f, 'utf8');
    const tls = {
      ca: read(`${cfg.pki}/ca.crt`),
      cert: read(`${cfg.pki}/validator/${cfg.name}.crt`),
      key: read(`${cfg.pki}/validator/${cfg.name}.key`),
    };
    const kme = cfg.kme
      ? new Etsi014Client({
          url: cfg.kme.url,
          ca: tls.ca,
          cert: read(`${cfg.pki}/sae/${cfg.name}.crt`),
          key: read(`${cfg.pki}/sae/${cfg.name}.key`),
          ...(cfg.kme.name ? { kmeName: cfg.kme.name } : {}),
          timeoutMs: 5000,
          retries: 2,
        })
      : null;
    this.#kme = kme;
    const peers = cfg.peers.map((p) => {
      const i = this.names.indexOf(p.name);
      const v = genesis.validators[i]!;
      return { index: i, name: p.name, host: p.host, port: p.port, sigAlg: v.sigAlg, sigKey: v.sigKey };
    });
    for (const p of peers) {
      this.#links.set(
        p.index,
        new LinkAuth({
          self: cfg.name,
          peer: p.name,
          kme,
          recordKeyIds: (link, ids) => this.#store.recordKeyIds(link, ids),
          hashes,
          requireQkd: cfg.requireQkd,
          ...cfg.keyBuffer,
          log: this.#log,
          announce: (ids) => this.#net.announce(p.index, ids),
          onBroken: (why) => this.#net.reset(p.index, why),
        }),
      );
    }
    const n = genesis.validators.length;
    this.#thrifty = new ThriftyVotes({
      peers: peers.map((p) => p.index),
      relayed: cfg.peers.filter((p) => p.relayed).map((p) => this.names.indexOf(p.name)),
      quorumPeers: 2 * Math.floor((n - 1) / 3),
      enabled: cfg.consensus.thriftyVotes,
    });
    const mine = genesis.validators[this.index]!;
    this.#net = new PeerNetwork({
      chainId: this.chainId,
      self: { index: this.index, name: cfg.name, sigAlg: mine.sigAlg },
      secretKey: this.#secretKey,
      listen: cfg.listen,
      peers,
      tls,
      crypto: this.#crypto,
      hashes,
      links: this.#links,
      log: this.#log,
      onConsensus: (from, bytes, compact) => this.#onConsensus(from, bytes, compact),
      onFrame: (from, type, payload) => this.#onFrame(from, type, payload),
      nonce: (n) => this.#nonces.take(n),
      onConnected: (peer) => {
        // Catch up with a peer that is ahead (a restart, a partition), then re-send our votes.
        this.#net.send(peer, FRAME.SYNC_REQ, encode([this.#state.height + 1]));
        this.#enqueue({ type: 'tick' });
      },
    });
    await this.#net.start();
  }

  async #startConsensus(): Promise<void> {
    const snap = await this.#store.consensus();
    const height = this.#state.height + 1;
    const snapshot = snap ? decodeSnapshot(snap) : undefined;
    // A round-0 prevote leaves before any sync (machine.ts, `vote`), so a validator that has
    // ever run may have sent one that its store does not know of. Its very first start is told
    // apart by a durable mark, written before it can vote at all.
    const restarted = snap !== null || height > 1 || (await this.#store.local(STARTED)) !== null;
    if (!restarted) await this.#store.saveLocal({ [STARTED]: new Uint8Array([1]) });
    this.#cs = initialState(
      this.#cparams,
      height,
      snapshot?.height === height ? snapshot : undefined,
      restarted,
    );
    this.#enqueue({ type: 'start' });
    this.#tick = setInterval(() => {
      if (performance.now() - this.#lastProgress >= this.#cfg.consensus.tickMs) {
        this.#lastProgress = performance.now();
        this.#enqueue({ type: 'tick' });
      }
    }, this.#cfg.consensus.tickMs / 2);
    this.#tick.unref();
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#tick);
    clearTimeout(this.#gossipTimer);
    for (const t of this.#timers) clearTimeout(t);
    await this.#beacon.close();
    await this.#net.close();
    await this.#queue.catch(() => {});
    for (const l of this.#links.values()) l.close();
    this.#kme?.close();
    this.#nonces.close();
    await this.#pool.close();
    this.#crypto.destroy();
    this.#secretKey.fill(0);
    await this.#store.close();
  }

  // ---- the event queue ----------------------------------------------------------------------

  #enqueue(e: ConsensusEvent): void {
    this.#run(async () => this.#handle(e));
  }

  #run(job: () => Promise<void>): void {
    if (this.#stopping) return;
    this.#queue = this.#queue.then(job).catch((err) => {
      this.#log.fatal({ err }, 'consensus runtime failed');
      this.events.emit('fatal', err);
    });
  }

  async #handle(e: ConsensusEvent): Promise<void> {
    if (this.#stopping) return;
    if (e.type === 'block' && e.round === 0) this.#phases.mark(e.height, 'proposal', performance.now());
    else if (e.type === 'message' && e.msg.type === 'proposal' && e.msg.round === 0)
      this.#phases.mark(e.msg.height, 'proposal', performance.now());
    const r = this.#timed('step', () => step(this.#cs, e));
    this.#cs = r.state;
    const t = performance.now();
    const actions = coalescePersists(r.actions);
    this.stats.persistsMerged += r.actions.length - actions.length;
    for (const a of actions) await this.#act(a);
    this.#spent('actions', t);
  }

  async #act(a: ConsensusAction): Promise<void> {
    switch (a.type) {
      case 'broadcast': {
        const m = a.msg;
        if ((m.type === 'prevote' || m.type === 'precommit') && m.round === 0 && m.digest !== null)
          this.#phases.mark(m.height, m.type, performance.now());
        const compact = this.#compact(m);
        if (compact) this.#net.broadcastConsensus(this.#links.keys(), compact, FRAME.PROPOSAL);
        else if (m.type === 'prevote' || m.type === 'precommit') {
          const bytes = encodeConsensusMsg(m);
          const route = this.#thrifty.route(
            m.type,
            m.height,
            m.round,
            m.digest !== null,
            (i) => this.#net.isConnected(i),
            performance.now(),
          );
          this.#net.broadcastConsensus(route.now, bytes);
          if (route.later.length > 0) this.#hold(m.height, route.later, bytes);
        } else this.#net.broadcastConsensus(this.#links.keys(), encodeConsensusMsg(m));
        return;
      }
      case 'send': {
        const compact = this.#compact(a.msg);
        if (compact) this.#net.sendConsensus(a.to, compact, undefined, FRAME.PROPOSAL);
        else this.#net.sendConsensus(a.to, encodeConsensusMsg(a.msg));
        return;
      }
      case 'schedule':
        this.#schedule(a.step, a.height, a.round, a.ms);
        return;
      case 'requestBlock':
        this.#awaiting = { height: a.height, round: a.round };
        this.#maybeBuild();
        return;
      case 'validate':
        void this.#validate(a.height, a.digest, a.block);
        return;
      case 'commit':
        await this.#commit(a.height, a.block, a.cert);
        return;
      case 'sendDecision': {
        const d = await this.#decision(a.height);
        if (d) this.#net.sendConsensus(a.to, encodeConsensusMsg(d));
        return;
      }
      case 'persist': {
        // A snapshot that holds nothing of this validator's (round 0, no vote, no proposal, no
        // lock) is what a restart starts from anyway: the stored one, of the committed
        // height, is ignored. Writing it would only add a sync to every height's critical path.
        const sn = a.snapshot;
        if (sn.round === 0 && !sn.locked && !sn.valid && sn.votes.length === 0 && sn.proposals.length === 0) {
          this.stats.persistsSkipped++;
          return;
        }
        const t = performance.now();
        const snap = encodeSnapshot(a.snapshot);
        this.stats.persists++;
        this.stats.persistBytes += snap.length;
        await this.#store.saveConsensus(snap);
        this.#spent('persist', t);
        return;
      }
      case 'fault':
        this.stats.faults++;
        this.#log.warn({ from: this.names[a.from], fault: a.fault, detail: a.detail }, 'consensus fault');
        return;
      case 'roundChange':
        this.stats.roundChanges++;
        this.#log.info({ height: a.height, round: a.round }, 'view change');
        this.events.emit('viewChange', { height: a.height, round: a.round });
        return;
    }
  }

  /**
   * Holds a vote for the relayed peers `to`; if `height` is still undecided when the delay is
   * up, the held votes go out (and its later votes go to everyone at once).
   */
  #hold(height: number, to: readonly number[], bytes: Uint8Array): void {
    this.#held.push({ height, to, bytes });
    this.stats.votesHeld++;
    this.#armHeld();
  }

  #armHeld(): void {
    if (this.#heldTimer !== undefined || this.#held.length === 0) return;
    const height = this.#held[0]!.height;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#heldTimer = undefined;
      if (this.#stopping) return;
      // Still undecided: the held votes go out. Decided meanwhile: they are moot.
      if (height === this.#cs.height) {
        this.stats.thriftyFallbacks++;
        this.#thrifty.fellBack(height);
        for (const h of this.#held) if (h.height === height) this.#net.broadcastConsensus(h.to, h.bytes);
      }
      this.#held = this.#held.filter((h) => h.height > height);
      this.#armHeld();
    }, this.#thrifty.delayMs());
    this.#heldTimer = t;
    this.#timers.add(t);
  }

  /** `height` is decided: its held votes are not needed. */
  #releaseHeld(height: number, cert: CommitCert): void {
    this.#thrifty.decided(height, cert.round, performance.now(), new Set(cert.sigs.map((s) => s.voter)));
    this.#held = this.#held.filter((h) => h.height > height);
    if (this.#held.length === 0 && this.#heldTimer !== undefined) {
      clearTimeout(this.#heldTimer);
      this.#timers.delete(this.#heldTimer);
      this.#heldTimer = undefined;
    }
  }

  #schedule(stepName: 'propose' | 'prevote' | 'precommit', height: number, round: number, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (height !== this.#cs.height || round < this.#cs.round) return;
      // Idle: nothing to decide, so no reason to move past a silent proposer, unless another
      // validator already voted in this round (it has something pending that we lack).
      const heard = (this.#cs.rounds.get(round)?.prevotes.size ?? 0) > 0;
      if (stepName === 'propose' && this.#mempool.size === 0 && this.#cs.step === 'propose' && !heard) {
        this.#schedule(stepName, height, round, ms);
        return;
      }
      this.#enqueue({ type: 'timeout', step: stepName, height, round });
    }, ms);
    this.#timers.add(t);
  }

  // ---- proposing ----------------------------------------------------------------------------

  #maybeBuild(): void {
    const want = this.#awaiting;
    if (!want || this.#building || this.#mempool.take(1, Number.MAX_SAFE_INTEGER).length === 0) return;
    this.#building = true;
    const started = performance.now();
    let paced: number | null = null;
    const attempt = () => {
      const w = this.#awaiting;
      if (!w || w.height !== want.height || w.round !== want.round) {
        this.#building = false;
        return;
      }
      // Dry links: not sooner after the previous height began than they can pay for a height at
      // the rate they deliver, so heights come one at a time, not in runs and stops (pacing.ts).
      if (w.round === 0) {
        const now = performance.now();
        const n = this.#links.size + 1;
        const dry = [...this.#links.entries()]
          .filter(([i]) => this.#net.isConnected(i))
          .map(([i, l]) => ({
            rate: l.dryKeyRate(now),
            bits: bitsPerHeight(n, TAG_BYTES, !this.#thrifty.holdsFor(i)),
          }));
        const wait = paceWait(dry, now - this.#previousBegan);
        if (wait > 0) {
          if (paced === null) {
            paced = now;
            this.stats.pacedHeights++;
          }
          // Held with the consensus timers: a validator that stops while pacing does not
          // linger for up to a second, nor build after its store has closed.
          const t = setTimeout(() => {
            this.#timers.delete(t);
            attempt();
          }, wait);
          this.#timers.add(t);
          return;
        }
      }
      if (paced !== null) {
        this.#spent('pace', paced);
        paced = null;
      }
      // Scarce QKD key: wait (up to a second) so the block grows instead of spending key.
      const scarce = [...this.#links.entries()].some(
        ([i, l]) => this.#net.isConnected(i) && l.sendBudget < 4 * TAG_BYTES,
      );
      if (scarce && performance.now() - started < 1000) {
        setTimeout(attempt, 10);
        return;
      }
      this.#building = false;
      this.#awaiting = null;
      const txs = this.#mempool.take(
        Math.min(this.#cfg.consensus.maxBlockTxs, this.#params.maxBlockTxs),
        this.#params.maxBlockBytes,
      );
      let built: ReturnType<typeof buildBlock>;
      try {
        built = buildBlock(
          this.#state,
          txs,
          { time: Date.now(), proposer: this.name, view: want.round },
          { hashes, crypto: this.#crypto, signatures: 'defer' },
        );
      } catch (e) {
        this.#log.error({ err: e }, 'could not build a block from the mempool');
        return;
      }
      const value = encodeValue(built.block);
      const digest = valueDigest(hashes, value);
      this.#validated.set(digest, {
        block: built.block,
        apply: { ok: true, state: built.state, changes: built.changes, hash: built.hash, deferred: [] },
      });
      this.stats.proposed++;
      this.#enqueue({ type: 'block', height: want.height, round: want.round, block: value });
    };
    setTimeout(attempt, this.#cfg.consensus.batchMs);
  }

  // ---- validating and committing ------------------------------------------------------------

  async #validate(height: number, digest: string, value: Uint8Array): Promise<void> {
    let valid = false;
    try {
      if (this.#validated.has(digest)) valid = true;
      else if (height === this.#state.height + 1) {
        const block =
          this.#expanded.get(digest) ??
          this.#timed('decode', () => decodeValue(value, this.#params, hashes, this.#known));
        const apply = this.#timed('apply', () =>
          applyBlock(this.#state, block, { hashes, crypto: this.#crypto, signatures: 'defer' }),
        );
        if (!apply.ok) {
          this.#log.warn(
            { height, code: apply.error.code, err: apply.error.message },
            'proposed block refused',
          );
        } else if (block.header.time > Date.now() + 10_000) {
          this.#log.warn({ height }, 'proposed block is from the future');
        } else {
          const { bad, checked, waited } = await checkBlockSignatures(block.txs, apply.deferred, {
            verified: (env, c) => this.#alreadyVerified(env, c),
            admission: (env) => this.#admitting.get(env)?.done,
            check: (checks) => this.#pool.check(checks),
          });
          this.stats.blockSigChecks += checked;
          this.stats.blockSigWaits += waited;
          if (bad >= 0) this.#log.warn({ height, index: bad }, 'proposed block has a bad signature');
          else if (height === this.#state.height + 1) {
            this.#validated.set(digest, { block, apply });
            valid = true;
          }
        }
      }
    } catch (e) {
      if (!(e instanceof QledgerError)) throw e;
      this.#log.warn({ height, code: e.code, err: e.message }, 'proposed block is malformed');
    }
    this.#enqueue({ type: 'validated', height, digest, valid });
  }

  #alreadyVerified(env: TxEnvelope, c: SigCheck): boolean {
    const done = this.#verified.get(txIdHex(env));
    // Usually the very same arrays (the envelope's signature, the state's key), so no byte-wise
    // compare is needed.
    const same = (a: Uint8Array, b: Uint8Array) => a === b || sameBytes(a, b);
    return (
      done?.some(
        (d) => d.alg === c.alg && same(d.signature, c.signature) && same(d.publicKey, c.publicKey),
      ) ?? false
    );
  }

  async #commit(height: number, value: Uint8Array, cert: CommitCert): Promise<void> {
    const t0 = performance.now();
    const digest = cert.digest;
    let v = this.#validated.get(digest);
    if (!v) {
      // Decided by a quorum we only heard of (a decision message): apply it on their word,
      // the certificate being 2f + 1 validators' signatures over its hash.
      const block = decodeValue(value, this.#params, hashes, this.#known);
      const apply = applyBlock(this.#state, block, { hashes, crypto: this.#crypto, signatures: 'defer' });
      if (!apply.ok) throw new Error(`decided block ${height} does not apply: ${apply.error.message}`);
      v = { block, apply };
    }
    await this.#append(v.block, v.apply, cert);
    this.stats.lastCommitMs = performance.now() - t0;
  }

  async #append(block: Block, apply: Extract<ApplyResult, { ok: true }>, cert: CommitCert): Promise<void> {
    const t0 = performance.now();
    // Not waiting for the disk: a decided block is held by its 2f + 1 signers, and this
    // validator's next vote is a durable write that carries the block to disk with it (the
    // journal is flushed in order). A power loss in between loses the block, whole, to be
    // fetched again from a peer; a killed process loses nothing.
    await this.#store.append(
      { block, hash: apply.hash, changes: apply.changes, state: apply.state, cert: encodeCert(cert) },
      { durable: false },
    );
    this.#spent('append', t0);
    const stored = performance.now();
    this.#phases.stored(block.header.height, cert.round, stored);
    this.#phases.start(block.header.height + 1, stored);
    this.#previousBegan = this.#heightBegan;
    this.#heightBegan = stored;
    this.#releaseHeld(block.header.height, cert);
    this.#state = apply.state;
    this.#validated.clear();
    this.#expanded.clear();
    this.#inbox.committed(block.header.height);
    this.#recent = [block.txs, ...this.#recent].slice(0, RECENT_BLOCKS);
    // A request to build at this height (or before) is moot now.
    if (this.#awaiting && this.#awaiting.height <= block.header.height) this.#awaiting = null;
    this.#lastProgress = performance.now();
    const ids = block.txs.map((t) => t.id);
    for (const t of block.txs) {
      const id = txIdHex(t);
      this.#verified.delete(id);
      this.#rejected.delete(id);
      this.#forgetEnvelope(t);
    }
    // Signatures still being checked on admission are not re-judged here.
    const dropped = this.#timed('rebase', () =>
      this.#mempool.rebase(
        apply.state,
        ids,
        Date.now(),
        (env, checks) => this.#admitting.has(env) || checks.every((c) => this.#alreadyVerified(env, c)),
      ),
    );
    for (const d of dropped) this.#reject(d.env, d.error);
    void this.#beacon.poke();
    this.stats.blocks++;
    this.stats.txsCommitted += block.txs.length;
    const ev: BlockEvent = {
      height: block.header.height,
      hash: toHex(apply.hash),
      time: block.header.time,
      proposer: block.header.proposer,
      round: cert.round,
      txs: block.txs.map(txIdHex),
    };
    this.events.emit('block', ev);
    if (this.#awaiting) this.#maybeBuild();
  }

  #reject(env: TxEnvelope, e: QledgerError): void {
    const id = txIdHex(env);
    this.#verified.delete(id);
    this.#forgetEnvelope(env);
    if (this.#rejected.size >= REJECTED_KEPT) this.#rejected.delete(this.#rejected.keys().next().value!);
    this.#rejected.set(id, { code: e.code, message: e.message });
  }

  /**
   * Drops the envelope cached for `env`'s bytes (the same bytes may have been admitted as
   * another envelope after a block brought these). Leaves are remembered per envelope, so this
   * hashes nothing for a transaction admitted or validated here.
   */
  #forgetEnvelope(env: TxEnvelope): void {
    this.#envelopes.delete(toHex(txLeaf(hashes, env)));
  }

  async #decision(height: number) {
    const b = await this.#store.blockByHeight(height);
    if (!b?.cert) return null;
    return {
      type: 'decision' as const,
      height,
      block: encodeRawValue(b.headerBytes, b.txs),
      cert: decodeCert(b.cert),
    };
  }

  // ---- messages from peers ------------------------------------------------------------------

  #onConsensus(from: number, bytes: Uint8Array, compact: boolean): void {
    let msg: ReturnType<typeof decodeConsensusMsg>;
    try {
      msg = decodeConsensusMsg(bytes);
      if (compact && msg.type !== 'proposal') throw new Error(`a ${msg.type} in a PROPOSAL frame`);
    } catch (e) {
      this.stats.faults++;
      this.#log.warn({ from: this.names[from], err: (e as Error).message }, 'malformed consensus message');
      return;
    }
    if (msg.height > this.#state.height + 1) this.#askSync(from);
    if (compact && msg.type === 'proposal') {
      // Rebuilt only for a height consensus may act on: the one under way or the next, which it
      // keeps for later (one more while a decided block is being stored, when the stored
      // height lags consensus by one). For a decided height, consensus only answers with the
      // decision, so it gets the message as it came; one further ahead it would drop, so it is
      // dropped here. Rebuilding those could mean asking the peers for whole blocks.
      const h = this.#state.height;
      if (msg.height <= h) this.#enqueue({ type: 'message', from, msg });
      else if (msg.height <= h + 3) this.#inbox.receive(from, msg);
      return;
    }
    this.#enqueue({ type: 'message', from, msg });
  }

  // ---- compact proposals --------------------------------------------------------------------

  /**
   * The compact form of a proposal this validator sends (a PROPOSAL frame's message), or null to
   * send it whole: its block's envelopes are those it built or validated at this height. The
   * transactions its peers may not have yet, its own clients' not yet gossiped, leave first on
   * the same connections, so they arrive before the proposal.
   */
  #compact(m: ConsensusMsg): Uint8Array | null {
    if (m.type !== 'proposal') return null;
    const v = this.#validated.get(valueDigest(hashes, m.block));
    if (!v) return null;
    this.#flushGossip();
    this.stats.compactSent++;
    const leaves = v.block.txs.map((t) => txLeaf(hashes, t));
    return encodeConsensusMsg({ ...m, block: compactValue(m.block, leaves) });
  }

  /**
   * TX_WANT: the transactions with these leaves, from the pool, this height's blocks or the last
   * RECENT_BLOCKS decided ones. A TX_WANT may arrive after its block was decided without its
   * sender: it is still answered, so the sender commits the block as soon as it has it instead
   * of waiting for a timeout and a catch-up.
   */
  #giveTxs(to: number, payload: Uint8Array): void {
    let inBlocks: Map<string, TxEnvelope> | undefined;
    const out = wantedTxs(payload, this.#params.maxBlockTxs, (key) => {
      const env = this.#envelopes.get(key);
      if (env) return env;
      inBlocks ??= new Map(
        [...[...this.#validated.values()].map((v) => v.block.txs), ...this.#recent].flatMap((txs) =>
          txs.map((t) => [toHex(txLeaf(hashes, t)), t]),
        ),
      );
      return inBlocks.get(key);
    });
    this.stats.txWantServed++;
    if (out.length) this.#net.send(to, FRAME.TX_GIVE, encode(out));
  }

  #flushGossip(): void {
    if (this.#gossip.length === 0) return;
    clearTimeout(this.#gossipTimer);
    this.#gossipTimer = undefined;
    this.#lastGossip = performance.now();
    const payload = encode(this.#gossip);
    this.#gossip = [];
    for (const i of this.#links.keys()) this.#net.send(i, FRAME.TXS, payload, true);
  }

  #askSync(from: number): void {
    const now = performance.now();
    if (now - (this.#lastSyncAsk.get(from) ?? -1e9) < 500) return;
    this.#lastSyncAsk.set(from, now);
    this.#net.send(from, FRAME.SYNC_REQ, encode([this.#state.height + 1]));
  }

  #onFrame(from: number, type: FrameType, payload: Uint8Array): void {
    try {
      if (type === FRAME.TXS) {
        // Views of the frame, not copies: FrameReader gives each frame its own buffer.
        const list = decode(payload, { views: true });
        if (!Array.isArray(list) || list.length > 100_000) throw new Error('TXS is not a list');
        let refused = 0;
        for (const b of list) {
          if (!(b instanceof Uint8Array)) throw new Error('TXS holds a non-bytes item');
          // One refused transaction (e.g. already committed here) does not drop the rest.
          try {
            this.#admitTx(b, false, null);
          } catch (e) {
            if (!(e instanceof QledgerError)) throw e;
            refused++;
          }
        }
        if (refused) this.#log.debug({ from: this.names[from], refused }, 'gossiped transactions refused');
        if (this.#inbox.parked > 0) this.#inbox.recheck();
      } else if (type === FRAME.TX_WANT) {
        this.#giveTxs(from, payload);
      } else if (type === FRAME.TX_GIVE) {
        this.#inbox.give(payload);
      } else if (type === FRAME.SYNC_REQ) {
        const [h] = decode(payload) as [number];
        if (!Number.isSafeInteger(h) || h < 1) throw new Error('SYNC_REQ height');
        void this.#serveSync(from, h);
      } else if (type === FRAME.SYNC_RESP) {
        const list = decode(payload);
        if (!Array.isArray(list) || list.length > SYNC_BATCH) throw new Error('SYNC_RESP is not a list');
        this.#run(() => this.#applySync(from, list as unknown[]));
      }
    } catch (e) {
      this.#log.warn({ from: this.names[from], type, err: (e as Error).message }, 'peer frame refused');
    }
  }

  async #serveSync(to: number, from: number): Promise<void> {
    const head = await this.#store.head();
    if (!head || from > head.height) return;
    const out: unknown[] = [];
    for await (const b of this.#store.blocks(from, Math.min(head.height, from + SYNC_BATCH - 1))) {
      if (!b.cert) break;
      out.push([encodeRawValue(b.headerBytes, b.txs), b.cert]);
    }
    if (out.length) this.#net.send(to, FRAME.SYNC_RESP, encode(out as never));
  }

  /** Decided blocks from a peer: each must extend our head and carry a valid certificate. */
  async #applySync(from: number, list: unknown[]): Promise<void> {
    let applied = 0;
    for (const item of list) {
      if (!Array.isArray(item) || !(item[0] instanceof Uint8Array) || !(item[1] instanceof Uint8Array))
        return;
      const block = decodeValue(item[0], this.#params, hashes);
      if (block.header.height !== this.#state.height + 1) continue;
      const cert = decodeCert(item[1]);
      const hash = toHex(blockHash(hashes, block.header));
      const why =
        cert.height !== block.header.height || cert.digest !== hash
          ? 'certificate is for another block'
          : verifyCommitCert(cert, {
              chainId: this.chainId,
              n: this.#cparams.n,
              verify: this.#cparams.crypto.verify,
            });
      if (why) {
        this.#log.warn({ from: this.names[from], height: block.header.height, why }, 'sync block refused');
        return;
      }
      const apply = applyBlock(this.#state, block, { hashes, crypto: this.#crypto, signatures: 'defer' });
      if (!apply.ok)
        throw new Error(`certified block ${block.header.height} does not apply: ${apply.error.message}`);
      await this.#append(block, apply, cert);
      applied++;
    }
    if (applied === 0) return;
    this.stats.synced += applied;
    this.#log.info({ from: this.names[from], applied, height: this.#state.height }, 'caught up from a peer');
    this.#awaiting = null;
    const { state, replay } = afterCatchUp(this.#cs, this.#state.height + 1);
    this.#cs = state;
    await this.#handle({ type: 'start' });
    for (const e of replay) await this.#handle(e);
    if (list.length === SYNC_BATCH) this.#askSync(from);
  }

  // ---- transactions -------------------------------------------------------------------------

  /**
   * Admits a transaction (from the API, or gossip when `fromClient` is false): decoded,
   * applied to the pending state, signatures checked on the worker pool. Rejects with a coded
   * QledgerError for a transaction that is malformed or invalid now.
   */
  submit(bytes: Uint8Array, fromClient = true): Promise<TxState & { id: string }> {
    return new Promise((resolve) => {
      const known = this.#admitTx(bytes, fromClient, resolve);
      if (known !== null) resolve({ id: known, status: 'pending' }); // already in the pool
    });
  }

  /**
   * submit's work: `answer` is called once the admission check has run (it may be null: gossip
   * answers nobody, and makes no promise per transaction). Returns the id when the transaction
   * was in the pool already (then `answer` is never called), else null. Throws the coded
   * QledgerError that submit rejects with.
   */
  #admitTx(
    bytes: Uint8Array,
    fromClient: boolean,
    answer: ((st: TxState & { id: string }) => void) | null,
  ): string | null {
    const env = this.#timed('decodeTx', () => decodeTx(bytes, this.#params, hashes));
    const id = txIdHex(env);
    if (this.#mempool.has(env)) return id;
    const checks = this.#timed('admit', () => this.#mempool.add(env, Date.now(), { deferSignatures: true }));
    this.#envelopes.set(toHex(txLeaf(hashes, env)), env);
    if (!this.#admitBatch) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#admitBatch = { promise, resolve };
    }
    this.#admitting.set(env, { checks, done: this.#admitBatch.promise });
    this.#admit.push({ env, gossip: fromClient ? bytes : null, resolve: answer });
    this.#verified.set(id, []);
    if (!this.#admitScheduled) {
      this.#admitScheduled = true;
      setImmediate(() => void this.#flushAdmissions());
    }
    return null;
  }

  async #flushAdmissions(): Promise<void> {
    this.#admitScheduled = false;
    const batch = this.#admit;
    this.#admit = [];
    const done = this.#admitBatch;
    this.#admitBatch = null;
    try {
      await this.#admitChecked(batch);
    } finally {
      done?.resolve();
    }
  }

  async #admitChecked(batch: Admission[]): Promise<void> {
    const checks: SigCheck[] = [];
    const owner: number[] = [];
    /** Each admission's checks are checks[starts[i], starts[i + 1]). */
    const starts: number[] = [];
    batch.forEach((b, i) => {
      starts.push(checks.length);
      for (const c of this.#admitting.get(b.env)?.checks ?? []) {
        checks.push(c);
        owner.push(i);
      }
    });
    starts.push(checks.length);
    const bad = new Set<number>();
    // Find every bad one: check, then re-check the rest after each failure.
    let from = 0;
    try {
      while (from < checks.length) {
        const t = performance.now();
        this.stats.admissionSigChecks += checks.length - from;
        const i = await this.#pool.check(checks.slice(from));
        this.#spent('verifyWall', t);
        if (i < 0) break;
        bad.add(owner[from + i]!);
        from += i + 1;
      }
    } finally {
      for (const b of batch) this.#admitting.delete(b.env);
    }
    const badIds: Uint8Array[] = [];
    batch.forEach((b, i) => {
      if (bad.has(i)) {
        badIds.push(b.env.id);
        const e = new QledgerError('TX_BAD_SIGNATURE', 'signature does not verify');
        this.#reject(b.env, e);
        b.resolve?.({ id: txIdHex(b.env), status: 'rejected', code: e.code, message: e.message });
        return;
      }
      this.#verified.set(txIdHex(b.env), checks.slice(starts[i], starts[i + 1]));
      this.#mempool.markVerified(b.env);
      b.resolve?.({ id: txIdHex(b.env), status: 'pending' });
    });
    if (badIds.length) for (const d of this.#mempool.remove(badIds, Date.now())) this.#reject(d.env, d.error);
    // Only checked transactions go on to the peers: one with a bad signature, or one that came
    // after it from the same sender and left the pool with it, would cost each of them a check.
    // The pool is asked only when a check failed: the rare case, on a hot path.
    for (const b of batch)
      if (b.gossip && (badIds.length === 0 || this.#mempool.has(b.env))) this.#gossip.push(b.gossip);
    this.#scheduleGossip();
    this.#maybeBuild();
  }

  /**
   * Verified client transactions go to the peers at most once per GOSSIP_MS, in one frame;
   * the first after a quiet spell goes at once (a lone transaction should not wait for a
   * batch that is not coming).
   */
  #scheduleGossip(): void {
    if (this.#gossipTimer || this.#gossip.length === 0) return;
    const wait = Math.max(0, this.#lastGossip + GOSSIP_MS - performance.now());
    this.#gossipTimer = setTimeout(() => {
      this.#gossipTimer = undefined;
      this.#flushGossip();
    }, wait);
  }

  async txState(idHex: string): Promise<TxState> {
    if (!/^[0-9a-f]{64}$/.test(idHex)) throw new QledgerError('TX_ID_INVALID', 'id: must be 64 hex digits');
    const t = await this.#store.transaction(Buffer.from(idHex, 'hex'));
    if (t) return { status: 'committed', height: t.height, index: t.index };
    const r = this.#rejected.get(idHex);
    if (r) return { status: 'rejected', ...r };
    if (this.#verified.has(idHex)) return { status: 'pending' };
    return { status: 'unknown' };
  }

  // ---- status -------------------------------------------------------------------------------

  get store(): ChainStore {
    return this.#store;
  }

  /** Decoded envelopes kept for blocks to reuse: pending transactions only (for tests). */
  get cachedEnvelopes(): number {
    return this.#envelopes.size;
  }

  /** A stored transaction's id. */
  txId(bytes: Uint8Array): Uint8Array {
    return decodeTx(bytes, this.#params, hashes).id;
  }

  /** The sequence number `name`'s next transaction needs (committed state; pending ones not counted). */
  nextSeq(name: string): number {
    return (this.#state.get(STATE_KEYS.seq(name)) as number | undefined) ?? 0;
  }

  /** A stored transaction, decoded under this chain's parameters. */
  decodeTx(bytes: Uint8Array): TxEnvelope {
    return decodeTx(bytes, this.#params, hashes);
  }

  /** The QRNG mix behind this validator's nonces: per-source health and throughput. */
  qrng() {
    return this.#nonces.stats();
  }

  /** The genesis validator set (names, algorithms, public keys). */
  get validatorKeys(): readonly { name: string; sigAlg: string; sigKey: Uint8Array }[] {
    return this.#validatorKeys;
  }

  /** The proposer of the current height and round. */
  get proposer(): string {
    return this.names[this.#cparams.proposer(this.#cs.height, this.#cs.round)]!;
  }

  status() {
    const links = [...this.#links.entries()].map(([i, l]) => ({
      ...l.status(),
      connected: this.#net.isConnected(i),
      relayed: this.#thrifty.isRelayed(i),
      votesHeld: this.#thrifty.holdsFor(i),
    }));
    return {
      name: this.name,
      index: this.index,
      chainId: this.chainId,
      height: this.#state.height,
      consensus: {
        height: this.#cs.height,
        round: this.#cs.round,
        step: this.#cs.step,
        proposer: this.names[this.#cparams.proposer(this.#cs.height, this.#cs.round)]!,
      },
      beacon: this.beaconStatus(),
      mempool: { size: this.#mempool.size, bytes: this.#mempool.byteSize },
      peers: this.#net.states(),
      links,
      qkdBitsConsumed: links.reduce((a, l) => a + l.qkdBitsOut + l.qkdBitsIn, 0),
      qkdBitsOut: links.reduce((a, l) => a + l.qkdBitsOut, 0),
      requireQkd: this.#cfg.requireQkd,
      stats: {
        ...this.stats,
        compactReceived: this.#inbox.stats.received,
        compactMisses: this.#inbox.stats.misses,
        compactCompleted: this.#inbox.stats.completed,
      },
      timing: Object.fromEntries(Object.entries(this.timing).map(([k, v]) => [k, Math.round(v)])),
      heightPhases: this.#phases.summary(),
      uptimeMs: Date.now() - this.startedAt,
    };
  }
}

/** Blocks rebuilt from compact proposals kept for their validation, at most. */
const EXPANDED_MAX = 16;
/** Decided blocks whose transactions a validator still gives on TX_WANT. */
const RECENT_BLOCKS = 2;
