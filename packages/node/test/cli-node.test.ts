/**
 * `qledger node` and `qledger devnet` refuse bad flags and bad config files with exit code 2
 * (usage) or 1 (config) and one line naming what is wrong, before starting anything.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

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
  fails(run('devnet', 'extra'), 2, /unexpected argument/);
});
