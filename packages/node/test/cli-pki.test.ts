/** `qledger pki init`: a development PKI whose certificates chain, name and limit their holders. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', main, ...args], {
    encoding: 'utf8',
  });

const SERVER = '1.3.6.1.5.5.7.3.1';
const CLIENT = '1.3.6.1.5.5.7.3.2';

test('pki init writes a CA and per-role certificates that chain to it, keys 0600, nothing secret printed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-pki-'));
  try {
    const r = run(
      'pki',
      'init',
      '--out',
      dir,
      '--kmes',
      'kme-a,kme-b',
      '--saes',
      'v1',
      '--validators',
      'v1,v2',
      '--hosts',
      'node1.example,10.1.2.3',
      '--json',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /PRIVATE KEY/);
    const manifest = JSON.parse(r.stdout) as {
      certificates: { role: string; id: string; cert: string; key: string; sha256: string }[];
    };
    assert.deepEqual(
      manifest.certificates.map((c) => `${c.role}:${c.id}`),
      ['ca:ca', 'kme:kme-a', 'kme:kme-b', 'sae:v1', 'validator:v1', 'validator:v2'],
    );
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    assert.ok(ca.ca);
    for (const c of manifest.certificates) {
      assert.equal(statSync(c.key).mode & 0o777, 0o600, `${c.key} mode`);
      assert.match(readFileSync(c.key, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
      if (c.role === 'ca') continue;
      const cert = new X509Certificate(readFileSync(c.cert));
      assert.ok(cert.verify(ca.publicKey), `${c.id} is signed by the CA`);
      assert.ok(cert.checkIssued(ca));
      assert.equal(cert.subject, `CN=${c.id}`);
      assert.ok(!cert.ca);
      const eku = cert.keyUsage ?? [];
      if (c.role === 'sae') {
        assert.deepEqual(eku, [CLIENT], 'an SAE certificate can only be a client');
        assert.equal(cert.checkHost('localhost'), undefined);
      } else {
        assert.deepEqual([...eku].sort(), [SERVER, CLIENT].sort());
        assert.equal(cert.checkHost(c.id), c.id);
        assert.equal(cert.checkHost('node1.example'), 'node1.example');
        assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
        assert.equal(cert.checkIP('10.1.2.3'), '10.1.2.3');
      }
    }
    // a second run would replace the CA and orphan every certificate: refused without --force
    const again = run('pki', 'init', '--out', dir);
    assert.equal(again.status, 1);
    assert.match(again.stderr.split('\n')[0]!, /ca\.key exists; pass --force/);
    const forced = run(
      'pki',
      'init',
      '--out',
      dir,
      '--force',
      '--saes',
      'v9',
      '--kmes',
      'kme-z',
      '--validators',
      'v9',
    );
    assert.equal(forced.status, 0, forced.stderr);
    const newCa = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    assert.notEqual(newCa.fingerprint256, ca.fingerprint256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pki: bad invocations exit 2 with one line saying why', () => {
  const cases: [string[], RegExp][] = [
    [['pki', 'init'], /pki init needs --out DIR/],
    [['pki', 'init', '--out', '/tmp/x', '--saes', 'Bad Name'], /--saes: "Bad Name" must match/],
    [['pki', 'init', '--out', '/tmp/x', '--kmes', 'a,a'], /--kmes: duplicate id/],
    [['pki', 'init', '--out', '/tmp/x', '--days', '0'], /--days must be an integer/],
    [['pki', 'renew'], /unknown pki command "renew"/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr.split('\n')[0]!, re);
  }
});
