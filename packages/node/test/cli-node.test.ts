/** `qledger node` start-up failures, and the port allocation the devnet relies on. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ephemeralRange, freePorts } from '../src/http/ports.js';
import { startSolo } from './helpers/solo.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

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
