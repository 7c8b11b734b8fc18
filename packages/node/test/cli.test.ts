import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', main, ...args], {
    encoding: 'utf8',
  });

test('qledger selftest --json reports every algorithm and the MAC as passing', () => {
  const r = run('selftest', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; results: { check: string; ok: boolean }[] };
  assert.equal(out.ok, true);
  assert.equal(out.results.length, 9 + 4 + 1);
  assert.ok(out.results.every((x) => x.ok));
});

test('qledger: unknown commands and options exit 2 with one line saying why', () => {
  const a = run('bogus');
  assert.equal(a.status, 2);
  assert.match(a.stderr.split('\n')[0]!, /unknown command "bogus"/);
  const b = run('selftest', '--frobnicate');
  assert.equal(b.status, 2);
  assert.match(b.stderr.split('\n')[0]!, /unknown option --frobnicate/);
});
