/**
 * `npm run bench -- consensus`: a real `qledger devnet` (4 validator processes, simulated
 * QKD on every link, embedded storage) under load from this process. Transactions
 * (ML-DSA-44, `data` from pre-registered clients) are signed before any clock starts.
 * A transaction counts as committed when all four validators have announced it on their
 * SSE event streams; latency is submit → the last of those four announcements.
 *
 *   latency_p50_ms / latency_p99_ms   at 100 tx/s offered, and at saturation (and over the
 *                                     unmeasured warm-up before them: "100 tx/s, warm-up")
 *   height_phase_ms                   at 100 tx/s, per phase of a height (proposal, prevote,
 *                                     precommit, commit, total): the validators' medians
 *   heights_per_s                     at 100 tx/s
 *   qkd_bits_per_height_pair          at 100 tx/s: QKD key bits per height per pair of
 *                                     validators (both directions)
 *   committed_tps                     at saturation (median of the windows)
 *   qkd_bits_per_tx                   QKD key bits taken from the KMEs (whole network, as
 *                                     master SAEs: each key counted once) per committed tx
 *   qkd_bits_per_block_link           the same per block per (undirected) link
 *   messages_per_block                tagged consensus messages per block, whole network
 *   verify_ms                         one ML-DSA-44 verification (liboqs WASM, as the
 *                                     validators use) in this process: before the devnet starts,
 *                                     and right after each saturation window has drained
 *   verify_ceiling_ratio              committed_tps ÷ (cores ÷ (validators × verify cost)), per
 *                                     window, with the verify cost measured right after it
 *   keylimited_tps                    committed tx/s when every QKD link delivers about
 *                                     1.4 kb/s (idq-clavis3 at 50 km)
 *   loadgen_cores                     this process's own CPU while offering load, in cores
 *                                     (at 100 tx/s and at saturation): what the validators
 *                                     under test did not get of the machine
 *   validator_cpu_ms_per_height       at 100 tx/s: CPU (user + system, every thread, from
 *                                     /proc) each validator spent per height; over validators
 *   validator_cpu_us_per_tx           at saturation: the four validators' CPU per committed
 *                                     transaction (per window)
 *   ab_cpu_ratio                      only with QLEDGER_AB_MAIN or QLEDGER_AB_ARGS (half the
 *                                     validators on other code or flags, see devnet-launch.ts):
 *                                     the B half's mean CPU over the A half's, at 100 tx/s and
 *                                     at saturation (per window)
 *   verify_share_of_cpu               at saturation: validators × the window's verify cost ÷
 *                                     that CPU, the share of the validators' CPU a transaction's
 *                                     verifications would take at their solo cost.
 *                                     verify_ceiling_ratio is this times the validators' share
 *                                     of the cores (nearly: that CPU also counts each window's
 *                                     drain)
 *                                     (The last four need Linux's /proc; elsewhere they are
 *                                     left out.)
 *
 * QLEDGER_BENCH_SECONDS sets the saturation window (default 15 s, three windows);
 * QLEDGER_BENCH_LOW_SECONDS the 100 tx/s phase (default 10 s); QLEDGER_BENCH_WARMUP_SECONDS
 * the unmeasured 100 tx/s before it (default 30 s, 0 for none), whose latencies are printed
 * apart, with `load: "100 tx/s, warm-up"`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { schemas } from '@qledger/core/api';
import type { DevnetProcess } from '@qledger/node';
import {
  apiGet,
  type Client,
  createOqsBackend,
  dataTx,
  HEIGHT_PHASES,
  launchPlan,
  nativeHashes,
  registerTx,
  startDevnet,
  submitTxs,
} from '@qledger/node';
import { BenchConfigError, emit, envInt, summarize } from './format.js';
import { LoadClient } from './load-http.js';
import { processCpuMs } from './proc.js';

const CHAIN = 'devnet';
const CLIENTS = 64;
const WINDOW_S = envInt('QLEDGER_BENCH_SECONDS', 15, 1, 3600);
const WINDOWS = 3;
/** The 100 tx/s phase; a long one shows the devnet once its KME pools have reached the link rate. */
const LOW_S = envInt('QLEDGER_BENCH_LOW_SECONDS', 10, 1, 3600);
/**
 * Load offered before the 100 tx/s phase and left out of it. Fresh validators have run only
 * the clients' registrations: for their first seconds under load V8 runs the hot paths in its
 * interpreter and baseline tiers while TurboFan compiles them on a background thread, all on
 * the two cores the four validators share. Measured with a one-off probe (2026-12-03), two
 * alternated pairs: ten seconds at 100 tx/s right after registration took 11.1–13.6 ms of
 * CPU per validator per height and gave a p50 of 52–61 ms; after ten seconds of the same
 * load, 8.4–10.3 ms and 38–43 ms. `perf` found 14 % of the validators' CPU in TurboFan in
 * the first seconds of load, and still 8 % twenty seconds in. A validator in service is
 * warm, and the latency target is about that one; the warm-up's figures are printed too.
 * Ten seconds were not enough (2026-12-03, twelfth session): `perf` with call graphs put
 * 12.5 % of the validators' CPU in TurboFan 20–28 s into the load, 5 % at 50–58 s. In four
 * alternated pairs of the probe, after 40 s of warm-up instead of 10 s, a validator took
 * 8.95–10.7 ms of CPU per height against 10.3–11.9 ms (the validators' median), and the p50
 * was 46.7–72.9 ms against 56.3–61.7 ms; both were lower in three pairs of the four. Thirty
 * seconds, then: the KME pools, filled while the bench signs its load, still hold key for the
 * whole phase.
 */
