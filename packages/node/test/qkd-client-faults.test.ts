/**
 * The ETSI 014 client against answers our KME never gives but real KMEs and proxies do:
 * a scripted HTTPS server (mutual TLS, the test CA) plays each one.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { hasCode } from '@qledger/core';
import { Etsi014Client } from '../src/index.js';
import { makePki, type TestPki } from './helpers/qkd.js';

type Answer = { status: number; type?: string; body?: string };
let script: Answer[] = [];
let seen: { method: string; url: string; body: string }[] = [];
let pki: TestPki;
let server: Server;
let url: string;

const json = (status: number, body: unknown): Answer => ({
  status,
  type: 'application/json',
  body: JSON.stringify(body),
});
const KEY_ID = '5c0f1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const key32 = Buffer.alloc(32, 7).toString('base64');

before(async () => {
  pki = await makePki(['kme-x'], ['sae-1']);
  server = createServer(
    {
      ca: pki.ca,
      cert: pki.kme['kme-x']!.cert,
      key: pki.kme['kme-x']!.key,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const a = script.shift() ?? json(500, { message: 'script exhausted' });
        res.writeHead(a.status, a.type ? { 'content-type': a.type } : {});
        res.end(a.body);
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/prefix/`;
});
after(() => server.close());

const client = () =>
  new Etsi014Client({
    url,
    ca: pki.ca,
    cert: pki.sae['sae-1']!.cert,
    key: pki.sae['sae-1']!.key,
    kmeName: 'kme-x',
    retries: 2,
    backoffMs: 1,
  });

async function expect(
  code: string,
  answers: Answer[],
  call: (c: Etsi014Client) => Promise<unknown>,
  leaks?: string,
) {
  script = answers;
  await assert.rejects(call(client()), (e: unknown) => {
    assert.ok(
      hasCode(e, code),
      `expected ${code}, got ${(e as { code?: string }).code}: ${(e as Error).message}`,
    );
    if (leaks) assert.ok(!(e as Error).message.includes(leaks), 'the error must not carry key material');
    return true;
  });
}

test('retries 503, 502 and HTML 504 pages with backoff, then succeeds', async () => {
  seen = [];
  script = [
    json(503, { message: 'busy' }),
    { status: 502, type: 'text/html', body: '<html><body>Bad Gateway</body></html>' },
    json(200, { keys: [{ key_ID: KEY_ID, key: key32 }] }),
  ];
  const keys = await client().encKeys('sae-2', { size: 256 });
  assert.equal(keys.length, 1);
  assert.equal(keys[0]!.key.length, 32);
  assert.equal(seen.length, 3);
  assert.equal(seen[0]!.url, '/prefix/api/v1/keys/sae-2/enc_keys');
  assert.deepEqual(JSON.parse(seen[0]!.body), { number: 1, size: 256 });
});

test('gives up after the retries with KME_UNAVAILABLE; does not retry 4xx', async () => {
  seen = [];
  await expect(
    'KME_UNAVAILABLE',
    [json(503, { message: 'a' }), json(503, { message: 'b' }), json(503, { message: 'c' })],
    (c) => c.status('sae-2'),
  );
  assert.equal(seen.length, 3);
  seen = [];
  await expect('KME_BAD_REQUEST', [json(400, { message: 'size shall be a multiple of 8' })], (c) =>
    c.encKeys('sae-2'),
  );
  assert.equal(seen.length, 1);
});

test('classifies 400 variants: pool empty (several wordings), key not found, bad request', async () => {
  for (const m of [
    'Keys are exhausted',
    'insufficient key material',
    'not enough keys',
    'No keys available',
    'key pool is empty',
  ])
    await expect('KME_KEYS_EXHAUSTED', [json(400, { message: m })], (c) => c.encKeys('sae-2'));
  await expect(
    'KME_KEY_NOT_FOUND',
    [json(400, { message: 'one or more keys specified are not found on KME' })],
    (c) => c.decKeys('sae-0', [KEY_ID]),
  );
  await expect('KME_KEY_NOT_FOUND', [json(400, { message: 'Key ID does not exist' })], (c) =>
    c.decKeys('sae-0', [KEY_ID]),
  );
  await expect('KME_BAD_REQUEST', [{ status: 400, type: 'text/html', body: '<h1>Bad Request</h1>' }], (c) =>
    c.encKeys('sae-2'),
  );
});

test('401 with no body, 403, 404, 409 and HTML pages are classified', async () => {
  await expect('KME_UNAUTHORIZED', [{ status: 401 }], (c) => c.status('sae-2'));
  await expect('KME_FORBIDDEN', [{ status: 403, type: 'text/html', body: '<html>Forbidden</html>' }], (c) =>
    c.status('sae-2'),
  );
  await expect('KME_ENDPOINT_NOT_FOUND', [json(404, { message: 'no route' })], (c) => c.status('sae-2'));
  await expect('KME_CONFLICT', [json(409, {})], (c) => c.status('sae-2'));
  await expect('KME_BAD_RESPONSE', [{ status: 200, type: 'text/html', body: '<html>login</html>' }], (c) =>
    c.status('sae-2'),
  );
  await expect('KME_BAD_RESPONSE', [{ status: 200, type: 'application/json', body: '{"keys": [' }], (c) =>
    c.encKeys('sae-2'),
  );
});

test('Status without the optional fields is accepted; without key_size it is not', async () => {
  script = [
    json(200, {
      source_KME_ID: 'kme-x',
      target_KME_ID: 'kme-y',
      key_size: 256,
      stored_key_count: 10,
      vendor_field: 1,
    }),
  ];
  const s = await client().status('sae-2');
  assert.equal(s.key_size, 256);
  assert.equal(s.max_SAE_ID_count, undefined);
  await expect('KME_BAD_RESPONSE', [json(200, { source_KME_ID: 'kme-x', target_KME_ID: 'kme-y' })], (c) =>
    c.status('sae-2'),
  );
});

test('keys: base64 checked, length checked against size, count and IDs checked, never in errors', async () => {
  const short = Buffer.alloc(16, 9).toString('base64');
  await expect(
    'KME_BAD_RESPONSE',
    [json(200, { keys: [{ key_ID: KEY_ID, key: short }] })],
    (c) => c.encKeys('sae-2', { size: 256 }),
    short,
  );
  await expect(
    'KME_BAD_RESPONSE',
    [json(200, { keys: [{ key_ID: KEY_ID, key: 'not*base64!' }] })],
    (c) => c.encKeys('sae-2'),
    'not*base64!',
  );
  await expect(
    'KME_BAD_RESPONSE',
    [json(200, { keys: [{ key_ID: 'not-a-uuid', key: key32 }] })],
    (c) => c.encKeys('sae-2'),
    key32,
  );
  await expect(
    'KME_BAD_RESPONSE',
    [json(200, { keys: [{ key_ID: KEY_ID, key: key32 }] })],
    (c) => c.encKeys('sae-2', { number: 2 }),
    key32,
  );
  const other = '6d1f2b3c-4d5e-4f60-9a7b-8c9d0e1f2a3b';
  await expect(
    'KME_BAD_RESPONSE',
    [json(200, { keys: [{ key_ID: other, key: key32 }] })],
    (c) => c.decKeys('sae-0', [KEY_ID]),
    key32,
  );
  // vendor extensions and uppercase UUIDs are fine
  script = [
    json(200, {
      keys: [{ key_ID: KEY_ID.toUpperCase(), key: key32, key_extension: { v: 1 } }],
      key_container_extension: {},
    }),
  ];
  const [k] = await client().decKeys('sae-0', [KEY_ID], { size: 256 });
  assert.equal(k!.keyId, KEY_ID);
});

test('GET forms and argument checks before any request', async () => {
  seen = [];
  script = [
    json(200, { keys: [{ key_ID: KEY_ID, key: key32 }] }),
    json(200, { keys: [{ key_ID: KEY_ID, key: key32 }] }),
  ];
  await client().encKeys('sae-2', { number: 1, size: 256, get: true });
  await client().decKeys('sae-0', [KEY_ID], { get: true });
  assert.deepEqual(
    seen.map((s) => `${s.method} ${s.url}`),
    [
      `GET /prefix/api/v1/keys/sae-2/enc_keys?number=1&size=256`,
      `GET /prefix/api/v1/keys/sae-0/dec_keys?key_ID=${KEY_ID}`,
    ],
  );
  seen = [];
  await expect('KME_BAD_REQUEST', [], (c) => c.encKeys('sae-2', { size: 12 }));
  await expect('KME_BAD_REQUEST', [], (c) => c.decKeys('sae-0', []));
  await expect('KME_BAD_REQUEST', [], (c) => c.decKeys('sae-0', ['x']));
  await expect('KME_BAD_REQUEST', [], (c) => c.encKeys('sae-2', { get: true, additionalSlaves: ['s'] }));
  assert.equal(seen.length, 0);
});

test('connection refused is retried, then KME_UNAVAILABLE', async () => {
  const dead = new Etsi014Client({
    url: 'https://127.0.0.1:1/',
    ca: pki.ca,
    cert: pki.sae['sae-1']!.cert,
    key: pki.sae['sae-1']!.key,
    retries: 1,
    backoffMs: 1,
  });
  await assert.rejects(dead.status('x'), (e: unknown) => hasCode(e, 'KME_UNAVAILABLE'));
});

test('dec_keys without a size (how a link receiver asks): any key size is taken; an empty key or other key_IDs are not', async () => {
  const OTHER = '6d1f2b3c-4d5e-4f60-9a1b-2c3d4e5f6a7b';
  const key128 = Buffer.alloc(128, 9).toString('base64');
  script = [json(200, { keys: [{ key_ID: KEY_ID, key: key128 }] })];
  const keys = await client().decKeys('sae-0', [KEY_ID]);
  assert.deepEqual(
    keys.map((k) => [k.keyId, k.key.length]),
    [[KEY_ID, 128]],
  );
  await expect('KME_BAD_RESPONSE', [json(200, { keys: [{ key_ID: KEY_ID, key: '' }] })], (c) =>
    c.decKeys('sae-0', [KEY_ID]),
  );
  await expect(
    'KME_BAD_RESPONSE',
    [json(200, { keys: [{ key_ID: OTHER, key: key32 }] })],
    (c) => c.decKeys('sae-0', [KEY_ID]),
    key32,
  );
});
