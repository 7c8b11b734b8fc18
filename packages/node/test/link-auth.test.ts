/**
 * Link authentication between two validators, with real KMEs over ETSI 014: tags verify,
 * tampering and replays are refused, keys are recorded and never reused, a new session
 * refuses the old one's messages, the fallback works and requireQkd refuses it, and a QBER
 * alarm moves the link to fallback.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { hasCode, macDigest, QledgerError, utf8 } from '@qledger/core';
import type { RunningNetwork } from '@qledger/kme';
import { nativeHashes } from '../src/crypto/index.js';
import { FRAME, FrameReader, frame, MAX_FRAME } from '../src/validator/frames.js';
import { DRY_WINDOW_MS, LinkAuth, type LinkOptions, type MacMemo } from '../src/validator/link.js';
import { clientFor, makePki, startSquare, type TestPki } from './helpers/qkd.js';

const quiet = { info() {}, warn() {} };
const seed = (b: number) => new Uint8Array(32).fill(b);

/** Two ends of one link (v1 ↔ v2 unless `ends` says), wired to each other's key announcements. */
function pair(
  pki: TestPki | null,
  net: RunningNetwork | null,
  o: Partial<LinkOptions> & { requireQkdB?: boolean; ends?: readonly [string, string] } = {},
) {
  const { ends = ['v1', 'v2'], ...opts } = o;
  const [self, peer] = ends;
  // Each validator's own store of used key_IDs (the ChainStore's recordKeyIds semantics).
  const used = { v1: new Map<string, Set<string>>(), v2: new Map<string, Set<string>>() };
  const recorder = (m: Map<string, Set<string>>) => async (link: string, ids: readonly string[]) => {
    const set = m.get(link) ?? new Set();
    for (const id of ids) if (set.has(id)) throw new QledgerError('STORE_KEY_REUSED', `reused ${id}`);
    for (const id of ids) set.add(id);
    m.set(link, set);
  };
  const broken: string[] = [];
  let a!: LinkAuth;
  let b!: LinkAuth;
  const kmes = pki && net ? [clientFor(pki, net, self), clientFor(pki, net, peer)] : [null, null];
  const common = { hashes: nativeHashes, log: quiet, statusPollMs: 50, lowBytes: 64, highBytes: 256 };
  a = new LinkAuth({
    ...common,
    self,
    peer,
    recordKeyIds: recorder(used.v1),
    kme: kmes[0] ?? null,
    requireQkd: false,
    announce: (ids) => b.onKeys(ids),
    onBroken: (w) => broken.push(w),
    ...opts,
  });
  b = new LinkAuth({
    ...common,
    self: peer,
    peer: self,
    recordKeyIds: recorder(used.v2),
    kme: kmes[1] ?? null,
    requireQkd: o.requireQkdB ?? false,
    announce: (ids) => a.onKeys(ids),
    onBroken: (w) => broken.push(w),
  });
  a.newSession(seed(1), seed(2));
  b.newSession(seed(2), seed(1));
  const close = () => {
    a.close();
    b.close();
    for (const k of kmes) k?.close();
  };
  return { a, b, used, broken, close };
}

