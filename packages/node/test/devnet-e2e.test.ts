/**
 * End to end with real processes: `qledger devnet` (4 validator processes, 4 simulated KMEs
 * with ETSI 014 over mutual TLS, QKD-keyed Toeplitz tags on every consensus message).
 * Concurrent clients; SIGKILL of a validator under load and its catch-up; a killed leader
 * and the view change; an eavesdropper and the fallback; and the halt under requireQkd.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fromHex, leaderOrder, nobleBackend, nobleHashes } from '@qledger/core';
import type { schemas } from '@qledger/core/api';
import { coLocatedFlags } from '../src/cli/devnet-launch.js';
import {
  apiGet,
  type Client,
  type DevnetProcess,
  dataTx,
  registerTx,
  startDevnet,
  submitTxs,
} from '../src/validator/devnet-driver.js';

const crypto = nobleBackend;
const hashes = nobleHashes;
const CHAIN = 'devnet';
const enc = new TextEncoder();
const EPOCH = 4;

interface Status {
  height: number;
  consensus: { height: number; round: number; proposer: string };
  links: {
    peer: string;
    state: string;
    fallbackReason: string | null;
    alarm: boolean;
    qkdBitsOut: number;
    relayed: boolean;
    votesHeld: boolean;
    tagsSent: number;
    fallbackTagsSent: number;
    badTags: number;
    connected: boolean;
  }[];
  stats: Record<string, number> & { roundChanges: number; synced: number };
  heightPhases: schemas.NodeStatus['heightPhases'];
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until every one of `validators` reports each of `ids` committed. */
async function committedOn(
  validators: readonly { api: string }[],
  ids: readonly string[],
  what: string,
  ms = 60_000,
): Promise<void> {
  await until(
    what,
    async () => {
      for (const v of validators)
        for (const id of ids) {
          const s = await apiGet<{ status: string }>(`${v.api}/v1/transactions/${id}`);
          if (s.status !== 'committed') return false;
        }
      return true;
    },
    ms,
  );
}

async function committedEverywhere(net: DevnetProcess, ids: readonly string[], ms = 60_000): Promise<void> {
  await committedOn(net.ready.validators, ids, `${ids.length} transactions committed on every validator`, ms);
}

async function sameChains(net: DevnetProcess): Promise<number> {
  const heights = await Promise.all(
    net.ready.validators.map(async (v) => (await apiGet<Status>(`${v.api}/v1/status`)).height),
  );
  const h = Math.min(...heights);
  for (let i = 1; i <= h; i++) {
    const hashes = await Promise.all(
      net.ready.validators.map(async (v) => (await apiGet<{ hash: string }>(`${v.api}/v1/blocks/${i}`)).hash),
    );
    assert.equal(new Set(hashes).size, 1, `validators disagree at height ${i}: ${hashes.join(' ')}`);
  }
  return h;
}

