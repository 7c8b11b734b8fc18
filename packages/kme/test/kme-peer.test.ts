/** The KME-to-KME handler refuses messages that do not fit the topology, without throwing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kme, KmeStore, localTransport, NetworkSchema, Topology } from '@qledger/kme';

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
