/**
 * Bench knobs from the environment: a bad value is refused in one line naming the variable,
 * with exit code 2, before any suite starts work.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BenchConfigError, envInt } from '../src/format.js';

const NAME = 'QLEDGER_TEST_BENCH_KNOB';

test('envInt: the fallback when unset or empty, the integer when in range, else BenchConfigError', () => {
  const at = (raw: string | undefined) => {
    if (raw === undefined) delete process.env[NAME];
    else process.env[NAME] = raw;
    try {
      return envInt(NAME, 15, 1, 3600);
    } finally {
      delete process.env[NAME];
    }
  };
  assert.equal(at(undefined), 15);
  assert.equal(at(''), 15);
  assert.equal(at('1'), 1);
  assert.equal(at('3600'), 3600);
  for (const bad of ['abc', '1.5', '0', '3601', '-4', '1e9', ' ', 'NaN'])
    assert.throws(
      () => at(bad),
      (e: Error) =>
        e instanceof BenchConfigError &&
        e.message === `${NAME} must be an integer from 1 to 3600, got ${JSON.stringify(bad)}`,
      bad,
    );
});

test('npm run bench with a bad knob or an unknown suite: exit 2 and one line saying why', () => {
  const run = fileURLToPath(new URL('../src/run.ts', import.meta.url));
  const bench = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', run, ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  // Each is refused before any devnet or KME starts: no figures. (A warm-up of 0 is allowed.)
  for (const [suite, name, value, range] of [
    ['consensus', 'QLEDGER_BENCH_SECONDS', 'ten', '1 to 3600'],
    ['consensus', 'QLEDGER_BENCH_LOW_SECONDS', '0', '1 to 3600'],
    ['consensus', 'QLEDGER_BENCH_WARMUP_SECONDS', '2.5', '0 to 3600'],
    ['kme', 'QLEDGER_BENCH_KME_CONCURRENCY', '0', '1 to 1024'],
  ] as const) {
    const bad = bench([suite], { [name]: value });
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stdout, '', `${name}: no figures`);
    assert.equal(
      bad.stderr.trim(),
      `bench: ${name} must be an integer from ${range}, got ${JSON.stringify(value)}`,
    );
  }
  // The devnet's A/B variables, checked as the consensus suite loads.
  for (const [env, line] of [
    [{ QLEDGER_AB_ARGS: '--x', QLEDGER_AB_PARITY: '7' }, 'bench: QLEDGER_AB_PARITY must be 0 or 1, got "7"'],
    [
      { QLEDGER_AB_MAIN: '/nonexistent/main.ts' },
      'bench: QLEDGER_AB_MAIN: no such file: /nonexistent/main.ts',
    ],
  ] as const) {
    const bad = bench(['consensus'], env);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stdout, '');
    assert.equal(bad.stderr.trim(), line);
  }
  const unknown = bench(['nonesuch']);
  assert.equal(unknown.status, 2);
  assert.match(
    unknown.stderr.trim(),
    /^usage: npm run bench -- <consensus\|consensus-sweep\|crypto\|kme\|ledger\|pipeline\|qrng>$/,
  );
});