describe('devnet end to end', { timeout: 600_000 }, () => {
  let dir: string;
  let net: DevnetProcess;
  const clients: Client[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qledger-e2e-'));
    // Epochs of 4 heights: the beacon takes over the leader order from height 9, and the kill
    // and view-change tests below cross several epoch boundaries.
    net = await startDevnet(dir, ['--epoch-length', String(EPOCH)]);
  });
  after(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('validators sharing the cores run with single-threaded GC, as coLocatedFlags says for this machine', () => {
    const want = coLocatedFlags(net.ready.validators.length, availableParallelism()).length > 0;
    for (const v of net.ready.validators) {
      const argv = readFileSync(`/proc/${net.pid(v.name)}/cmdline`, 'utf8').split('\0');
      assert.equal(argv.includes('--single-threaded-gc'), want, `${v.name}: ${argv.join(' ')}`);
    }
  });

  test('concurrent clients on every validator: all commit, identical chains, QKD tags on every link', async () => {
    const regs = Array.from({ length: 8 }, (_, i) => registerTx(CHAIN, `client-${i}`, crypto, hashes));
    clients.push(...regs.map((r) => r.client));
    // Each client sends its registration and 5 data transactions to its own validator, all at once.
    const batches = regs.map((r, i) => [
      r.env.bytes,
      ...Array.from(
        { length: 5 },
        (_, k) => dataTx(CHAIN, r.client, enc.encode(`c${i} #${k}`), crypto, hashes).bytes,
      ),
    ]);
    const results = await Promise.all(batches.map((b, i) => submitTxs(net.ready.validators[i % 4]!.api, b)));
    const all = results.flat();
    assert.equal(all.length, 48);
    for (const r of all) assert.equal(r.status, 'pending', JSON.stringify(r));
    await committedEverywhere(
      net,
      all.map((r) => r.id),
    );
    assert.ok((await sameChains(net)) >= 1);
    // A duplicate is refused without a second copy; a bad transaction gets a coded 400.
    const dup = await submitTxs(net.ready.validators[0]!.api, [batches[0]![0]!]);
    assert.notEqual(dup[0]!.status, 'pending');
    // A transaction whose signature does not verify is refused where it was sent, and goes no
    // further: the peers never hear of it. The good one after it, with the same seq, leaves
    // by the same gossip, so once it has committed everywhere the bad one would have arrived.
    const c0 = clients[0]!;
    const signed = dataTx(CHAIN, c0, enc.encode('forged'), crypto, hashes);
    const forged = Buffer.from(signed.bytes);
    forged[forged.indexOf(Buffer.from(signed.tx.sig)) + 100]! ^= 1; // a byte inside the signature
    c0.seq--;
    const [refused] = await submitTxs(net.ready.validators[1]!.api, [forged]);
    assert.equal(refused!.status, 'rejected', JSON.stringify(refused));
    assert.equal((refused as { code?: string }).code, 'TX_BAD_SIGNATURE');
    const [next] = await submitTxs(net.ready.validators[1]!.api, [
      dataTx(CHAIN, c0, enc.encode('after the forged one'), crypto, hashes).bytes,
    ]);
    assert.equal(next!.status, 'pending', JSON.stringify(next));
    await committedEverywhere(net, [next!.id]);
    for (const [i, v] of net.ready.validators.entries()) {
      const r = await apiGet<{ status?: string; code?: string }>(`${v.api}/v1/transactions/${refused!.id}`);
      assert.equal(
        r.status ?? r.code,
        i === 1 ? 'rejected' : 'TX_NOT_FOUND',
        `${v.name}: ${JSON.stringify(r)}`,
      );
    }
    const bad = await fetch(`${net.ready.validators[0]!.api}/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tx: 'zz' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'REQUEST_INVALID');
    const st = await apiGet<Status>(`${net.ready.validators[0]!.api}/v1/status`);
    for (const l of st.links) {
      assert.equal(l.state, 'qkd');
      assert.ok(l.tagsSent > 0 && l.qkdBitsOut > 0, JSON.stringify(l));
      assert.equal(l.badTags, 0);
    }
    // Where the heights' time went: measured on every validator, each phase within its height.
    for (const v of net.ready.validators) {
      const s = await apiGet<Status>(`${v.api}/v1/status`);
      const ph = s.heightPhases;
      assert.ok(ph.heights > 0 && ph.heights <= s.height, `${v.name}: ${JSON.stringify(ph)}`);
      for (const name of ['proposal', 'prevote', 'precommit', 'commit'] as const) {
        const f = ph[name];
        assert.ok(f.p50 !== null && f.p90 !== null && f.p50 >= 0 && f.p90 >= f.p50, `${v.name} ${name}`);
        // Every height's total is at least each of its phases, so the medians keep that order.
        assert.ok(ph.total.p50! >= f.p50, `${v.name}: ${name} above the total: ${JSON.stringify(ph)}`);
      }
    }
    // Proposals travel compact (leaves, not transactions), and every one sent was rebuilt whole.
    const stats = await Promise.all(
      net.ready.validators.map(async (v) => (await apiGet<Status>(`${v.api}/v1/status`)).stats),
    );
    const sum = (k: string) => stats.reduce((a, s) => a + (s[k] ?? 0), 0);
    assert.ok(sum('compactSent') > 0, JSON.stringify(stats));
    assert.ok(sum('compactCompleted') > 0 && sum('compactCompleted') <= sum('compactReceived'));
    assert.equal(sum('faults'), 0, JSON.stringify(stats));
    // Thrifty votes: on the square each validator's diagonal peer is relayed, and its round-0
    // votes go there only when a height needs them, so the relayed links carry fewer tags.
    const links = await Promise.all(
      net.ready.validators.map(async (v) => (await apiGet<Status>(`${v.api}/v1/status`)).links),
    );
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const relayed = links.flat().filter((l) => l.relayed);
    const direct = links.flat().filter((l) => !l.relayed);
    assert.equal(relayed.length, 4, 'v1–v3 and v2–v4, both ways');
    assert.ok(relayed.every((l) => l.votesHeld) && direct.every((l) => !l.votesHeld));
    assert.ok(sum('votesHeld') > 0, JSON.stringify(stats));
    assert.ok(
      mean(relayed.map((l) => l.tagsSent)) < mean(direct.map((l) => l.tagsSent)),
      `tags sent: relayed ${relayed.map((l) => l.tagsSent)}, direct ${direct.map((l) => l.tagsSent)}`,
    );
  });

  test('the QRNG beacon seeds the leader order from epoch 2: same seed in every header, proposers follow it', async () => {
    const api = net.ready.validators[0]!.api;
    // One transaction at a time, so heights advance until the third epoch is under way.
    const c = clients[0]!;
    while ((await apiGet<Status>(`${api}/v1/status`)).height < 3 * EPOCH + 1) {
      const [r] = await submitTxs(api, [dataTx(CHAIN, c, enc.encode('tick'), crypto, hashes).bytes]);
      assert.equal(r!.status, 'pending', JSON.stringify(r));
      await committedEverywhere(net, [r!.id]);
    }
    const h = await sameChains(net);
    interface B {
      height: number;
      proposer: string;
      view: number;
      beacon: string;
      txs: { kind: string; sender: string }[];
    }
    const blocks: B[] = [];
    for (let i = 1; i <= h; i++) blocks.push(await apiGet<B>(`${api}/v1/blocks/${i}`));
    const names = net.ready.validators.map((v) => v.name);
    // Epochs 0 and 1 have no seed; from epoch 2 every header carries one, the same within an epoch.
    for (const b of blocks.filter((b) => b.height <= 2 * EPOCH))
      assert.equal(b.beacon, '', `block ${b.height}`);
    const epoch2 = blocks.filter((b) => b.height > 2 * EPOCH && b.height <= 3 * EPOCH);
    const seed = epoch2[0]!.beacon;
    assert.match(seed, /^[0-9a-f]{64}$/);
    for (const b of epoch2) assert.equal(b.beacon, seed, `block ${b.height}`);
    // Every validator committed and revealed through the chain itself.
    const sent = blocks.flatMap((b) => b.txs).filter((t) => t.kind.startsWith('beacon.'));
    for (const n of names) {
      assert.ok(
        sent.some((t) => t.kind === 'beacon.commit' && t.sender === n),
        `${n} committed`,
      );
      assert.ok(
        sent.some((t) => t.kind === 'beacon.reveal' && t.sender === n),
        `${n} revealed`,
      );
    }
    // The proposer of each epoch-2 block is the one the seed's order names for its height and round.
    const order = leaderOrder(fromHex(seed), names.length);
    for (const b of epoch2)
      assert.equal(b.proposer, names[order[(b.height + b.view) % names.length]!], `block ${b.height}`);
    const st = await apiGet<{
      beacon: { epoch: number; source: string; contributors: string[]; commitsSent: number };
    }>(`${api}/v1/status`);
    assert.ok(st.beacon.epoch >= 2);
    assert.equal(st.beacon.source, 'beacon');
    assert.ok(st.beacon.contributors.length >= 3, JSON.stringify(st.beacon));
    assert.ok(st.beacon.commitsSent >= 3, JSON.stringify(st.beacon));
  });

  test('SIGKILL a validator under load: the rest keep committing, it restarts and catches up', async () => {
    const victim = net.ready.validators[3]!;
    const live = net.ready.validators.slice(0, 3);
    const before = (await apiGet<Status>(`${live[0]!.api}/v1/status`)).height;
    process.kill(net.pid(victim.name), 'SIGKILL');
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      const txs = clients.map((c) => dataTx(CHAIN, c, enc.encode(`load ${round}`), crypto, hashes).bytes);
      for (const [i, r] of (await submitTxs(live[round % 3]!.api, txs)).entries()) {
        assert.equal(r.status, 'pending', `tx ${i}: ${JSON.stringify(r)}`);
        ids.push(r.id);
      }
    }
    await committedOn(live, ids, 'the live validators commit without the victim');
    assert.ok((await apiGet<Status>(`${live[0]!.api}/v1/status`)).height > before);
    await until('the victim restarts', async () =>
      net.events.some((e) => e.event === 'restarted' && e.name === victim.name),
    );
    await committedEverywhere(net, ids, 90_000);
    await sameChains(net);
  });

  test('a silent validator (SIGSTOP, still connected): the held votes of its neighbours go out, and the rest commit', async () => {
    // v2 stops answering but keeps its connections open, so its neighbours v1 and v3 still
    // count it as connected and send their round-0 votes only to it and v4. Each of them then
    // lacks a quorum until the held votes for its diagonal peer go out.
    const silent = net.ready.validators[1]!;
    const live = [0, 2, 3].map((i) => net.ready.validators[i]!);
    const fallbacks = async () =>
      (await Promise.all(live.map(async (v) => (await apiGet<Status>(`${v.api}/v1/status`)).stats))).map(
        (s) => s.thriftyFallbacks ?? 0,
      );
    const before = await fallbacks();
    process.kill(net.pid(silent.name), 'SIGSTOP');
    try {
      // Heights v2 was to propose go to round 1, where votes go to everyone at once, so
      // transactions keep coming until a live proposer's round-0 height has needed the held
      // votes of one of v2's neighbours, v1 or v3. (Either may be sending to everyone for a
      // few heights already, after an earlier test's fallback.)
      // (A plain loop, not `until`: a refused submission must fail the test, not be retried
      // with the next sequence numbers.)
      const ids: string[] = [];
      let after = before;
      const neighbours = (f: number[]) => f[0]! + f[1]!;
      for (const end = Date.now() + 60_000; neighbours(after) === neighbours(before); ) {
        assert.ok(Date.now() < end, `neither v1 nor v3 sent its held votes: fallbacks ${before} → ${after}`);
        const txs = clients.map(
          (c) => dataTx(CHAIN, c, enc.encode(`silent ${ids.length}`), crypto, hashes).bytes,
        );
        // All to one validator: a sequence number that skips ahead of what it has is refused,
        // and gossip may not have brought it the one before from another.
        for (const r of await submitTxs(live[2]!.api, txs)) {
          assert.equal(r.status, 'pending', JSON.stringify(r));
          ids.push(r.id);
        }
        await new Promise((r) => setTimeout(r, 200));
        after = await fallbacks();
      }
      await committedOn(live, ids, 'the other three commit while v2 is silent');
      process.kill(net.pid(silent.name), 'SIGCONT');
      await committedEverywhere(net, ids, 90_000);
      await sameChains(net);
    } finally {
      process.kill(net.pid(silent.name), 'SIGCONT');
    }
  });

  test('kill the leader: a view change follows and the transaction still commits', async () => {
    const v0 = net.ready.validators[0]!;
    const st = await apiGet<Status>(`${v0.api}/v1/status`);
    const leader = st.consensus.proposer;
    const others = net.ready.validators.filter((v) => v.name !== leader);
    const roundsBefore = await Promise.all(
      others.map(async (v) => (await apiGet<Status>(`${v.api}/v1/status`)).stats.roundChanges),
    );
    process.kill(net.pid(leader), 'SIGKILL');
    // The chain does not wait for this test (the beacon's own transactions move it too), so
    // the height the leader was to propose may be decided already; its next turn comes within
    // a few heights. Transactions keep coming until the others have changed round.
    const ids: string[] = [];
    let roundsAfter: number[] = [];
    await until('a view change on the others', async () => {
      const [r] = await submitTxs(others[0]!.api, [
        dataTx(CHAIN, clients[0]!, enc.encode(`after the leader ${ids.length}`), crypto, hashes).bytes,
      ]);
      assert.equal(r!.status, 'pending');
      ids.push(r!.id);
      roundsAfter = await Promise.all(
        others.map(async (v) => (await apiGet<Status>(`${v.api}/v1/status`)).stats.roundChanges),
      );
      return roundsAfter.some((n, i) => n > roundsBefore[i]!);
    });
    await committedOn(others, ids, 'commit on the others');
    assert.ok(
      roundsAfter.some((n, i) => n > roundsBefore[i]!),
      `round changes ${roundsBefore} → ${roundsAfter}`,
    );
    // A block after the kill was decided in a later round, by another proposer.
    const top = (await apiGet<Status>(`${others[0]!.api}/v1/status`)).height;
    const later: { proposer: string; round: number }[] = [];
    for (let h = st.height + 1; h <= top; h++) {
      const b = await apiGet<{ proposer: string; cert: { round: number } }>(
        `${others[0]!.api}/v1/blocks/${h}`,
      );
      later.push({ proposer: b.proposer, round: b.cert.round });
    }
    assert.ok(
      later.some((b) => b.round >= 1 && b.proposer !== leader),
      `no block decided in round ≥ 1 after ${leader} died: ${JSON.stringify(later)}`,
    );
    await committedEverywhere(net, ids, 90_000);
  });

  test('an eavesdropper on a link: QBER alarm, the link falls back to ML-KEM keys, visible in status', async () => {
    // kme-a–kme-b joins v1 and v2.
    assert.equal(await net.link('a-b', { eavesdrop: 1 }), 200);
    const v1 = net.ready.validators[0]!;
    const link = await until('v1 sees the alarm on its link to v2', async () => {
      const l = (await apiGet<Status>(`${v1.api}/v1/status`)).links.find((x) => x.peer === 'v2')!;
      return l.alarm && l.state === 'fallback' ? l : undefined;
    });
    assert.match(link.fallbackReason!, /QBER alarm/);
    const [r] = await submitTxs(v1.api, [
      dataTx(CHAIN, clients[1]!, enc.encode('under attack'), crypto, hashes).bytes,
    ]);
    await committedEverywhere(net, [r!.id]);
    // v1's votes to v2 go out under fallback tags (v2 may decide before they arrive, so wait).
    await until('messages to v2 under fallback tags', async () => {
      const l = (await apiGet<Status>(`${v1.api}/v1/status`)).links.find((x) => x.peer === 'v2')!;
      if (l.fallbackTagsSent > 0) return true;
      const more = dataTx(CHAIN, clients[1]!, enc.encode('more'), crypto, hashes).bytes;
      await committedEverywhere(net, [(await submitTxs(v1.api, [more]))[0]!.id]);
      return false;
    });
    // Other links stay on QKD.
    assert.equal(
      (await apiGet<Status>(`${v1.api}/v1/status`)).links.find((x) => x.peer === 'v4')!.state,
      'qkd',
    );
    assert.equal(await net.link('a-b', { eavesdrop: 0 }), 200);
    await until('the link returns to QKD keys', async () => {
      const l = (await apiGet<Status>(`${v1.api}/v1/status`)).links.find((x) => x.peer === 'v2')!;
      return l.state === 'qkd';
    });
    await sameChains(net);
  });
});

describe('devnet with requireQkd', { timeout: 300_000 }, () => {
  test('an eavesdropped link halts instead of falling back; the rest of the network still commits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qledger-e2e-rq-'));
    const net = await startDevnet(dir, ['--require-qkd']);
    try {
      assert.equal(await net.link('a-b', { eavesdrop: 1 }), 200);
      const v1 = net.ready.validators[0]!;
      const l = await until('the v1–v2 link halts', async () => {
        const x = (await apiGet<Status>(`${v1.api}/v1/status`)).links.find((y) => y.peer === 'v2')!;
        return x.state === 'halted' ? x : undefined;
      });
      assert.match(l.fallbackReason!, /QBER alarm/);
      const { env } = registerTx(CHAIN, 'rq-client', crypto, hashes);
      const [r] = await submitTxs(v1.api, [env.bytes]);
      await committedEverywhere(net, [r!.id]);
      const after = (await apiGet<Status>(`${v1.api}/v1/status`)).links.find((y) => y.peer === 'v2')!;
      assert.equal(after.fallbackTagsSent, 0, 'no message left under a fallback tag');
    } finally {
      await net.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
