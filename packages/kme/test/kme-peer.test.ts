/**
 * The KME-to-KME handler refuses messages that do not fit the topology, without throwing; and
 * a master's deliver, sent before its own commit is durable, cannot lead to bytes used twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  EtsiError,
  Kme,
  KmeStore,
  localTransport,
  NetworkSchema,
  type PeerMessage,
  Topology,
} from '@qledger/kme';

const topo = new Topology(
  NetworkSchema.parse({
    sites: [
      { id: 'a', saes: ['a1'] },
      { id: 'b', saes: ['b1'] },
      { id: 'c', saes: ['c1'] },
    ],
    links: [
      { id: 'ab', a: 'a', b: 'b', profile: 'lab-fast', lengthKm: 10 },
      { id: 'bc', a: 'b', b: 'c', profile: 'lab-fast', lengthKm: 10 },
    ],
  }),
);

test('probes, deliveries and chunks that do not fit the links are refused with a reply, not a crash', async () => {
  const registry = new Map<string, Kme>();
  for (const site of ['a', 'b', 'c'])
    registry.set(
      site,
      new Kme({
        site,
        topology: topo,
        store: new KmeStore(':memory:'),
        transport: localTransport(site, registry),
      }),
    );
  const c = registry.get('c')!;
  // a and c are not linked: a cannot be the previous hop of c
  const probe = await c.handlePeer('a', { type: 'probe', path: ['a', 'c'], hop: 1 });
  assert.equal(probe.ok, false);
  const wrongHop = await c.handlePeer('b', { type: 'probe', path: ['a', 'b', 'c'], hop: 1 });
  assert.equal(wrongHop.ok, false);
  const deliver = await c.handlePeer('a', {
    type: 'deliver',
    path: ['a', 'c'],
    hop: 1,
    link: 'ab',
    start: 0,
    keys: [{ key_ID: '5c0f1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b', bits: 256 }],
    master: 'a1',
    slaves: ['c1'],
    expires: Date.now() + 60_000,
  });
  assert.equal(deliver.ok, false);
  const gap = await registry.get('b')!.handlePeer('a', { type: 'chunk', link: 'ab', seq: 5, parts: [] });
  assert.deepEqual(gap.ok, false);
  const fine = await registry.get('b')!.handlePeer('a', { type: 'probe', path: ['a', 'b'], hop: 1 });
  assert.deepEqual(fine, { ok: true, bytes: 0 });
  for (const k of registry.values()) k.store.close();
});

test('a master KME that crashes after its deliver went out but before its own commit was durable never hands those bytes out again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-kme-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const registry = new Map<string, Kme>();
  const delivered: { keyId: string; start: number }[] = [];
  let crashOnDeliver = false;
  const open = (site: string) => {
    const store = new KmeStore(join(dir, `${site}.sqlite`), 'full');
    const local = localTransport(site, registry);
    const transport = {
      send(to: string, msg: PeerMessage) {
        if (msg.type === 'deliver' && site === 'a') {
          delivered.push({ keyId: msg.keys[0]!.key_ID, start: msg.start });
          // a's take sits in its open transaction, not yet committed: die now, as SIGKILL
          // would, while the deliver still reaches b.
          if (crashOnDeliver) store.crash();
        }
        return local.send(to, msg);
      },
    };
    registry.set(site, new Kme({ site, topology: topo, store, transport }));
  };
  open('a');
  open('b');
  await registry.get('a')!.produce(0.01);
  await registry.get('b')!.produce(0.01);

  crashOnDeliver = true;
  await assert.rejects(registry.get('a')!.encKeys('a1', 'b1', { number: 1, size: 256 }), /crashed/);
  crashOnDeliver = false;
  const orphan = delivered[0]!;
  // b stored the orphan's bytes when the deliver reached it.
  const held = registry.get('b')!.store.getKey(orphan.keyId);
  assert.ok(held?.key, 'b holds the orphaned key');
  const orphanBytes = Buffer.from(held.key).toString('base64');

  open('a'); // restart: a's pool still holds the bytes its lost commit had taken
  await assert.rejects(registry.get('a')!.encKeys('a1', 'b1', { number: 1, size: 256 }), (e: unknown) => {
    assert.ok(e instanceof EtsiError && e.status === 503, String(e));
    return true;
  });
  assert.equal(delivered[1]!.start, orphan.start, 'the restarted master offered the same bytes again');
  const fresh = await registry.get('a')!.encKeys('a1', 'b1', { number: 1, size: 256 });
  assert.ok(delivered[2]!.start > orphan.start);
  assert.notEqual(fresh.keys[0]!.key, orphanBytes);
  const slave = await registry.get('b')!.decKeys('b1', 'a1', [fresh.keys[0]!.key_ID]);
  assert.equal(slave.keys[0]!.key, fresh.keys[0]!.key);
  for (const k of registry.values()) k.store.close();
});