describe('link authentication over real KMEs', () => {
  let pki: TestPki;
  let net: RunningNetwork;

  before(async () => {
    pki = await makePki(['kme-a', 'kme-b', 'kme-c', 'kme-d'], ['v1', 'v2', 'v3', 'v3b', 'v4']);
    net = await startSquare(pki);
    await net.tick(5);
  });
  after(async () => {
    await net.stop();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  test('tags verify; tampering, replays and the old session are refused; key_IDs are recorded once', async () => {
    const { a, b, used, broken, close } = pair(pki, net);
    try {
      // No key fetched yet: trySeal cannot seal now and says so (seal waits for the key).
      assert.equal(a.trySeal(utf8('too early')), undefined);
      assert.equal(a.status().tagsSent, 0);
      const msgs = Array.from({ length: 40 }, (_, i) => utf8(`consensus message ${i}`));
      const envs: Uint8Array[] = [];
      for (const m of msgs) envs.push((await a.seal(m))!);
      for (let i = 0; i < msgs.length; i++) assert.deepEqual(await b.open(envs[i]!), msgs[i]);
      const s = a.status();
      assert.equal(s.state, 'qkd');
      assert.equal(s.tagsSent, 40);
      // 80-byte Toeplitz key + 16 bytes per tag, all from QKD.
      assert.equal(s.qkdBitsUsed, (80 + 40 * 16) * 8);
      assert.ok(s.qkdBitsOut >= s.qkdBitsUsed);
      assert.equal(b.status().tagsChecked, 40);
      // Both ends recorded the same key_IDs for the v1→v2 direction, each in its own store.
      const sent = [...(used.v1.get('v1>v2') ?? [])].sort();
      assert.ok(sent.length >= Math.ceil((80 + 40 * 16) / 32), `${sent.length} keys`);
      assert.deepEqual([...(used.v2.get('v1>v2') ?? [])].sort(), sent);
      // Replay of an accepted envelope: its pad is gone.
      assert.equal(await b.open(envs[3]!), null);
      // Tampered message and tampered tag.
      const next = (await a.seal(utf8('fresh')))!;
      const t1 = next.slice();
      t1[t1.length - 1]! ^= 1;
      assert.equal(await b.open(t1), null);
      const next2 = (await a.seal(utf8('fresh 2')))!;
      const t2 = next2.slice();
      t2[20]! ^= 0x80; // inside the tag
      assert.equal(await b.open(t2), null);
      assert.equal(b.status().badTags, 3);
      // A new session (reconnect): the old session's envelopes fail.
      const old = (await a.seal(utf8('before reconnect')))!;
      a.newSession(seed(3), seed(4));
      b.newSession(seed(4), seed(3));
      assert.equal(await b.open(old), null);
      const fresh = (await a.seal(utf8('after reconnect')))!;
      assert.deepEqual(await b.open(fresh), utf8('after reconnect'));
      // With key in the buffer trySeal seals at once, as seal would.
      const now = a.trySeal(utf8('at once'));
      assert.ok(now instanceof Uint8Array);
      assert.deepEqual(await b.open(now), utf8('at once'));
      assert.deepEqual(broken, []);
    } finally {
      close();
    }
  });

  test('the two ends may ask for different key sizes: each direction uses its sender’s keyBits', async () => {
    // v1 asks its KME for 512-bit keys, v2 for the default 256. A receiver takes the keys the
    // sender chose (a rolling upgrade that changes keyBits must not break its links).
    const { a, b, used, broken, close } = pair(pki, net, { keyBits: 512 });
    try {
      for (let i = 0; i < 20; i++) {
        const m = utf8(`both ways ${i}`);
        assert.deepEqual(await b.open((await a.seal(m))!), m, `v1 → v2, message ${i}`);
        assert.deepEqual(await a.open((await b.seal(m))!), m, `v2 → v1, message ${i}`);
      }
      assert.deepEqual(broken, []);
      assert.equal(a.status().state, 'qkd');
      assert.equal(b.status().state, 'qkd');
      // 80-byte Toeplitz key + 20 tags of 16 bytes each way, in keys of each sender's size.
      const bits = (80 + 20 * 16) * 8;
      assert.equal(b.status().qkdBitsIn % 512, 0, 'v2 received 512-bit keys');
      assert.equal(a.status().qkdBitsIn % 256, 0);
      assert.ok(used.v1.get('v1>v2')!.size >= Math.ceil(bits / 512));
      assert.deepEqual([...used.v2.get('v1>v2')!].sort(), [...used.v1.get('v1>v2')!].sort());
      assert.deepEqual([...used.v1.get('v2>v1')!].sort(), [...used.v2.get('v2>v1')!].sort());
    } finally {
      close();
    }
  });

  test('a QBER alarm moves the link to ML-KEM fallback; clearing it returns to QKD', async () => {
    const { a, b, close } = pair(pki, net);
    try {
      assert.ok(await b.open((await a.seal(utf8('before')))!));
      await net.kmes.get('kme-a')!.control('a-b', { eavesdrop: 1 });
      for (let i = 0; i < 100 && a.status().state !== 'fallback'; i++)
        await new Promise((r) => setTimeout(r, 20));
      const s = a.status();
      assert.equal(s.state, 'fallback');
      assert.equal(s.alarm, true);
      assert.match(s.fallbackReason!, /QBER alarm/);
      assert.equal(s.bufferBits, 0, 'unused QKD pad is dropped on an alarm');
      assert.deepEqual(await b.open((await a.seal(utf8('under fallback')))!), utf8('under fallback'));
      assert.equal(a.status().fallbackTagsSent, 1);
      await net.kmes.get('kme-a')!.control('a-b', { eavesdrop: 0 });
      await net.tick(5);
      for (let i = 0; i < 100 && a.status().state !== 'qkd'; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(a.status().state, 'qkd');
      assert.deepEqual(await b.open((await a.seal(utf8('back')))!), utf8('back'));
    } finally {
      close();
    }
  });

  test('a link that lives on its KME reports the rate the KME delivers; none while its pool or pad holds key', async () => {
    // c-d, the square's slowest link. The pad's low watermark is above all it will hold, so
    // the refill keeps asking once the KME's pool is dry.
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const fed = pair(pki, net, { ends: ['v3', 'v4'] });
    try {
      assert.ok(await fed.b.open((await fed.a.seal(utf8('first')))!));
      await sleep(100);
      assert.equal(fed.a.dryKeyRate(), null, 'the pool held key');
      assert.equal(fed.a.status().dryKeyRateBps, null);
    } finally {
      fed.close();
    }
    const { a, b, broken, close } = pair(pki, net, { ends: ['v3', 'v4'], lowBytes: 4096, highBytes: 8192 });
    const drain = clientFor(pki, net, 'v3');
    try {
      // Take the rest of the pool for another SAE, as a busy link would.
      for (;;) {
        try {
          await drain.encKeys('v4', { number: 8, size: 256 });
        } catch (e) {
          assert.ok(hasCode(e, 'KME_KEYS_EXHAUSTED'), String(e));
          break;
        }
      }
      // Spend the pad until the refill finds the pool short, then let the deliveries of
      // the drain age out of the window: the refill keeps asking an empty pool meanwhile.
      for (let i = 0; i < 1000 && a.dryKeyRate() === null; i++) await b.open((await a.seal(utf8(`m${i}`)))!);
      assert.notEqual(a.dryKeyRate(), null, 'the refill found the pool short');
      await sleep(DRY_WINDOW_MS + 100);
      assert.equal(a.dryKeyRate(), 0, 'nothing distilled, nothing delivered');
      const before = a.status().qkdBitsOut;
      await net.tick(0.5); // half a second of the link's key
      for (let i = 0; i < 100 && a.status().qkdBitsOut === before; i++) await sleep(20);
      await sleep(120); // the refill polls every 50 ms: whatever the tick made is taken by now
      const got = a.status().qkdBitsOut - before;
      assert.ok(got > 0, 'the tick made key for this direction');
      // Everything delivered since the tick is in the window, and nothing before it.
      assert.equal(a.dryKeyRate(), (got * 1000) / DRY_WINDOW_MS);
      assert.equal(a.status().dryKeyRateBps, (got * 1000) / DRY_WINDOW_MS);
      // Later, the deliveries age out, and the link reports 0 while it still lives on its KME.
      await sleep(DRY_WINDOW_MS + 100);
      assert.equal(a.dryKeyRate(), 0);
      assert.deepEqual(broken, []);
    } finally {
      drain.close();
      close();
    }
  });
});

describe('link authentication without QKD', () => {
  test('no KME: fallback tags verify; a requireQkd receiver refuses them; a requireQkd sender halts', async () => {
    const open = pair(null, null);
    try {
      assert.equal(open.a.status().state, 'fallback');
      const env = (await open.a.seal(utf8('pq')))!;
      assert.deepEqual(await open.b.open(env), utf8('pq'));
      const now = open.a.trySeal(utf8('pq now'));
      assert.ok(now instanceof Uint8Array);
      assert.deepEqual(await open.b.open(now), utf8('pq now'));
      assert.equal(await open.b.open(env), null, 'replayed fallback tag');
    } finally {
      open.a.close();
      open.b.close();
    }
    const strict = pair(null, null, { requireQkdB: true });
    try {
      assert.equal(await strict.b.open((await strict.a.seal(utf8('pq')))!), null);
      assert.equal(strict.b.status().refusedFallbackTags, 1);
    } finally {
      strict.a.close();
      strict.b.close();
    }
    const halted = pair(null, null, { requireQkd: true });
    try {
      assert.equal(halted.a.status().state, 'halted');
      assert.equal(await halted.a.seal(utf8('x')), null);
      assert.equal(halted.a.status().dropped, 1);
      assert.equal(halted.a.trySeal(utf8('y')), null, 'dropped, not waiting');
      assert.equal(halted.a.status().dropped, 2);
    } finally {
      halted.a.close();
      halted.b.close();
    }
  });

  test('a broadcast hashes its message once for all links: the memo carries the MAC digest to the next link', async () => {
    let streams = 0;
    const counting = {
      ...nativeHashes,
      sha3_512Stream: () => {
        streams++;
        return nativeHashes.sha3_512Stream();
      },
    };
    const l1 = pair(null, null, { hashes: counting });
    const l2 = pair(null, null, { hashes: counting });
    try {
      const msg = utf8('a proposal for every peer');
      const memo: MacMemo = {};
      const before = streams;
      const e1 = l1.a.trySeal(msg, memo);
      const e2 = l2.a.trySeal(msg, memo);
      assert.equal(streams - before, 1, 'one SHA3-512 pass for two links');
      assert.deepEqual(memo.digest, macDigest(nativeHashes, msg));
      assert.ok(e1 instanceof Uint8Array && e2 instanceof Uint8Array);
      // Each receiver hashes for itself, and both accept.
      assert.deepEqual(await l1.b.open(e1), msg);
      assert.deepEqual(await l2.b.open(e2), msg);
      // Without a memo each link hashes on its own.
      const again = streams;
      l1.a.trySeal(msg);
      l2.a.trySeal(msg);
      assert.equal(streams - again, 2);
    } finally {
      for (const l of [l1, l2]) {
        l.a.close();
        l.b.close();
      }
    }
  });

  test('frames: split anywhere, reassembled exactly; an oversized length is refused', () => {
    const payloads = [new Uint8Array(0), utf8('a'), new Uint8Array(70_000).fill(7)];
    const wire = Buffer.concat(payloads.map((p, i) => frame(i === 0 ? FRAME.TXS : FRAME.KEYS, p)));
    for (const cut of [1, 3, 5, 4096]) {
      const r = new FrameReader();
      const got: { type: number; payload: Uint8Array }[] = [];
      for (let i = 0; i < wire.length; i += cut) got.push(...r.push(wire.subarray(i, i + cut)));
      assert.equal(got.length, 3);
      for (const [i, f] of got.entries()) assert.deepEqual(f.payload, payloads[i]);
      assert.equal(got[0]!.type, FRAME.TXS);
      // Each payload owns its memory (receivers keep views of it): no two share a buffer, and
      // none shares the wire's.
      const buffers = new Set(got.map((f) => f.payload.buffer));
      assert.equal(buffers.size, 3);
      assert.equal(buffers.has(wire.buffer), false);
    }
    // Frames arriving in one chunk, which the reader could have cut out of it without a copy.
    const one = new FrameReader().push(Buffer.from(wire));
    assert.equal(new Set(one.map((f) => f.payload.buffer)).size, 3);
    const huge = Buffer.alloc(5);
    huge.writeUInt32BE(MAX_FRAME + 1);
    assert.throws(
      () => new FrameReader().push(huge),
      (e: unknown) => hasCode(e, 'PEER_FRAME_TOO_LARGE'),
    );
  });
});
