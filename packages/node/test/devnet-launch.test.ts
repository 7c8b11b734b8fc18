import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { coLocatedFlags, launchPlan } from '../src/cli/devnet-launch.js';
import { CliError } from '../src/cli/errors.js';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const other = fileURLToPath(import.meta.url); // any file that exists

test('devnet launch: every validator runs this checkout with QLEDGER_NODE_ARGS unless an A/B variable is set', () => {
  const plan = launchPlan({ QLEDGER_NODE_ARGS: ' --perf-basic-prof  --max-semi-space-size=32 ' }, main);
  for (const i of [0, 1, 2, 3])
    assert.deepEqual(plan(i), {
      flags: ['--perf-basic-prof', '--max-semi-space-size=32'],
      script: main,
      b: false,
    });
  assert.deepEqual(launchPlan({}, main)(1), { flags: [], script: main, b: false });
  // An empty QLEDGER_AB_MAIN is no A/B run.
  assert.deepEqual(launchPlan({ QLEDGER_AB_MAIN: '' }, main)(1), { flags: [], script: main, b: false });
});

test('devnet launch: the B half (2nd and 4th, or 1st and 3rd with parity 0) runs the other script and flags', () => {
  const env = { QLEDGER_NODE_ARGS: '--a', QLEDGER_AB_MAIN: other, QLEDGER_AB_ARGS: '--b1 --b2' };
  const odd = launchPlan(env, main);
  assert.deepEqual([0, 1, 2, 3].map(odd), [
    { flags: ['--a'], script: main, b: false },
    { flags: ['--b1', '--b2'], script: other, b: true },
    { flags: ['--a'], script: main, b: false },
    { flags: ['--b1', '--b2'], script: other, b: true },
  ]);
  const even = launchPlan({ ...env, QLEDGER_AB_PARITY: '0' }, main);
  assert.deepEqual(
    [0, 1].map((i) => even(i).script),
    [other, main],
  );
  // Flags only: the B half runs this checkout with its own flags (none, here).
  const flagsOnly = launchPlan({ QLEDGER_NODE_ARGS: '--a', QLEDGER_AB_ARGS: '' }, main);
  assert.deepEqual(flagsOnly(1), { flags: [], script: main, b: true });
  // Script only: the B half keeps QLEDGER_NODE_ARGS.
  assert.deepEqual(launchPlan({ QLEDGER_NODE_ARGS: '--a', QLEDGER_AB_MAIN: other }, main)(3), {
    flags: ['--a'],
    script: other,
    b: true,
  });
});

test('devnet launch: a missing QLEDGER_AB_MAIN or a parity other than 0 or 1 is refused, naming the variable', () => {
  assert.throws(
    () => launchPlan({ QLEDGER_AB_MAIN: '/nonexistent/main.ts' }, main),
    (e: unknown) => e instanceof CliError && /^QLEDGER_AB_MAIN: no such file/.test(e.message),
  );
  for (const p of ['2', '', 'odd', '1 '])
    assert.throws(
      () => launchPlan({ QLEDGER_AB_ARGS: '--x', QLEDGER_AB_PARITY: p }, main),
      (e: unknown) => e instanceof CliError && /^QLEDGER_AB_PARITY must be 0 or 1/.test(e.message),
    );
});

test('qledger devnet: a bad A/B variable exits 1 with one line, before it creates anything', () => {
  const root = mkdtempSync(join(tmpdir(), 'qledger-ab-'));
  try {
    const dir = join(root, 'net');
    const r = spawnSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', main, 'devnet', '--dir', dir],
      { encoding: 'utf8', env: { ...process.env, QLEDGER_AB_MAIN: join(root, 'missing.ts') } },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /QLEDGER_AB_MAIN: no such file/);
    assert.equal(existsSync(dir), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('devnet launch: validators at least as many as the cores run with single-threaded GC, fewer keep the default', () => {
  assert.deepEqual(coLocatedFlags(4, 2), ['--single-threaded-gc']);
  assert.deepEqual(coLocatedFlags(4, 4), ['--single-threaded-gc']);
  assert.deepEqual(coLocatedFlags(1, 1), ['--single-threaded-gc']);
  assert.deepEqual(coLocatedFlags(4, 8), []);
  assert.deepEqual(coLocatedFlags(1, 2), []);
});
