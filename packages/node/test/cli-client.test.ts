/**
 * The client commands as real processes against a validator over a real socket: keys gen,
 * tx send (register, data, raw) with --wait, tx get, block get, status; --json output is
 * the API's own objects; failures are one line with exit 1, usage errors exit 2.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nobleBackend, nobleHashes, toHex } from '@qledger/core';
import { registerTx } from '../src/validator/devnet-driver.js';
import { type Solo, startSolo } from './helpers/solo.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', MAIN, ...args],
      { encoding: 'utf8', timeout: 90_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('qledger keys, tx, block, status', { timeout: 240_000 }, () => {
  let solo: Solo;
  before(async () => {
    solo = await startSolo('qledger-cli-client-');
  });
  after(async () => {
    await solo?.stop();
  });

  test('keys gen writes a 0600 key file, prints no secret, and never overwrites without --force', async () => {
    const f = join(solo.dir, 'alice.key');
    const r = await run('keys', 'gen', '--alg', 'ml-dsa-44', '--kem', 'ml-kem-768', '--out', f, '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { alg: string; kem: string; fingerprint: string };
    assert.deepEqual([out.alg, out.kem], ['ml-dsa-44', 'ml-kem-768']);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    const key = JSON.parse(readFileSync(f, 'utf8')) as { secretKey: string; publicKey: string };
    assert.ok(!r.stdout.includes(key.secretKey.slice(0, 32)), 'the secret key is never printed');
    assert.equal(out.fingerprint, toHex(nobleHashes.sha3_256(Buffer.from(key.publicKey, 'hex'))));
    const again = await run('keys', 'gen', '--alg', 'ml-dsa-44', '--out', f);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^qledger: .*exists; use --force/);
    assert.equal(JSON.parse(readFileSync(f, 'utf8')).secretKey, key.secretKey, 'the key is untouched');
    const bad = await run('keys', 'gen', '--alg', 'rsa-2048', '--out', join(solo.dir, 'x.key'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^qledger: --alg must be one of ml-dsa-44/);
  });

  test('tx send register and data --wait commit; tx get and block get show them; status reports the height', async () => {
    const f = join(solo.dir, 'alice.key');
    const api = ['--api', solo.base];
    const reg = await run(
      'tx',
      'send',
      'register',
      '--name',
      'alice',
      '--key',
      f,
      '--meta',
      'org=qlab',
      '--wait',
      '--json',
      ...api,
    );
    assert.equal(reg.code, 0, reg.stderr);
    const r1 = JSON.parse(reg.stdout) as { id: string; status: string; height: number };
    assert.equal(r1.status, 'committed');
    const data = await run(
      'tx',
      'send',
      'data',
      '--name',
      'alice',
      '--key',
      f,
      '--text',
      'hello',
      '--wait',
      '--json',
      ...api,
    );
    assert.equal(data.code, 0, data.stderr);
    const r2 = JSON.parse(data.stdout) as { id: string; status: string; height: number };
    assert.equal(r2.status, 'committed');
    assert.ok(r2.height > r1.height);

    const got = await run('tx', 'get', r2.id, ...api);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /^status\s+committed$/m);
    assert.match(got.stdout, /^kind\s+data$/m);
    const block = JSON.parse((await run('block', 'get', String(r2.height), '--json', ...api)).stdout) as {
      txs: { id: string; sender: string }[];
    };
    assert.deepEqual(block.txs, [{ id: r2.id, kind: 'data', sender: 'alice' }]);
    const latest = await run('block', 'get', 'latest', ...api);
    assert.match(latest.stdout, new RegExp(`^height\\s+${solo.v.height}$`, 'm'));
    const st = JSON.parse((await run('status', '--json', ...api)).stdout) as { height: number; name: string };
    assert.deepEqual([st.name, st.height], ['solo', solo.v.height]);
    const human = await run('status', ...api);
    assert.match(human.stdout, /^validator\s+solo \(chain devnet\)$/m);

    // A raw transaction made elsewhere.
    const { env } = registerTx('devnet', 'bob', nobleBackend, nobleHashes);
    const raw = join(solo.dir, 'bob.tx');
    writeFileSync(raw, toHex(env.bytes));
    const sent = await run('tx', 'send', 'raw', '--file', raw, '--wait', '--json', ...api);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((JSON.parse(sent.stdout) as { id: string }).id, toHex(env.id));
  });

  test('failures: one line, exit 1 with the API code; usage errors exit 2', async () => {
    const api = ['--api', solo.base];
    const height = solo.v.height;
    const replay = await run(
      'tx',
      'send',
      'data',
      '--name',
      'alice',
      '--key',
      join(solo.dir, 'alice.key'),
      '--text',
      'x',
      '--seq',
      '0',
      ...api,
    );
    assert.equal(replay.code, 1);
    assert.match(replay.stderr.trim(), /^qledger: TX_SEQ_REPLAY: /);
    assert.equal(replay.stderr.trim().split('\n').length, 1);
    const nf = await run('block', 'get', '999999', ...api);
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, /^qledger: BLOCK_NOT_FOUND: /);
    const badId = await run('tx', 'get', 'xyz', ...api);
    assert.equal(badId.code, 1);
    assert.match(badId.stderr, /^qledger: REQUEST_INVALID: path id: /);
    const down = await run('status', '--api', 'http://127.0.0.1:9');
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^qledger: UNREACHABLE: /);
    for (const args of [
      ['tx', 'send'],
      ['tx', 'send', 'data', '--name', 'a'],
      ['block', 'get'],
      ['tx', 'frob'],
    ]) {
      const r = await run(...args, ...api);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^qledger: /);
    }
    const ftp = await run('status', '--api', 'ftp://x');
    assert.equal(ftp.code, 2);
    assert.match(ftp.stderr, /^qledger: --api must be an http\(s\) URL/);
    for (const cmd of ['keys', 'tx', 'block', 'status', 'bench']) {
      const h = await run(cmd, '--help');
      assert.equal(h.code, 0, cmd);
      assert.match(h.stdout, /^usage: qledger /);
    }
    assert.equal(solo.v.height, height, 'nothing refused was committed');
  });
});