const WARMUP_S = envInt('QLEDGER_BENCH_WARMUP_SECONDS', 30, 0, 3600);

type Crypto = Awaited<ReturnType<typeof createOqsBackend>>;

interface Status {
  height: number;
  links: { qkdBitsUsed: number; tagsSent: number; fallbackTagsSent: number }[];
  heightPhases: schemas.NodeStatus['heightPhases'];
}

/**
 * Follows every validator's SSE stream; resolves ids once all have committed them. Holds the
 * load generator's connection to each validator (load-http.ts).
 */
class Tracker {
  readonly seen = new Map<string, { count: number; last: number }>();
  readonly done = new Map<string, number>();
  /** When each transaction became committed everywhere, in order. */
  readonly times: number[] = [];
  /** Transactions accepted as pending by a validator, all windows (with `times`: the backlog). */
  submitted = 0;
  blocks = 0;
  readonly n: number;
  /** One per validator, in the devnet's order. */
  readonly clients: LoadClient[];

  constructor(apis: readonly string[]) {
    this.n = apis.length;
    this.clients = apis.map((a) => new LoadClient(a));
  }

  follow(i: number): Promise<void> {
    return this.clients[i]!.follow((event, data) => {
      if (i === 0 && event === 'block') this.blocks++;
      if (event !== 'tx') return;
      const e = JSON.parse(data) as { ids: string[] };
      const now = performance.now();
      for (const id of e.ids) {
        const s = this.seen.get(id) ?? { count: 0, last: 0 };
        s.count++;
        s.last = now;
        if (s.count === this.n) {
          this.done.set(id, now);
          this.times.push(now);
          this.seen.delete(id);
        } else this.seen.set(id, s);
      }
    });
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

interface Totals {
  bits: number;
  tags: number;
  height: number;
  /** Each validator's CPU so far (ms), in the devnet's order; null without /proc. */
  cpu: number[] | null;
  /** When the CPU was read (performance.now()). */
  at: number;
}

async function networkTotals(net: DevnetProcess): Promise<Totals> {
  let bits = 0;
  let tags = 0;
  let height = 0;
  for (const v of net.ready.validators) {
    const s = await apiGet<Status>(`${v.api}/v1/status`);
    height = Math.max(height, s.height);
    for (const l of s.links) {
      bits += l.qkdBitsUsed;
      tags += l.tagsSent + l.fallbackTagsSent;
    }
  }
  const cpus = net.ready.validators.map((v) => processCpuMs(v.pid));
  const cpu = cpus.every((c) => c !== null) ? (cpus as number[]) : null;
  return { bits, tags, height, cpu, at: performance.now() };
}

/** Each validator's CPU (ms) between two totals; null without /proc. */
const cpuBetween = (a: Totals, b: Totals): number[] | null =>
  a.cpu && b.cpu ? b.cpu.map((c, i) => c - a.cpu![i]!) : null;

/**
 * With QLEDGER_AB_MAIN or QLEDGER_AB_ARGS (devnet-launch.ts), half the validators run other code
 * or flags in the same devnet: their mean CPU over the A half's, over the same span. Below 1
 * the B half spent less. Null without an A/B run, or without /proc.
 */
const AB = (() => {
  let plan: ReturnType<typeof launchPlan>;
  try {
    plan = launchPlan(process.env, '');
  } catch (e) {
    // A bad QLEDGER_AB_* variable: one line and exit 2, like the bench's own knobs.
    throw new BenchConfigError((e as Error).message);
  }
  return [0, 1, 2, 3].map((i) => plan(i).b);
})();
function abRatio(cpu: number[] | null): number | null {
  if (!cpu || !AB.includes(true)) return null;
  const mean = (b: boolean) => {
    const xs = cpu.filter((_, i) => AB[i] === b);
    return xs.reduce((x, y) => x + y, 0) / xs.length;
  };
  return mean(true) / mean(false);
}

async function registerClients(net: DevnetProcess, crypto: Crypto): Promise<Client[]> {
  const regs = Array.from({ length: CLIENTS }, (_, i) =>
    registerTx(CHAIN, `bench-${i}`, crypto, nativeHashes),
  );
  const ids = (
    await submitTxs(
      net.ready.validators[0]!.api,
      regs.map((r) => r.env.bytes),
    )
  ).map((r) => r.id);
  const api = net.ready.validators[0]!.api;
  for (const id of ids)
    for (;;) {
      const s = await apiGet<{ status: string }>(`${api}/v1/transactions/${id}`);
      if (s.status === 'committed') break;
      if (s.status === 'rejected') throw new Error(`registration ${id} rejected`);
      await new Promise((r) => setTimeout(r, 50));
    }
  return regs.map((r) => r.client);
}

/**
 * Pre-signed data transactions, `per` per client, in submission order per client, and how far
 * each client has got: a client's transactions go out once, in order, across all windows.
 */
interface Load {
  readonly queues: Uint8Array[][];
  readonly cursor: number[];
  /** Refusals by code: a transaction refused means the load was wrong, not the validator slow. */
  readonly refused: Map<string, number>;
}

function sign(clients: Client[], per: number, crypto: Crypto): Load {
  const payload = new TextEncoder().encode('benchmark payload of a plausible size: 64 bytes............');
  const queues = clients.map((c) =>
    Array.from({ length: per }, () => dataTx(CHAIN, c, payload, crypto, nativeHashes).bytes),
  );
  return { queues, cursor: queues.map(() => 0), refused: new Map() };
}

/** Offers `rate` tx/s (Infinity: saturation, bounded backlog) for `seconds`; latencies in ms. */
async function offer(
  net: DevnetProcess,
  tracker: Tracker,
  load: Load,
  rate: number,
  seconds: number,
): Promise<{ committed: number; latencies: number[]; seconds: number; loadgenCores: number }> {
  const apis = net.ready.validators.map((v) => v.api);
  const { queues, cursor } = load;
  const sent = new Map<string, number>();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const end = t0 + seconds * 1000;
  let next = 0;
  /**
   * Up to `n` transactions, round robin over the clients `mine` accepts; client c always goes
   * to validator c mod 4, so its transactions reach one validator in seq order.
   */
  const take = (n: number, mine: (c: number) => boolean = () => true) => {
    const per: Uint8Array[][] = apis.map(() => []);
    let got = 0;
    for (let k = 0; k < queues.length * 4 && got < n; k++) {
      const c = next++ % queues.length;
      if (!mine(c)) continue;
      // A few from each client per request keeps requests large without starving others.
      for (let j = 0; j < 4 && cursor[c]! < queues[c]!.length && got < n; j++) {
        per[c % apis.length]!.push(queues[c]![cursor[c]!++]!);
        got++;
      }
    }
    return per;
  };
  const send = async (per: Uint8Array[][]) => {
    await Promise.all(
      per.map(async (txs, i) => {
        if (txs.length === 0) return;
        const at = performance.now();
        for (const r of await tracker.clients[i]!.submit(txs))
          if (r.status === 'pending') {
            sent.set(r.id, at);
            tracker.submitted++;
          } else {
            const code = r.code ?? r.status;
            load.refused.set(code, (load.refused.get(code) ?? 0) + 1);
          }
      }),
    );
  };
  if (rate === Number.POSITIVE_INFINITY) {
    // Keep a backlog (saturation): enough for full blocks, bounded mempools. Four senders,
    // each owning a quarter of the clients and waiting for its own last request, so no
    // client's transactions are ever in two requests at once (they could arrive out of order
    // and be refused with TX_SEQ_GAP).
    const SENDERS = 4;
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, s) => {
        const mine = (c: number) => Math.floor(c / apis.length) % SENDERS === s;
        while (performance.now() < end) {
          // O(1): this loop runs every few milliseconds on the cores the validators need.
          if (tracker.submitted - tracker.times.length > 4000) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          const batch = take(200, mine);
          if (batch.every((b) => b.length === 0)) break;
          await send(batch);
        }
      }),
    );
  } else {
    const every = 1000 / rate;
    let due = t0;
    while (performance.now() < end) {
      due += every;
      void send(take(1));
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  const stopAt = performance.now();
  // This process's own CPU over the window (sending, and following four event streams): the
  // share of the machine the validators under test did not get.
  const cpu = process.cpuUsage(cpu0);
  const loadgenCores = (cpu.user + cpu.system) / 1000 / (stopAt - t0);
  // Let the window's transactions finish (latency), but count throughput inside the window.
  const drainEnd = performance.now() + 30_000;
  while (performance.now() < drainEnd && [...sent.keys()].some((id) => !tracker.done.has(id)))
    await new Promise((r) => setTimeout(r, 20));
  // Throughput: every commit inside the window (also of earlier windows' transactions).
  const inWindow = tracker.times.filter((t) => t >= t0 && t <= stopAt).length;
  const latencies: number[] = [];
  for (const [id, at] of sent) {
    const done = tracker.done.get(id);
    if (done !== undefined) latencies.push(done - at);
  }
  return { committed: inWindow, latencies, seconds: (stopAt - t0) / 1000, loadgenCores };
}

/** Refused transactions should be none: the load sends each client's in seq order, once. */
function emitRefused(
  base: { bench: string; validators: number; cores: number },
  load: Load,
  phase: string,
): void {
  const total = [...load.refused.values()].reduce((a, b) => a + b, 0);
  emit({
    ...base,
    name: 'refused_txs',
    unit: 'txs',
    phase,
    codes: [...load.refused].map(([c, n]) => `${c} ${n}`).join(', ') || 'none',
    ...summarize([total]),
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : Number.NaN;
}

async function withDevnet<T>(args: string[], f: (net: DevnetProcess, t: Tracker) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-bench-'));
  const net = await startDevnet(dir, args);
  const tracker = new Tracker(net.ready.validators.map((v) => v.api));
  try {
    await Promise.all(net.ready.validators.map((_, i) => tracker.follow(i)));
    return await f(net, tracker);
  } finally {
    tracker.close();
    await net.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchConsensus(): Promise<void> {
  const crypto = await createOqsBackend();
  const cores = availableParallelism();
  // Per-transaction verify cost, this run, this machine (liboqs WASM, as the validators use).
  const kp = crypto.signer('ml-dsa-44').keygen();
  const msg = new Uint8Array(200);
  const sig = crypto.signer('ml-dsa-44').sign(msg, kp.secretKey);
  const measureVerify = (runs: number): number[] => {
    const ms: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      for (let i = 0; i < 200; i++) crypto.signer('ml-dsa-44').verify(sig, msg, kp.publicKey);
      ms.push((performance.now() - t) / 200);
    }
    return ms;
  };
  const verifyMs = measureVerify(5);
  const base = { bench: 'consensus', validators: 4, cores };
  emit({ ...base, name: 'verify_ms', unit: 'ms', ...summarize(verifyMs) });

  // QLEDGER_BENCH_EPOCH sets the devnet's epoch length (default 16): a very long one takes the
  // leader-order beacon out of the run, to measure what it costs.
  const epochArgs = process.env.QLEDGER_BENCH_EPOCH
    ? ['--epoch-length', process.env.QLEDGER_BENCH_EPOCH]
    : [];
  await withDevnet(epochArgs, async (net, tracker) => {
    const clients = await registerClients(net, crypto);
    const n = net.ready.validators.length;
    /** Pairs of validators: each is one (undirected) link, relayed or not. */
    const pairs = (n * (n - 1)) / 2;
    const perClient = Math.ceil((WINDOW_S * WINDOWS * 2500 + (WARMUP_S + LOW_S) * 100 + 500) / CLIENTS);
    const load = sign(clients, perClient, crypto);
    /** The p50 and p99 of one phase's latencies, labelled with its load. */
    const emitLatencies = (load: string, latencies: number[], extra: Record<string, number> = {}) => {
      for (const [name, p] of [
        ['latency_p50_ms', 0.5],
        ['latency_p99_ms', 0.99],
      ] as const)
        emit({ ...base, name, unit: 'ms', load, ...extra, ...summarize([pct(latencies, p)]) });
    };
    if (WARMUP_S > 0) {
      const warm = await offer(net, tracker, load, 100, WARMUP_S);
      emitLatencies('100 tx/s, warm-up', warm.latencies, { seconds: WARMUP_S });
    }
    // 100 tx/s offered.
    const before = await networkTotals(net);
    const low = await offer(net, tracker, load, 100, LOW_S);
    const after = await networkTotals(net);
    const lowHeights = Math.max(1, after.height - before.height);
    // Heights a second, and the QKD key one height takes per pair of validators (both
    // directions): with t = 128 every tag costs 128 bits whatever the block holds, so the links'
    // key rate caps the heights a second once the KMEs' pools have drained to it.
    emit({
      ...base,
      name: 'heights_per_s',
      unit: 'heights/s',
      load: '100 tx/s',
      ...summarize([lowHeights / LOW_S]),
    });
    emit({
      ...base,
      name: 'qkd_bits_per_height_pair',
      unit: 'bits',
      load: '100 tx/s',
      ...summarize([(after.bits - before.bits) / lowHeights / pairs]),
    });
    emitLatencies('100 tx/s', low.latencies);
    emit({
      ...base,
      name: 'loadgen_cores',
      unit: 'cores',
      load: '100 tx/s',
      ...summarize([low.loadgenCores]),
    });
    // What a height costs, rather than how long it takes: at 100 tx/s the heights are mostly
    // fixed work (votes signed and checked, snapshots, tagged messages), and four validators
    // share two cores, so this CPU is what sets the height's length.
    const lowCpu = cpuBetween(before, after);
    const abLow = abRatio(lowCpu);
    if (abLow !== null)
      emit({ ...base, name: 'ab_cpu_ratio', unit: 'ratio', load: '100 tx/s', ...summarize([abLow]) });
    if (lowCpu)
      emit({
        ...base,
        name: 'validator_cpu_ms_per_height',
        unit: 'ms',
        load: '100 tx/s',
        ...summarize(lowCpu.map((c) => c / lowHeights)),
      });
    // Where a height's time went at 100 tx/s: each validator's median per phase (its last 256
    // heights, nearly all inside this window), summarised over the validators.
    const phases = await Promise.all(
      net.ready.validators.map(async (v) => (await apiGet<Status>(`${v.api}/v1/status`)).heightPhases),
    );
    for (const phase of HEIGHT_PHASES) {
      const p50s = phases.flatMap((p) => (p[phase].p50 === null ? [] : [p[phase].p50]));
      if (p50s.length > 0)
        emit({
          ...base,
          name: 'height_phase_ms',
          unit: 'ms',
          load: '100 tx/s',
          phase,
          heights: phases.map((p) => p.heights).join(' '),
          ...summarize(p50s),
        });
    }
    // Saturation windows.
    const tps: number[] = [];
    const lat: number[] = [];
    const bitsPerTx: number[] = [];
    const bitsPerBlockLink: number[] = [];
    const msgsPerBlock: number[] = [];
    const loadgen: number[] = [];
    const cpuPerTx: number[] = [];
    const satCpu: number[] = [];
    const abSat: number[] = [];
    const windowVerify: number[] = [];
    let satCommitted = 0;
    for (let w = 0; w < WINDOWS; w++) {
      const a = await networkTotals(net);
      const r = await offer(net, tracker, load, Number.POSITIVE_INFINITY, WINDOW_S);
      const b = await networkTotals(net);
      // The verify cost again, right after this window drained: this machine's speed drifts
      // by a fifth within minutes, and the ratio must compare the window with its own moment.
      windowVerify.push(summarize(measureVerify(3)).median);
      const blocks = Math.max(1, b.height - a.height);
      // CPU and commits over the same span: the window and the drain after it.
      const cpu = cpuBetween(a, b);
      const committed = tracker.times.filter((t) => t >= a.at && t <= b.at).length;
      if (cpu && committed > 0) cpuPerTx.push((1000 * cpu.reduce((x, y) => x + y, 0)) / committed);
      const ab = abRatio(cpu);
      if (ab !== null) abSat.push(ab);
      for (let i = 0; i < (cpu?.length ?? 0); i++) satCpu[i] = (satCpu[i] ?? 0) + cpu![i]!;
      satCommitted += committed;
      tps.push(r.committed / r.seconds);
      lat.push(...r.latencies);
      bitsPerTx.push((b.bits - a.bits) / Math.max(1, r.committed));
      bitsPerBlockLink.push((b.bits - a.bits) / blocks / pairs);
      msgsPerBlock.push((b.tags - a.tags) / blocks);
      loadgen.push(r.loadgenCores);
    }
    if (process.env.QLEDGER_BENCH_DEBUG) {
      console.error(
        'cpu_us_per_tx',
        JSON.stringify(satCpu.map((c) => (1000 * c) / Math.max(1, satCommitted))),
      );
      for (const v of net.ready.validators)
        console.error(
          v.name,
          JSON.stringify(
            (({ timing, stats }) => ({ timing, stats }))(
              await apiGet<{ timing: unknown; stats: unknown }>(`${v.api}/v1/status`),
            ),
          ),
        );
    }
    if (abSat.length > 0)
      emit({ ...base, name: 'ab_cpu_ratio', unit: 'ratio', load: 'saturation', ...summarize(abSat) });
    const committedTps = summarize(tps);
    emit({ ...base, name: 'committed_tps', unit: 'tx/s', ...committedTps });
    emitLatencies('saturation', lat);
    emit({ ...base, name: 'qkd_bits_per_tx', unit: 'bits', load: 'saturation', ...summarize(bitsPerTx) });
    emit({ ...base, name: 'qkd_bits_per_block_link', unit: 'bits', ...summarize(bitsPerBlockLink) });
    emit({ ...base, name: 'messages_per_block', unit: 'messages', ...summarize(msgsPerBlock) });
    emit({ ...base, name: 'loadgen_cores', unit: 'cores', load: 'saturation', ...summarize(loadgen) });
    if (cpuPerTx.length === WINDOWS) {
      emit({
        ...base,
        name: 'validator_cpu_us_per_tx',
        unit: 'us',
        load: 'saturation',
        ...summarize(cpuPerTx),
      });
      emit({
        ...base,
        name: 'verify_share_of_cpu',
        unit: 'ratio',
        load: 'saturation',
        ...summarize(cpuPerTx.map((c, w) => (4 * windowVerify[w]! * 1000) / c)),
      });
    }
    // Each window against the verify cost measured right after it.
    const ceilings = windowVerify.map((v) => cores / (4 * (v / 1000)));
    emit({
      ...base,
      name: 'verify_ms',
      unit: 'ms',
      load: 'after each saturation window',
      ...summarize(windowVerify),
    });
    emit({
      ...base,
      name: 'verify_ceiling_ratio',
      unit: 'ratio',
      ceiling_tps: Math.round(summarize(ceilings).median),
      ...summarize(tps.map((t, w) => t / ceilings[w]!)),
    });
    emitRefused(base, load, 'saturation');
  });

  if (process.env.QLEDGER_BENCH_SKIP_KEYLIMITED) return;
  await withDevnet(['--profile', 'idq-clavis3', '--km', '50'], async (net, tracker) => {
    const clients = await registerClients(net, crypto);
    const load = sign(clients, Math.ceil((WINDOW_S * 1200 + 500) / CLIENTS), crypto);
    // Let the KMEs' pools settle to the link rate (the first buffers come from start-up key).
    const r = await offer(net, tracker, load, Number.POSITIVE_INFINITY, WINDOW_S);
    emit({
      ...base,
      name: 'keylimited_tps',
      unit: 'tx/s',
      link_kbps: 1.44,
      ...summarize([r.committed / r.seconds]),
    });
    emitRefused(base, load, 'keylimited');
  });
  crypto.destroy();
}
