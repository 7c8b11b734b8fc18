/**
 * `qledger node` and `qledger devnet` refuse bad flags and bad config files with exit code 2
 * (usage) or 1 (config) and one line naming what is wrong, before starting anything; one that
 * cannot listen exits too. Also the port allocation the devnet relies on.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ephemeralRange, freePorts } from '../src/http/ports.js';
import { startSolo } from './helpers/solo.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8',
  });

function fails(r: ReturnType<typeof run>, status: number, re: RegExp) {
  assert.equal(r.status, status, r.stderr);
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trim().split('\n')[0]!.startsWith('qledger: '), true, r.stderr);
}

test('qledger node: missing or bad config is refused with the field named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-cli-node-'));
  try {
    fails(run('node'), 2, /node needs --config FILE/);
    fails(run('node', '--config', 'a.json', '--bogus'), 2, /bogus/);
    fails(run('node', '--config', join(dir, 'missing.json')), 1, /CONFIG_INVALID: .*ENOENT/);
    const f = join(dir, 'node.json');
    writeFileSync(f, '{ not json');
    fails(run('node', '--config', f), 1, /CONFIG_INVALID: .*not JSON/);
    const base = {
      name: 'v1',
      genesis: 'g.json',
      key: 'v1.key',
      store: 'v1.sqlite',
      pki: 'pki',
      listen: { port: 7001 },
      api: { port: 8081 },
      peers: [],
    };
    writeFileSync(f, JSON.stringify({ ...base, keyBuffer: { lowBytes: 4096, highBytes: 1024 } }));
    fails(
      run('node', '--config', f),
      1,
      /CONFIG_INVALID: keyBuffer\.highBytes: highBytes must exceed lowBytes/,
    );
    writeFileSync(f, JSON.stringify({ ...base, kme: { url: 'http://kme.example' } }));
    fails(run('node', '--config', f), 1, /CONFIG_INVALID: kme\.url/);
    writeFileSync(f, JSON.stringify({ ...base, peers: [{ name: 'v1', port: 7002 }] }));
    fails(run('node', '--config', f), 1, /CONFIG_INVALID: peers: a validator does not list itself/);
    writeFileSync(f, JSON.stringify({ ...base, peers: [{ name: 'v2', port: 7002, relayed: 'yes' }] }));
    fails(run('node', '--config', f), 1, /CONFIG_INVALID: peers\[0\]\.relayed: .*boolean/);
    writeFileSync(f, JSON.stringify({ ...base, consensus: { thriftyVotes: 1 } }));
    fails(run('node', '--config', f), 1, /CONFIG_INVALID: consensus\.thriftyVotes: .*boolean/);
    writeFileSync(f, JSON.stringify({ ...base, extra: true }));
    fails(run('node', '--config', f), 1, /CONFIG_INVALID: .*extra/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qledger devnet: bad flags exit 2 with one line saying why', () => {
  fails(run('devnet', '--topology', 'ring'), 2, /--topology must be square or mesh/);
  fails(run('devnet', '--profile', 'nope'), 2, /--profile must be one of/);
  fails(run('devnet', '--km', '500'), 2, /--km must be a number in \[0, 400\]/);
  fails(run('devnet', '--port', 'x'), 2, /--port must be an integer/);
  fails(run('devnet', '--epoch-length', '3'), 2, /--epoch-length must be an integer in \[4, 1000000\]/);
  fails(run('devnet', 'extra'), 2, /unexpected argument/);
});

test('freePorts: distinct, below the ephemeral range (where outgoing connections take theirs), and free', async () => {
  const [lo] = ephemeralRange();
  const ports = await freePorts(16);
  assert.equal(new Set(ports).size, 16);
  for (const p of ports) assert.ok(p >= 10_000 && p < lo, `port ${p} is outside [10000, ${lo})`);
  // Each can be listened on at once.
  const servers = await Promise.all(
    ports.map(
      (port) =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(port, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

test('qledger node whose API port is taken exits 1 with one line naming it, instead of lingering on its links', async () => {
  const solo = await startSolo('qledger-cli-node-');
  try {
    const taken = Number(new URL(solo.base).port);
    const config = join(solo.dir, 'second.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'solo',
        genesis: join(solo.dir, 'genesis.json'),
        key: join(solo.dir, 'solo.key'),
        store: join(solo.dir, 'second.sqlite'),
        pki: join(solo.dir, 'pki'),
        listen: { port: 0 },
        api: { port: taken },
        peers: [],
        logLevel: 'silent',
      }),
    );
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = execFile(
        process.execPath,
        ['--conditions=source', '--import', 'tsx', MAIN, 'node', '--config', config],
        { timeout: 60_000 },
        (_e, _out, stderr) => resolve({ code: c.exitCode, stderr }),
      );
    });
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      new RegExp(`^qledger: api: cannot listen on 127\\.0\\.0\\.1:${taken}: .*EADDRINUSE`),
    );
  } finally {
    await solo.stop();
  }
});
