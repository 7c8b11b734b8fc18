/**
 * Random interleavings of status, enc_keys, dec_keys, production, restarts and crashes over a
 * three-site line (so that a↔c goes by relay). After every schedule:
 *  - no key_ID is handed to a master twice, nor to any slave twice;
 *  - dec_keys only ever answers SAEs that were named as slaves;
 *  - master and every slave received identical bytes under one key_ID;
 *  - no two key_IDs carry the same bytes (no key material is ever used twice).
 * A crash loses the open transaction (as SIGKILL would); a restart reopens the SQLite files.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EtsiError, Kme, KmeStore, localTransport, NetworkSchema, Topology } from '@qledger/kme';

/** xorshift128+: a seeded schedule generator (not for secrets), reproducible from its seed. */
function prng(seed: bigint) {
  let s0 = seed | 1n;
  let s1 = (seed >> 64n) | 3n;
  const M = (1n << 64n) - 1n;
  return (n: number): number => {
    let x = s0;
    const y = s1;
    s0 = y;
    x = (x ^ (x << 23n)) & M;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number(((s1 + y) & M) % BigInt(n));
  };
}

const net = NetworkSchema.parse({
  limits: { maxKeyCount: 400, keyTtlSeconds: 3600, maxKeyPerRequest: 8 },
  sites: [
    { id: 'a', saes: ['a1', 'a2'] },
    { id: 'b', saes: ['b1'] },
    { id: 'c', saes: ['c1', 'c2'] },
  ],
  links: [
    { id: 'ab', a: 'a', b: 'b', profile: 'qnu-armos', lengthKm: 20 },
    { id: 'bc', a: 'c', b: 'b', profile: 'idq-clavis3', lengthKm: 10 },
  ],
});
const topo = new Topology(net);
const SAES = ['a1', 'a2', 'b1', 'c1', 'c2'];

