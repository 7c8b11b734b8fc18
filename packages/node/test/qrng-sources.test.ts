import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hasCode, MonitoredSource, type QledgerError, seededStream } from '@qledger/core';
import { Registry } from 'prom-client';
import {
  AnuQrng,
  createCertificateAuthority,
  createEntropyMixer,
  DeviceQrng,
  issueCertificate,
  parseQrngConfig,
  QbckQrng,
  registerQrngMetrics,
} from '../src/index.js';

const API_KEY = 'k3y-Sup3rSecret-0000';
type Handler = (
  url: URL,
  headers: Record<string, string | string[] | undefined>,
) => { status?: number; body: string } | 'hang';
let handler: Handler;
const seen: { url: URL; apiKey: unknown }[] = [];
let server: Server;
let base: string;
let ca: string;
const rng = seededStream(new TextEncoder().encode('qrng-server'));

before(async () => {
  const authority = await createCertificateAuthority('qledger test CA');
  const leaf = await issueCertificate(authority, {
    commonName: 'localhost',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
    usage: 'server',
  });
  ca = authority.certPem;
  server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    seen.push({ url, apiKey: req.headers['x-api-key'] });
    const r = handler(url, req.headers);
    if (r === 'hang') return; // never answers
    res.writeHead(r.status ?? 200, { 'content-type': 'application/json' });
    res.end(r.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://localhost:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

/** A faithful ANU-style answer for the request's length and type. */
function anuAnswer(url: URL) {
  const length = Number(url.searchParams.get('length'));
  const type = url.searchParams.get('type');
  const size = Number(url.searchParams.get('size'));
  const data =
    type === 'uint8'
      ? [...rng.bytes(length)]
      : type === 'uint16'
        ? Array.from({ length }, () => {
            const b = rng.bytes(2);
            return b[0]! * 256 + b[1]!;
          })
        : Array.from({ length }, () => Buffer.from(rng.bytes(size)).toString('hex'));
  return { success: true, type, length, data };
}

const anu = (extra: Partial<ConstructorParameters<typeof AnuQrng>[0]> = {}) =>
  new AnuQrng({ name: 'anu', url: `${base}/API/`, apiKey: API_KEY, ca, timeoutMs: 2000, ...extra });

test('ANU client: uint8, uint16 (big-endian) and hex16 answers become exactly the served bytes', async () => {
  let last: { data: unknown[] } | undefined;
  handler = (url) => {
    const a = anuAnswer(url);
    last = a;
    return { body: JSON.stringify(a) };
  };
  const u8 = await anu().read(300);
  assert.deepEqual([...u8], last!.data);
  assert.equal(seen.at(-1)!.url.searchParams.get('length'), '300');
  assert.equal(seen.at(-1)!.apiKey, API_KEY); // the key travels in the x-api-key header
  const u16 = await anu({ format: 'uint16' }).read(7);
  const words = last!.data as number[];
  assert.equal(words.length, 4);
  assert.deepEqual([...u16], words.flatMap((w) => [w >> 8, w & 255]).slice(0, 7));
  const hex = await anu({ format: 'hex16', blockSize: 4 }).read(10);
  assert.equal(Buffer.from(hex).toString('hex'), (last!.data as string[]).join('').slice(0, 20));
  assert.equal(seen.at(-1)!.url.searchParams.get('size'), '4');
  // more than 1,024 elements: several requests, each within the service's limit
  const before = seen.length;
  assert.equal((await anu().read(2500)).length, 2500);
  assert.deepEqual(
    seen.slice(before).map((s) => s.url.searchParams.get('length')),
    ['1024', '1024', '452'],
  );
});

test('ANU client: every malformed answer is QRNG_BAD_RESPONSE naming the field, and no key leaks', async () => {
  const cases: [string, (u: URL) => unknown, RegExp][] = [
    ['not an object', () => [1, 2], /body must be an object/],
    [
      'failure',
      () => ({ success: false, message: 'quota exceeded' }),
      /service reported failure: quota exceeded/,
    ],
    ['wrong type', (u) => ({ ...anuAnswer(u), type: 'uint16' }), /type must be "uint8"/],
    ['wrong length', (u) => ({ ...anuAnswer(u), length: 3 }), /length must be 16/],
    [
      'short data',
      (u) => ({ ...anuAnswer(u), data: [1, 2, 3] }),
      /data must be an array of 16 elements, got 3/,
    ],
    [
      'out of range',
      (u) => ({ ...anuAnswer(u), data: [...Array(15).fill(1), 256] }),
      /data\[15\] must be an integer in \[0, 255\], got 256/,
    ],
    [
      'fraction',
      (u) => ({ ...anuAnswer(u), data: [0.5, ...Array(15).fill(1)] }),
      /data\[0\] must be an integer/,
    ],
    [
      'string',
      (u) => ({ ...anuAnswer(u), data: ['7', ...Array(15).fill(1)] }),
      /data\[0\] must be an integer in \[0, 255\], got "7"/,
    ],
  ];
  for (const [what, make, want] of cases) {
    handler = (u) => ({ body: JSON.stringify(make(u)) });
    await assert.rejects(
      anu().read(16),
      (e) =>
        hasCode(e, 'QRNG_BAD_RESPONSE') &&
        want.test((e as Error).message) &&
        !(e as Error).message.includes(API_KEY),
      what,
    );
  }
  handler = (u) => ({ body: JSON.stringify({ ...anuAnswer(u), data: ['zz'.repeat(4)] }), status: 200 });
  await assert.rejects(anu({ format: 'hex16', blockSize: 4 }).read(4), /data\[0\] must be 8 hex digits/);
});

test('Quantum Blockchains client: key in the path as the API requires, range-checked bytes, key never in errors', async () => {
  handler = (url) => {
    const size = Number(url.searchParams.get('size'));
    return { body: JSON.stringify({ data: { result: [...rng.bytes(size)] } }) };
  };
  const q = new QbckQrng({ name: 'qbck', url: `${base}/`, apiKey: API_KEY, ca, timeoutMs: 2000 });
  const out = await q.read(100);
  assert.equal(out.length, 100);
  const u = seen.at(-1)!.url;
  assert.equal(u.pathname, `/${API_KEY}/qbck/block/short`);
  assert.deepEqual(
    [u.searchParams.get('size'), u.searchParams.get('min'), u.searchParams.get('max')],
    ['100', '0', '255'],
  );
  handler = () => ({ body: JSON.stringify({ data: { result: [1, 2, -1] } }) });
  await assert.rejects(q.read(3), (e) =>
    /data.result\[2\] must be an integer in \[0, 255\]/.test((e as Error).message),
  );
  handler = () => ({ status: 403, body: '{"error":"bad key"}' });
  await assert.rejects(
    q.read(3),
    (e) => hasCode(e, 'HTTP_STATUS') && !(e as Error).message.includes(API_KEY),
  );
  assert.throws(() => new QbckQrng({ name: 'q', url: `${base}/` }), /needs an API key/);
});

test('transport failures are classified: TLS, timeout, status, size, non-JSON, plain http', async () => {
  handler = (u) => ({ body: JSON.stringify(anuAnswer(u)) });
  // no trust anchor for our dev CA → the certificate is refused
  await assert.rejects(anu({ ca: undefined }).read(8), (e) => hasCode(e, 'HTTP_TLS'));
  handler = () => 'hang';
  const t0 = performance.now();
  await assert.rejects(anu({ timeoutMs: 300 }).read(8), (e) => hasCode(e, 'HTTP_TIMEOUT'));
  assert.ok(performance.now() - t0 < 2000);
  handler = () => ({ status: 503, body: '{}' });
  await assert.rejects(
    anu().read(8),
    (e) => hasCode(e, 'HTTP_STATUS') && (e as QledgerError).details?.status === 503,
  );
  handler = () => ({ body: `[${'1,'.repeat(100_000)}1]` });
  await assert.rejects(anu().read(8), (e) => hasCode(e, 'HTTP_TOO_LARGE'));
  handler = () => ({ body: '<html>' });
  await assert.rejects(anu().read(8), (e) => hasCode(e, 'HTTP_BAD_JSON'));
  assert.throws(() => new AnuQrng({ name: 'a', url: 'http://localhost/' }), /url must be https/);
  await assert.rejects(
    new AnuQrng({ name: 'a', url: 'https://127.0.0.1:1/', ca, timeoutMs: 2000 }).read(1),
    (e) => hasCode(e, 'HTTP_CONNECT'),
  );
});

test('a remote QRNG that turns stuck is quarantined by the health tests; its bytes never reach the mix', async () => {
  handler = (u) => ({ body: JSON.stringify(anuAnswer(u)) });
  const cfg = parseQrngConfig({
    sources: [{ kind: 'anu', name: 'anu', url: `${base}/`, apiKeyEnv: 'ANU_KEY', caFile: '/ca.pem' }],
  });
  const mixer = createEntropyMixer(cfg, { env: { ANU_KEY: API_KEY }, readFile: () => ca });
  assert.equal((await mixer.draw(32)).source, 'anu');
  handler = (u) => ({
    body: JSON.stringify({ ...anuAnswer(u), data: Array(Number(u.searchParams.get('length'))).fill(0) }),
  });
  const d = await mixer.draw(2000);
  assert.equal(d.source, null); // served by the OS generator alone
  const st = mixer.stats();
  assert.equal(st.sources[0]!.state, 'quarantined');
  assert.equal(st.osOnlyDraws, 1);
});

test('device source: reads a file forward only, never rewinds, and reads a character device', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-dev-'));
  try {
    const data = seededStream(new Uint8Array([4])).bytes(3000);
    writeFileSync(join(dir, 'capture.bin'), data);
    const dev = new DeviceQrng({ name: 'file', path: join(dir, 'capture.bin'), minEntropy: 6 });
    assert.deepEqual(await dev.read(1000), data.subarray(0, 1000));
    assert.deepEqual(await dev.read(1000), data.subarray(1000, 2000));
    // the last 1,000 bytes are consumed by the failed read and discarded: never served, never reread
    await assert.rejects(
      dev.read(1001),
      (e) => hasCode(e, 'QRNG_SOURCE_IO') && /exhausted after 3000 bytes/.test((e as Error).message),
    );
    await assert.rejects(dev.read(1), /exhausted after 3000 bytes/);
    await dev.close();
    const urandom = new MonitoredSource(new DeviceQrng({ name: 'urandom', path: '/dev/urandom' }), {
      now: Date.now,
    });
    assert.equal((await urandom.read(5000)).length, 5000);
    assert.equal(urandom.state, 'healthy');
    await urandom.source.close?.();
    await assert.rejects(
      new DeviceQrng({ name: 'gone', path: join(dir, 'nope') }).read(1),
      (e) => hasCode(e, 'QRNG_SOURCE_IO') && /cannot open .* \(ENOENT\)/.test((e as Error).message),
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('config: defaults, and every bad field is CONFIG_INVALID naming its path', () => {
  const d = parseQrngConfig(undefined);
  assert.equal(d.requireQrng, false);
  assert.equal(d.alphaLog2, 20);
  assert.deepEqual(d.sources, [{ kind: 'simulated', name: 'simulated', qubits: 8 }]);
  const bad: [unknown, RegExp][] = [
    [
      { sources: [{ kind: 'anu', name: 'a', url: 'http://x.example/' }] },
      /^qrng\.sources\[0\]\.url: must be an https:\/\/ URL/,
    ],
    [{ sources: [{ kind: 'simulated', name: 'a', colour: 1 }] }, /^qrng\.sources\[0\]: .*colour/],
    [{ sources: [{ kind: 'laser', name: 'a' }] }, /^qrng\.sources\[0\]\.kind/],
    [
      {
        sources: [
          { kind: 'simulated', name: 'a' },
          { kind: 'simulated', name: 'a' },
        ],
      },
      /^qrng\.sources: source names must be unique/,
    ],
    [
      { sources: [{ kind: 'device', name: 'd', path: '/dev/x', sampleBits: 1, minEntropy: 2 }] },
      /^qrng\.sources\[0\]\.minEntropy: must be at most sampleBits/,
    ],
    [
      { sources: [{ kind: 'simulated', name: 's', qubits: 2, minEntropy: 3 }] },
      /^qrng\.sources\[0\]\.minEntropy: must be at most qubits/,
    ],
    [{ alphaLog2: 10 }, /^qrng\.alphaLog2/],
    [{ requireQrng: 'yes' }, /^qrng\.requireQrng/],
    [{ sources: [{ kind: 'qbck', name: 'q', url: 'https://q.example/' }] }, /^qrng\.sources\[0\]\.apiKeyEnv/],
    [
      { sources: [{ kind: 'simulated', name: 'Bad Name' }] },
      /^qrng\.sources\[0\]\.name: must be 1–32 characters/,
    ],
  ];
  for (const [input, want] of bad) {
    assert.throws(
      () => parseQrngConfig(input),
      (e) => hasCode(e, 'CONFIG_INVALID') && want.test((e as Error).message),
      JSON.stringify(input),
    );
  }
  const cfg = parseQrngConfig({
    sources: [{ kind: 'qbck', name: 'q', url: 'https://q.example/', apiKeyEnv: 'QBCK_KEY' }],
  });
  assert.throws(
    () => createEntropyMixer(cfg, { env: {} }),
    (e) => hasCode(e, 'CONFIG_INVALID') && /QBCK_KEY is not set/.test((e as Error).message),
  );
});

test('metrics: source state, health failures and draws are exported for Prometheus', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-dev-'));
  try {
    writeFileSync(join(dir, 'stuck.bin'), new Uint8Array(100_000).fill(9));
    const cfg = parseQrngConfig({
      sources: [
        { kind: 'device', name: 'stuck', path: join(dir, 'stuck.bin') },
        { kind: 'simulated', name: 'sim' },
      ],
    });
    const mixer = createEntropyMixer(cfg);
    const registry = new Registry();
    registerQrngMetrics(registry, mixer);
    await mixer.draw(64);
    await mixer.draw(64);
    const text = await registry.metrics();
    const value = (line: string) => {
      const l = text.split('\n').find((x) => x.startsWith(line));
      assert.ok(l, `missing ${line}`);
      return Number(l.split(' ').at(-1));
    };
    assert.equal(value('qledger_qrng_source_up{source="stuck",kind="device"}'), 0);
    assert.equal(value('qledger_qrng_source_up{source="sim",kind="simulated"}'), 1);
    assert.equal(value('qledger_qrng_source_state{source="stuck",state="quarantined"}'), 1);
    assert.equal(value('qledger_qrng_health_failures_total{source="stuck",test="rct"}'), 1);
    assert.equal(value('qledger_qrng_startup_failures_total{source="stuck"}'), 1);
    assert.equal(value('qledger_qrng_draws_total{mode="qrng"}'), 2);
    assert.equal(value('qledger_qrng_draws_total{mode="os_only"}'), 0);
    assert.ok(value('qledger_qrng_bytes_served_total{source="sim"}') >= 128);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
