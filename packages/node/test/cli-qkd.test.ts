/**
 * `qledger kme` in separate processes: three KMEs on a line keep their key streams in step
 * over mutual TLS, relay across processes, and keep waiting keys through a SIGKILL.
 * `qledger qkd-net`: config errors name the field, usage errors exit 2.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Etsi014Client, freePorts } from '../src/index.js';
import { makePki } from './helpers/qkd.js';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const ARGS = ['--conditions=source', '--import', 'tsx', main];
const run = (...args: string[]) =>
  spawnSync(process.execPath, [...ARGS, ...args], {
    encoding: 'utf8',
    env: { ...process.env, QLEDGER_KME_ADMIN_TOKEN: 'cli-test-admin-token-0123' },
  });

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

function startKme(
  config: string,
  site: string,
  data: string,
): Promise<{ child: ChildProcess; etsi: string; peer: string }> {
  const child = spawn(
    process.execPath,
    [...ARGS, 'kme', '--config', config, '--site', site, '--data', data],
    {
      env: { ...process.env, QLEDGER_KME_ADMIN_TOKEN: 'cli-test-admin-token-0123' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => {
      const m = JSON.parse(l) as { event: string; sites?: Record<string, { etsi: string; peer: string }> };
      if (m.event === 'ready') resolve({ child, ...m.sites![site]! });
    });
    child.on('exit', (code) => reject(new Error(`kme ${site} exited ${code}: ${err}`)));
  });
}

test('three qledger kme processes: direct and relayed keys match across processes, and survive a SIGKILL', async () => {
  const pki = await makePki(['kme-a', 'kme-b', 'kme-c'], ['v1', 'v2', 'v3']);
  const dir = mkdtempSync(join(tmpdir(), 'qledger-kmes-'));
  const ports = await freePorts(9);
  const site = (id: string, sae: string, k: number) => ({
    id,
    saes: [sae],
    etsiPort: ports[3 * k]!,
    peerPort: ports[3 * k + 1]!,
    adminPort: ports[3 * k + 2]!,
  });
  const config = {
    pki: pki.dir,
    speed: 20,
    tickMs: 50,
    sites: [site('kme-a', 'v1', 0), site('kme-b', 'v2', 1), site('kme-c', 'v3', 2)],
    links: [
      { id: 'a-b', a: 'kme-a', b: 'kme-b', profile: 'qnu-armos', lengthKm: 10 },
      { id: 'b-c', a: 'kme-c', b: 'kme-b', profile: 'qnu-armos', lengthKm: 10 },
    ],
  };
  const file = join(dir, 'net.json');
  writeFileSync(file, JSON.stringify(config));
  const kmes: Record<string, { child: ChildProcess; etsi: string; peer: string }> = {};
  for (const s of ['kme-a', 'kme-b', 'kme-c']) kmes[s] = await startKme(file, s, join(dir, s));
  const client = (sae: string, s: string) =>
    new Etsi014Client({
      url: kmes[s]!.etsi,
      ca: pki.ca,
      cert: pki.sae[sae]!.cert,
      key: pki.sae[sae]!.key,
      kmeName: s,
      retries: 5,
      backoffMs: 50,
    });

  // Wait until key has flowed on both links (production pushes chunks over mTLS).
  for (let i = 0; i < 100; i++) {
    const [ab, ac] = await Promise.all([
      client('v1', 'kme-a').status('v2'),
      client('v1', 'kme-a').status('v3'),
    ]);
    if ((ab.stored_key_count ?? 0) >= 8 && (ac.stored_key_count ?? 0) >= 8) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const direct = await client('v1', 'kme-a').encKeys('v2', { number: 4 });
  const got = await client('v2', 'kme-b').decKeys(
    'v1',
    direct.map((k) => k.keyId),
  );
  for (const k of direct) assert.deepEqual(got.find((g) => g.keyId === k.keyId)!.key, k.key);

  const relayed = await client('v1', 'kme-a').encKeys('v3', { number: 4 });
  // The slave's KME is killed before the slave asks; its keys must survive the restart.
  kmes['kme-c']!.child.kill('SIGKILL');
  await new Promise((r) => kmes['kme-c']!.child.once('exit', r));
  kmes['kme-c'] = await startKme(file, 'kme-c', join(dir, 'kme-c'));
  const back = await client('v3', 'kme-c').decKeys(
    'v1',
    relayed.map((k) => k.keyId),
  );
  for (const k of relayed) assert.deepEqual(back.find((g) => g.keyId === k.keyId)!.key, k.key);
  await assert.rejects(client('v3', 'kme-c').decKeys('v1', [relayed[0]!.keyId]), /not found/);
  // and the reverse direction, produced by kme-c after its restart
  const rev = await client('v3', 'kme-c').encKeys('v1', { number: 2 });
  const revGot = await client('v1', 'kme-a').decKeys(
    'v3',
    rev.map((k) => k.keyId),
  );
  for (const k of rev) assert.deepEqual(revGot.find((g) => g.keyId === k.keyId)!.key, k.key);

  // The peer port answers only neighbouring KMEs, and only well-formed messages.
  const peer = (to: string, from: { cert: string; key: string }, body: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${kmes[to]!.peer}/peer/v1/message`,
        {
          method: 'POST',
          ca: pki.ca,
          ...from,
          agent: false,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let b = '';
          res.on('data', (c: Buffer) => {
            b += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const probe = JSON.stringify({ type: 'probe', path: ['kme-b', 'kme-c'], hop: 1 });
  assert.equal(
    (await peer('kme-c', pki.kme['kme-a']!, probe)).status,
    401,
    'kme-a is not a neighbour of kme-c',
  );
  assert.equal((await peer('kme-c', pki.sae.v3!, probe)).status, 401, 'an SAE certificate is not a KME');
  const bad = await peer('kme-c', pki.kme['kme-b']!, JSON.stringify({ type: 'probe', path: 'kme-c' }));
  assert.equal(bad.status, 400);
  assert.equal((JSON.parse(bad.body) as { code: string }).code, 'BAD_MESSAGE');
  const ok = await peer('kme-c', pki.kme['kme-b']!, probe);
  assert.equal(ok.status, 200);
  assert.equal((JSON.parse(ok.body) as { ok: boolean }).ok, true);
});

test('qkd-net and kme: usage errors exit 2, config errors exit 1 naming the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-qkdcfg-'));
  const r1 = run('qkd-net');
  assert.equal(r1.status, 2);
  assert.match(r1.stderr, /qkd-net needs --config FILE/);
  const r2 = run('kme', '--config', 'x.json');
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /kme needs --site ID/);
  const bad = join(dir, 'bad.json');
  writeFileSync(
    bad,
    JSON.stringify({
      sites: [{ id: 'a' }, { id: 'b' }],
      links: [{ id: 'l', a: 'a', b: 'b', profile: 'nope', lengthKm: 10 }],
    }),
  );
  const r3 = run('qkd-net', '--config', bad, '--memory');
  assert.equal(r3.status, 1);
  assert.match(r3.stderr, /links\[0\]\.profile: must be one of/);
  writeFileSync(
    bad,
    JSON.stringify({
      sites: [{ id: 'a' }, { id: 'b' }],
      links: [{ id: 'l', a: 'a', b: 'c', profile: 'lab-fast', lengthKm: 10 }],
    }),
  );
  const r4 = run('qkd-net', '--config', bad, '--memory');
  assert.equal(r4.status, 1);
  assert.match(r4.stderr, /links\[0\]\.b: unknown site c/);
  const r5 = run('qkd-net', '--config', join(dir, 'missing.json'));
  assert.equal(r5.status, 1);
  assert.match(r5.stderr, /ENOENT/);
  writeFileSync(
    bad,
    JSON.stringify({
      pki: join(dir, 'nopki'),
      sites: [{ id: 'a' }, { id: 'b' }],
      links: [{ id: 'l', a: 'a', b: 'b', profile: 'lab-fast', lengthKm: 10 }],
    }),
  );
  const r6 = run('qkd-net', '--config', bad, '--memory');
  assert.equal(r6.status, 1);
  assert.match(r6.stderr, /qledger pki init/);
  assert.equal(run('kme', '--config', bad, '--site', 'zz', '--memory').status, 2);
  assert.equal(run('qkd-net', '--config', bad, '--speed', '-1').status, 2);
  assert.equal(run('qkd-net', '--config', bad, '--bogus').status, 2);
});