async function runSchedule(seed: bigint, steps: number) {
  const rnd = prng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'qledger-kme-prop-'));
  const registry = new Map<string, Kme>();
  const open = (site: string) => {
    const store = new KmeStore(join(dir, `${site}.sqlite`), 'full', (e) => {
      throw e;
    });
    registry.set(site, new Kme({ site, topology: topo, store, transport: localTransport(site, registry) }));
  };
  for (const s of ['a', 'b', 'c']) open(s);

  const issued = new Map<string, { master: string; slaves: string[]; key: string }>();
  const served = new Set<string>(); // `${keyId}|${sae}`
  const bytesSeen = new Map<string, string>(); // key bytes → key_ID
  const stats = { enc: 0, dec: 0, crashes: 0, restarts: 0, refused: 0 };

  const see = (keyId: string, key: string) => {
    const other = bytesSeen.get(key);
    assert.ok(
      other === undefined || other === keyId,
      `key material reused by ${other} and ${keyId} (seed ${seed})`,
    );
    bytesSeen.set(key, keyId);
  };

  const op = async (): Promise<void> => {
    const r = rnd(100);
    const sites = [...registry.keys()];
    if (sites.length === 0) return;
    if (r < 25) {
      await Promise.all([...registry.values()].map((k) => k.produce(0.02 + rnd(20) / 100)));
    } else if (r < 55) {
      const master = SAES[rnd(SAES.length)]!;
      const kme = registry.get(topo.siteOfSae(master)!);
      if (!kme) return;
      const others = SAES.filter((s) => topo.siteOfSae(s) !== kme.id);
      const slave = others[rnd(others.length)]!;
      const peers = others.filter((s) => s !== slave && topo.siteOfSae(s) === topo.siteOfSae(slave));
      const extra = peers.length > 0 && rnd(3) === 0 ? [peers[0]!] : [];
      try {
        const res = await kme.encKeys(master, slave, {
          number: 1 + rnd(4),
          size: 64 * (1 + rnd(4)),
          additional_slave_SAE_IDs: extra,
        });
        stats.enc++;
        for (const k of res.keys) {
          assert.ok(!issued.has(k.key_ID), `key_ID ${k.key_ID} issued twice (seed ${seed})`);
          issued.set(k.key_ID, { master, slaves: [slave, ...extra], key: k.key });
          see(k.key_ID, k.key);
        }
      } catch (e) {
        if (!(e instanceof EtsiError) && !(e instanceof Error && /closed|crashed/.test(e.message))) throw e;
        stats.refused++;
      }
    } else if (r < 85) {
      const ids = [...issued.keys()];
      if (ids.length === 0) return;
      const id = ids[rnd(ids.length)]!;
      const rec = issued.get(id)!;
      // Mostly a named slave; sometimes anyone else at the same KME.
      const site = topo.siteOfSae(rec.slaves[0]!)!;
      const candidates = SAES.filter((s) => topo.siteOfSae(s) === site);
      const caller = rnd(4) === 0 ? candidates[rnd(candidates.length)]! : rec.slaves[rnd(rec.slaves.length)]!;
      const kme = registry.get(site);
      if (!kme) return;
      try {
        const res = await kme.decKeys(caller, rec.master, [id]);
        stats.dec++;
        assert.ok(
          rec.slaves.includes(caller),
          `key ${id} given to ${caller}, who was not named (seed ${seed})`,
        );
        assert.ok(!served.has(`${id}|${caller}`), `key ${id} given to ${caller} twice (seed ${seed})`);
        served.add(`${id}|${caller}`);
        assert.equal(res.keys[0]!.key, rec.key, `slave and master bytes differ for ${id} (seed ${seed})`);
      } catch (e) {
        if (!(e instanceof EtsiError) && !(e instanceof Error && /closed|crashed/.test(e.message))) throw e;
        if (e instanceof EtsiError && e.status === 401) assert.ok(!rec.slaves.includes(caller));
        stats.refused++;
      }
    } else if (r < 90) {
      await Promise.all([...registry.values()].map((k) => k.status(SAES[0]!, 'c1').catch(() => undefined)));
    } else if (r < 95) {
      const site = sites[rnd(sites.length)]!;
      registry.get(site)!.store.close();
      open(site);
      stats.restarts++;
    } else {
      const site = sites[rnd(sites.length)]!;
      registry.get(site)!.store.crash();
      registry.delete(site);
      stats.crashes++;
      // Back after a few operations have run against a missing KME.
      setImmediate(() => open(site));
    }
  };

  for (let i = 0; i < steps; i++) {
    // Up to three operations in flight at once, so a crash lands between a write and its commit.
    const width = 1 + rnd(3);
    await Promise.all(Array.from({ length: width }, () => op()));
    for (const s of ['a', 'b', 'c']) if (!registry.has(s)) await new Promise((r) => setImmediate(r));
  }
  for (const k of registry.values()) k.store.close();
  rmSync(dir, { recursive: true, force: true });
  return { stats, issued: issued.size, served: served.size };
}

test('random schedules keep every key unique, with its named slaves only, and identical at both ends', async () => {
  const totals = { enc: 0, dec: 0, crashes: 0, restarts: 0, issued: 0, served: 0 };
  for (let i = 0; i < 6; i++) {
    const seed = BigInt(`0x${randomBytes(16).toString('hex')}`);
    const r = await runSchedule(seed, 250);
    totals.enc += r.stats.enc;
    totals.dec += r.stats.dec;
    totals.crashes += r.stats.crashes;
    totals.restarts += r.stats.restarts;
    totals.issued += r.issued;
    totals.served += r.served;
  }
  // The schedules must actually have exercised what they claim to.
  assert.ok(totals.issued > 200, `only ${totals.issued} keys issued`);
  assert.ok(totals.served > 100, `only ${totals.served} keys served`);
  assert.ok(totals.crashes > 5 && totals.restarts > 5, JSON.stringify(totals));
});
