/**
 * Conformance: the real ETSI 014 client against the real simulated KMEs over mutual TLS,
 * rule by rule, including every error path; then the admin API (eavesdropper, cut, metrics)
 * and persistence across a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasCode } from '@qledger/core';
import type { RunningNetwork } from '@qledger/kme';
import { createCertificateAuthority, issueCertificate } from '../src/index.js';
import { ADMIN_TOKEN, clientFor, makePki, startSquare, type TestPki } from './helpers/qkd.js';

const SAES = ['v1', 'v2', 'v3', 'v3b', 'v4'];
const KMES = ['kme-a', 'kme-b', 'kme-c', 'kme-d'];

interface Raw {
  status: number;
  body: string;
  type: string;
}

function raw(
  url: string,
  opts: {
    ca?: string;
    cert?: string;
    key?: string;
    method?: string;
    body?: string;
    headers?: Record<string, string>;
  },
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        agent: false,
        headers: {
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            type: String(res.headers['content-type'] ?? ''),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const rejects = async (p: Promise<unknown>, code: string, re?: RegExp) => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(
      hasCode(e, code),
      `expected ${code}, got ${(e as { code?: string }).code}: ${(e as Error).message}`,
    );
    if (re) assert.match((e as Error).message, re);
    return true;
  });
};

describe('ETSI GS QKD 014 conformance (real client, real KMEs, mutual TLS)', () => {
  let pki: TestPki;
  let net: RunningNetwork;
  const c = (sae: string) => clientFor(pki, net, sae);

  before(async () => {
    pki = await makePki(KMES, SAES);
    net = await startSquare(pki, { limits: { keyTtlSeconds: 3600, maxSaeIdCount: 1 } });
    await net.tick(2); // two simulated seconds of key on every link
  });
  after(async () => net.stop());

  test('Status carries every field, sizes in bits, and names the route', async () => {
    const s = await c('v1').status('v2');
    assert.equal(s.source_KME_ID, 'kme-a');
    assert.equal(s.target_KME_ID, 'kme-b');
    assert.equal(s.master_SAE_ID, 'v1');
    assert.equal(s.slave_SAE_ID, 'v2');
    assert.equal(s.key_size, 256);
    assert.equal(s.min_key_size, 64);
    assert.equal(s.max_key_size, 1024);
    assert.equal(s.max_key_per_request, 128);
    assert.equal(s.max_key_count, 100000);
    assert.equal(s.max_SAE_ID_count, 1);
    assert.ok((s.stored_key_count ?? 0) > 100, `stored ${s.stored_key_count}`);
    const relayed = await c('v1').status('v3');
    assert.equal(relayed.target_KME_ID, 'kme-c');
    assert.equal((relayed.status_extension as { qledger_route: string[] }).qledger_route.length, 3);
  });

  test('enc_keys then dec_keys give both SAEs the same keys, once', async () => {
    const before = (await c('v1').status('v2')).stored_key_count!;
    const keys = await c('v1').encKeys('v2', { number: 5, size: 256 });
    assert.equal(keys.length, 5);
    assert.equal(new Set(keys.map((k) => Buffer.from(k.key).toString('hex'))).size, 5);
    for (const k of keys) assert.equal(k.key.length, 32);
    assert.equal((await c('v1').status('v2')).stored_key_count, before - 5, 'keys leave the pool');
    const got = await c('v2').decKeys(
      'v1',
      keys.map((k) => k.keyId),
      { size: 256 },
    );
    for (const k of keys) assert.deepEqual(got.find((g) => g.keyId === k.keyId)!.key, k.key);
    await rejects(c('v2').decKeys('v1', [keys[0]!.keyId]), 'KME_KEY_NOT_FOUND', /not found on KME/);
  });

  test('GET forms: enc_keys?number=&size= and dec_keys?key_ID=', async () => {
    const [k] = await c('v4').encKeys('v1', { number: 1, size: 128, get: true });
    assert.equal(k!.key.length, 16);
    const [g] = await c('v1').decKeys('v4', [k!.keyId], { get: true });
    assert.deepEqual(g!.key, k!.key);
  });

  test('default size is key_size; sizes are honoured per request', async () => {
    const [k] = await c('v2').encKeys('v1');
    assert.equal(k!.key.length, 32);
    const [big] = await c('v2').encKeys('v1', { size: 1024 });
    assert.equal(big!.key.length, 128);
  });

  test('trusted-node relay: a → b → c serves a pair with no direct link, consuming key on both hops', async () => {
    const view = async () => (await (await fetchAdmin(net, pki.ca, '/admin/v1/network')).json()) as AdminNet;
    const used = (n: AdminNet, link: string) =>
      n.kmes.find((k) => k.id === 'kme-b')!.links.find((l) => l.id === link)!.usedBits;
    const before = await view();
    const keys = await c('v1').encKeys('v3', { number: 4, size: 256 });
    const got = await c('v3').decKeys(
      'v1',
      keys.map((k) => k.keyId),
    );
    for (const k of keys) assert.deepEqual(got.find((g) => g.keyId === k.keyId)!.key, k.key);
    const after = await view();
    assert.equal(used(after, 'a-b') - used(before, 'a-b'), 4 * 256);
    assert.equal(used(after, 'b-c') - used(before, 'b-c'), 4 * 256);
    assert.ok(
      after.kmes.find((k) => k.id === 'kme-b')!.counters.relaysForwarded >
        before.kmes.find((k) => k.id === 'kme-b')!.counters.relaysForwarded,
    );
  });

  test('all six pairs of the square get keys, in both directions', async () => {
    const ends = ['v1', 'v2', 'v3', 'v4'];
    for (const m of ends)
      for (const s of ends) {
        if (m === s) continue;
        const [k] = await c(m).encKeys(s, { size: 128 });
        const [g] = await c(s).decKeys(m, [k!.keyId]);
        assert.deepEqual(g!.key, k!.key, `${m} → ${s}`);
      }
  });

  test('multicast: additional slaves each get the key once; others get 401', async () => {
    const [k] = await c('v1').encKeys('v3', { additionalSlaves: ['v3b'] });
    const [a] = await c('v3').decKeys('v1', [k!.keyId]);
    const [b] = await c('v3b').decKeys('v1', [k!.keyId]);
    assert.deepEqual(a!.key, k!.key);
    assert.deepEqual(b!.key, k!.key);
    await rejects(c('v3b').decKeys('v1', [k!.keyId]), 'KME_KEY_NOT_FOUND');
    const [only] = await c('v1').encKeys('v3');
    await rejects(c('v3b').decKeys('v1', [only!.keyId]), 'KME_UNAUTHORIZED');
    // all-or-nothing: one unauthorised key refuses the whole request and takes nothing
    const [mine] = await c('v1').encKeys('v3b');
    await rejects(c('v3b').decKeys('v1', [mine!.keyId, only!.keyId]), 'KME_UNAUTHORIZED');
    assert.equal((await c('v3b').decKeys('v1', [mine!.keyId])).length, 1);
    await rejects(
      c('v1').encKeys('v3', { additionalSlaves: ['v3b', 'v2'] }),
      'KME_BAD_REQUEST',
      /max_SAE_ID_count/,
    );
    await rejects(
      c('v1').encKeys('v2', { additionalSlaves: ['v3'] }),
      'KME_BAD_REQUEST',
      /not attached to kme-b/,
    );
  });

  test('dec_keys: wrong master, unknown key and malformed IDs are refused and take nothing', async () => {
    const [k] = await c('v1').encKeys('v2');
    await rejects(c('v2').decKeys('v4', [k!.keyId]), 'KME_KEY_NOT_FOUND');
    await rejects(
      c('v2').decKeys('v1', [k!.keyId, '00000000-0000-4000-8000-000000000000']),
      'KME_KEY_NOT_FOUND',
    );
    assert.equal((await c('v2').decKeys('v1', [k!.keyId])).length, 1, 'the refused requests took nothing');
  });

  test('400s carry the standard messages and name the field', async () => {
    await rejects(c('v1').encKeys('v2', { size: 2048 }), 'KME_BAD_REQUEST', /size 2048 is outside/);
    await rejects(c('v1').encKeys('v2', { number: 129 }), 'KME_BAD_REQUEST', /max_key_per_request/);
    await rejects(c('v1').encKeys('nobody'), 'KME_BAD_REQUEST', /not an SAE of this QKD network/);
    const url = `${net.sites['kme-a']!.etsi}/api/v1/keys/v2`;
    const auth = { ca: pki.ca, ...pki.sae.v1! };
    const post = (path: string, body: string) => raw(`${url}/${path}`, { ...auth, method: 'POST', body });
    const expect400 = async (r: Promise<Raw>, message: RegExp) => {
      const res = await r;
      assert.equal(res.status, 400, res.body);
      const b = JSON.parse(res.body) as { message: string; details?: unknown[] };
      assert.match(b.message, message);
      return b;
    };
    await expect400(post('enc_keys', '{"size": 100}'), /^size shall be a multiple of 8$/);
    const ext = await expect400(
      post('enc_keys', '{"extension_mandatory": [{"abc_route_type": "direct"}]}'),
      /^not all extension_mandatory parameters are supported$/,
    );
    assert.deepEqual(ext.details, [{ abc_route_type: 'not supported' }]);
    await expect400(post('enc_keys', '{"numbr": 1}'), /unknown field "numbr"/);
    await expect400(post('enc_keys', '{"number": "2"}'), /number must be an integer/);
    await expect400(post('enc_keys', '{not json'), /bad request/);
    await expect400(raw(`${url}/enc_keys?number=two`, auth), /number must be a decimal integer/);
    await expect400(
      raw(`${url}/enc_keys?number=1&additional_slave_SAE_IDs=v3`, auth),
      /unknown query parameter/,
    );
    await expect400(
      post('dec_keys', '{"key_IDs": [{"key_ID": "x"}]}'),
      /key_IDs\[0\]\.key_ID must be a UUID/,
    );
    await expect400(post('dec_keys', '{"key_IDs": []}'), /at least one key/);
    await expect400(raw(`${url}/dec_keys`, auth), /key_ID query parameter is required/);
    // extension_optional is accepted and ignored
    const ok = await post('enc_keys', '{"extension_optional": [{"x": 1}]}');
    assert.equal(ok.status, 200);
  });

  test('401 with no body: no certificate, a foreign CA, an SAE of another KME', async () => {
    const url = `${net.sites['kme-a']!.etsi}/api/v1/keys/v2/status`;
    const none = await raw(url, { ca: pki.ca });
    assert.equal(none.status, 401);
    assert.equal(none.body, '');
    const other = await createCertificateAuthority('someone else', 1);
    const forged = await issueCertificate(other, { commonName: 'v1', usage: 'client', days: 1 });
    const f = await raw(url, { ca: pki.ca, cert: forged.certPem, key: forged.keyPem });
    assert.equal(f.status, 401);
    assert.equal(f.body, '');
    const wrongSite = await raw(url, { ca: pki.ca, ...pki.sae.v2! });
    assert.equal(wrongSite.status, 401);
    await rejects(
      clientFor(pki, net, 'v2', { url: net.sites['kme-a']!.etsi, kmeName: 'kme-a' }).status('v1'),
      'KME_UNAUTHORIZED',
    );
  });

  test('the client checks the KME identity against its certificate', async () => {
    await rejects(clientFor(pki, net, 'v1', { kmeName: 'kme-b' }).status('v2'), 'KME_TLS');
    const other = await createCertificateAuthority('not the KME CA', 1);
    await rejects(clientFor(pki, net, 'v1', { ca: other.certPem }).status('v2'), 'KME_TLS');
  });

  test('an empty pool answers 503 and the client reports KME_KEYS_EXHAUSTED after retrying', async () => {
    const s = await c('v4').status('v3');
    const n = s.stored_key_count!;
    // drain c-d from d's side
    for (let left = n; left > 0; left -= Math.min(left, 128))
      await c('v4').encKeys('v3', { number: Math.min(left, 128) });
    assert.equal((await c('v4').status('v3')).stored_key_count, 0);
    const r = await raw(`${net.sites['kme-d']!.etsi}/api/v1/keys/v3/enc_keys`, {
      ca: pki.ca,
      ...pki.sae.v4!,
    });
    assert.equal(r.status, 503);
    assert.match((JSON.parse(r.body) as { message: string }).message, /not enough key material/);
    await rejects(c('v4').encKeys('v3'), 'KME_KEYS_EXHAUSTED');
    await net.tick(1);
    assert.equal((await c('v4').encKeys('v3')).length, 1, 'production refills the pool');
  });

  test('admin API: token required, eavesdropper raises QBER and stops production, cut and restore, metrics', async () => {
    assert.equal((await fetchAdmin(net, pki.ca, '/admin/v1/network', { token: null })).status, 401);
    assert.equal(
      (await fetchAdmin(net, pki.ca, '/admin/v1/network', { token: 'wrong-token-wrong-token' })).status,
      401,
    );
    const link = async (id: string) =>
      ((await (await fetchAdmin(net, pki.ca, '/admin/v1/network')).json()) as AdminNet).kmes
        .find((k) => k.id === 'kme-a')!
        .links.find((l) => l.id === id)!;
    const clean = await link('a-b');
    assert.equal(clean.alarm, false);
    const set = async (body: unknown) =>
      fetchAdmin(net, pki.ca, '/admin/v1/links/a-b', { method: 'POST', body });
    assert.equal((await set({ eavesdrop: 2 })).status, 400);
    assert.equal((await set({ eve: 1 })).status, 400);
    assert.equal(
      (await fetchAdmin(net, pki.ca, '/admin/v1/links/zz', { method: 'POST', body: { cut: true } })).status,
      404,
    );
    const attacked = (await (await set({ eavesdrop: 1 })).json()) as AdminLink;
    assert.equal(attacked.alarm, true);
    assert.ok(Math.abs(attacked.qber - clean.qber - 0.25) < 0.03, `QBER ${clean.qber} → ${attacked.qber}`);
    assert.equal(attacked.skrBps, 0);
    // Validators learn of the alarm through Status (qledger extension).
    const ext = (await c('v1').status('v2')).status_extension as {
      qledger_alarm: boolean;
      qledger_qber: number;
    };
    assert.equal(ext.qledger_alarm, true);
    assert.ok(Math.abs(ext.qledger_qber - attacked.qber) < 1e-9);
    const pool = (await link('a-b')).poolBits['kme-a']!;
    await net.tick(1);
    assert.equal((await link('a-b')).poolBits['kme-a'], pool, 'no key while the alarm is up');
    const metrics = await (await fetchAdmin(net, pki.ca, '/metrics', { token: null })).text();
    assert.match(metrics, /qkd_link_alarm\{kme="kme-a",link="a-b"\} 1/);
    assert.match(metrics, /qkd_pool_bits\{kme="kme-b",link="a-b",dir="kme-a"\} \d+/);
    // the other end learned of the attack too
    const b = ((await (await fetchAdmin(net, pki.ca, '/admin/v1/network')).json()) as AdminNet).kmes.find(
      (k) => k.id === 'kme-b',
    )!;
    assert.equal(b.links.find((l) => l.id === 'a-b')!.alarm, true);
    await set({ eavesdrop: 0, cut: true });
    await net.tick(1);
    assert.equal((await link('a-b')).poolBits['kme-a'], pool, 'no key while cut');
    const restored = (await (await set({ cut: false })).json()) as AdminLink;
    assert.equal(restored.cut, false);
    assert.equal(restored.alarm, false);
    assert.equal(
      ((await c('v1').status('v2')).status_extension as { qledger_alarm: boolean }).qledger_alarm,
      false,
    );
    await net.tick(1);
    assert.ok((await link('a-b')).poolBits['kme-a']! > pool, 'production resumes');
    // the admin API is not on the ETSI port
    assert.equal(
      (
        await raw(`${net.sites['kme-a']!.etsi}/admin/v1/network`, {
          ca: pki.ca,
          ...pki.sae.v1!,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).status,
      404,
    );
  });
});

describe('persistence', () => {
  test('pools and waiting keys survive a restart; a delivered key is never delivered again', async () => {
    const pki = await makePki(KMES, SAES);
    const data = mkdtempSync(join(tmpdir(), 'qledger-kme-data-'));
    let net = await startSquare(pki, {}, data);
    await net.tick(1);
    const [k1, k2] = await clientFor(pki, net, 'v1').encKeys('v2', { number: 2 });
    await clientFor(pki, net, 'v2').decKeys('v1', [k1!.keyId]);
    const stored = (await clientFor(pki, net, 'v1').status('v2')).stored_key_count;
    await net.stop();
    net = await startSquare(pki, {}, data);
    try {
      assert.equal((await clientFor(pki, net, 'v1').status('v2')).stored_key_count, stored);
      await rejects(clientFor(pki, net, 'v2').decKeys('v1', [k1!.keyId]), 'KME_KEY_NOT_FOUND');
      const [g] = await clientFor(pki, net, 'v2').decKeys('v1', [k2!.keyId]);
      assert.deepEqual(g!.key, k2!.key);
      const [k3] = await clientFor(pki, net, 'v1').encKeys('v2');
      assert.notDeepEqual(k3!.key, k1!.key);
      assert.notDeepEqual(k3!.key, k2!.key);
    } finally {
      await net.stop();
    }
  });

  test('keys not claimed within their time to live are erased', async () => {
    const pki = await makePki(KMES, SAES);
    const net = await startSquare(pki, { limits: { keyTtlSeconds: 1 } });
    try {
      await net.tick(1);
      const [k] = await clientFor(pki, net, 'v1').encKeys('v2');
      await new Promise((r) => setTimeout(r, 1100));
      await net.tick(0);
      await rejects(clientFor(pki, net, 'v2').decKeys('v1', [k!.keyId]), 'KME_KEY_NOT_FOUND');
      const metrics = await (await fetchAdmin(net, pki.ca, '/metrics', { token: null })).text();
      assert.match(metrics, /qkd_keys_expired_total\{kme="kme-b"\} 1/);
    } finally {
      await net.stop();
    }
  });
});

interface AdminLink {
  id: string;
  alarm: boolean;
  cut: boolean;
  qber: number;
  skrBps: number;
  usedBits: number;
  poolBits: Record<string, number>;
}
interface AdminNet {
  kmes: { id: string; counters: { relaysForwarded: number }; links: AdminLink[] }[];
}

async function fetchAdmin(
  net: RunningNetwork,
  ca: string,
  path: string,
  o: { token?: string | null; method?: string; body?: unknown } = {},
) {
  const token = o.token === undefined ? ADMIN_TOKEN : o.token;
  const r = await raw(`${net.admin}${path}`, {
    ca,
    method: o.method ?? 'GET',
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: r.status, json: async () => JSON.parse(r.body) as unknown, text: async () => r.body };
}
