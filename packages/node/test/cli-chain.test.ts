/** `qledger chain …` end to end: real processes on real stores. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildBlock, hasCode, type LedgerState, type TxEnvelope } from '@qledger/core';
import Database from 'better-sqlite3';
import { data, genesisJson, opts, party, register, tx } from '../../core/test/helpers/ledger.js';
import { importChain } from '../src/ledger/chain-ops.js';
import { initStore, openStore } from '../src/storage/index.js';
import { pgSkip, postgresFactory } from './helpers/stores.js';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', main, ...args], {
    encoding: 'utf8',
  });
const json = (r: ReturnType<typeof run>) => JSON.parse(r.stdout) as Record<string, unknown>;

const alice = party('alice', 1);
const bob = party('bob', 2);
const genesisText = JSON.stringify(genesisJson());
let dir: string;

/** A chain of 6 blocks; with `forgeAt`, that block carries a transaction whose signature is wrong. */
async function makeChain(name: string, forgeAt?: number): Promise<string> {
  const d = join(dir, name);
  const store = await openStore(join(d, 'chain.sqlite'));
  let s: LedgerState = await initStore(store, genesisText, opts);
  let seq = 1;
  let bobSeq = 1;
  for (let h = 1; h <= 6; h++) {
    let txs: TxEnvelope[];
    if (h === 1) txs = [register(alice, { org: 'acme' }), register(bob)];
    else if (h === forgeAt)
      txs = [tx(alice, 'data', seq++, { payload: new Uint8Array([h]) }, {}, bob.sig.secretKey)];
    else
      txs = [
        data(alice, seq++, `a${h}`),
        tx(bob, 'trust.record', bobSeq++, { user: 'alice', action: 'rating', target: `t${h}` }),
      ];
    const b = buildBlock(
      s,
      txs,
      { time: s.lastTime + 1000, proposer: `v${1 + (h % 4)}` },
      { ...opts, signatures: 'defer' },
    );
    await store.append({ block: b.block, hash: b.hash, changes: b.changes, state: b.state });
    s = b.state;
  }
  await store.close();
  return d;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'qledger-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('chain verify, stats, export and import on a valid chain', async () => {
  const d = await makeChain('good');
  const v = run('chain', 'verify', '--data', d, '--json', '--workers', '2');
  assert.equal(v.status, 0, v.stderr);
  const rep = json(v);
  assert.deepEqual([rep.valid, rep.height, rep.blocks, rep.transactions], [true, 6, 7, 12]);
  const st = json(run('chain', 'stats', '--data', d, '--json', '--verify'));
  assert.deepEqual([st.length, st.transactions, st.identities, st.pending, st.valid], [7, 12, 2, null, true]);
  const human = run('chain', 'stats', '--data', d);
  assert.match(human.stdout, /transactions\s+12/);

  const file = join(dir, 'good.qlc');
  const e = run('chain', 'export', '--data', d, '--out', file, '--json');
  assert.equal(e.status, 0, e.stderr);
  const d2 = join(dir, 'imported');
  const i = run('chain', 'import', file, '--data', d2, '--json');
  assert.equal(i.status, 0, i.stderr);
  assert.deepEqual([json(i).ok, json(i).height, json(i).transactions], [true, 6, 12]);
  const v2 = json(run('chain', 'verify', '--data', d2, '--json'));
  assert.equal(v2.headHash, rep.headHash);
  // importing again into a store that holds a chain is refused
  const again = run('chain', 'import', file, '--data', d2);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /STORE_ALREADY_INITIALISED/);
});

test('a forged signature is found at its height; state and header checks alone miss it; import refuses it', async () => {
  const d = await makeChain('forged', 4);
  const v = run('chain', 'verify', '--data', d, '--json');
  assert.equal(v.status, 1);
  const rep = json(v);
  assert.equal(rep.valid, false);
  assert.deepEqual(rep.error, {
    height: 4,
    code: 'TX_BAD_SIGNATURE',
    message: 'block 4 transaction 0: signature does not verify',
    index: 0,
  });
  assert.equal(rep.height, 3);
  assert.equal(run('chain', 'verify', '--data', d, '--mode', 'state').status, 0);
  assert.match(run('chain', 'verify', '--data', d).stdout, /^INVALID at height 4: TX_BAD_SIGNATURE/);

  const file = join(dir, 'forged.qlc');
  assert.equal(run('chain', 'export', '--data', d, '--out', file).status, 0);
  const d2 = join(dir, 'forged-import');
  const i = run('chain', 'import', file, '--data', d2, '--json');
  assert.equal(i.status, 1);
  assert.equal((json(i).error as { height: number }).height, 4);
  const store = await openStore(join(d2, 'chain.sqlite'));
  assert.equal(await store.head(), null, 'nothing was written');
  await store.close();
});

test('a transaction altered in the database breaks the Merkle root at its height', async () => {
  const d = await makeChain('tampered');
  const db = new Database(join(d, 'chain.sqlite'));
  const t = db.prepare('SELECT off, len FROM txs WHERE height = 5 AND idx = 0').get() as {
    off: number;
    len: number;
  };
  const body = Buffer.from(
    (db.prepare('SELECT body FROM blocks WHERE height = 5').get() as { body: Buffer }).body,
  );
  body[t.off + t.len - 1]! ^= 1; // last signature byte of transaction 0
  db.prepare('UPDATE blocks SET body = ? WHERE height = 5').run(body);
  db.close();
  for (const mode of ['full', 'headers']) {
    const rep = json(run('chain', 'verify', '--data', d, '--json', '--mode', mode));
    assert.deepEqual(
      [
        rep.valid,
        (rep.error as { height: number; code: string }).height,
        (rep.error as { code: string }).code,
      ],
      [false, 5, 'BLOCK_TX_ROOT'],
    );
  }
});

test('bad invocations exit non-zero with one line saying why', () => {
  const cases: [string[], number, RegExp][] = [
    [['chain', 'verify'], 2, /--data DIR or --store URL is required/],
    [['chain', 'verify', '--data', join(dir, 'nope')], 1, /no chain at/],
    [['chain', 'frob', '--data', dir], 2, /unknown chain command "frob"/],
    [['chain', 'verify', '--data', dir, '--mode', 'fast'], 2, /--mode must be full, state or headers/],
    [['chain', 'verify', '--data', dir, '--bogus'], 2, /Unknown option '--bogus'/],
    [['chain', 'verify', '--data', dir, '--workers', '0'], 2, /--workers must be an integer/],
    [['chain', 'import', join(dir, 'missing.qlc'), '--data', dir], 1, /no such file/],
  ];
  for (const [args, code, re] of cases) {
    const r = run(...args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0]!, re, args.join(' '));
  }
  const bad = join(dir, 'bad-genesis.json');
  writeFileSync(
    bad,
    JSON.stringify(genesisJson({ validators: [{ name: 'v1', sigAlg: 'ml-dsa-44', sigKey: 'abcd' }] })),
  );
  const r = run('chain', 'init', '--genesis', bad, '--data', join(dir, 'bad'));
  assert.equal(r.status, 1);
  assert.match(
    r.stderr.trim(),
    /^qledger: GENESIS_INVALID: genesis\.validators\.0\.sigKey: not a valid ml-dsa-44 public key/,
  );
  const notExport = join(dir, 'junk.qlc');
  writeFileSync(notExport, 'hello');
  const j = run('chain', 'import', notExport, '--data', join(dir, 'junk'));
  assert.equal(j.status, 1);
  assert.match(j.stderr, /IMPORT_INVALID/);
});

test('chain init creates a chain that verifies', () => {
  const g = join(dir, 'genesis.json');
  writeFileSync(g, genesisText);
  const d = join(dir, 'fresh');
  const r = run('chain', 'init', '--genesis', g, '--data', d, '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.match(String(json(r).hash), /^[0-9a-f]{64}$/);
  assert.equal(json(run('chain', 'verify', '--data', d, '--json')).valid, true);
  assert.equal(run('chain', 'init', '--genesis', g, '--data', d).status, 1);
});

test('the same commands work on a PostgreSQL store (--store URL)', { skip: pgSkip }, async () => {
  const { store, location, drop } = await postgresFactory.fresh();
  await store.close();
  try {
    const g = join(dir, 'genesis-pg.json');
    writeFileSync(g, genesisText);
    const init = run('chain', 'init', '--genesis', g, '--store', location, '--json');
    assert.equal(init.status, 0, init.stderr);
    const file = join(dir, 'good-for-pg.qlc');
    const src = await makeChain('for-pg');
    assert.equal(run('chain', 'export', '--data', src, '--out', file).status, 0);
    const v = json(run('chain', 'verify', '--store', location, '--json'));
    assert.deepEqual([v.valid, v.height], [true, 0]);
    // a second PostgreSQL store receives the import and verifies to the same head
    const target = await postgresFactory.fresh();
    await target.store.close();
    try {
      const i = run('chain', 'import', file, '--store', target.location, '--json');
      assert.equal(i.status, 0, i.stderr);
      const v2 = json(run('chain', 'verify', '--store', target.location, '--json'));
      const v1 = json(run('chain', 'verify', '--data', src, '--json'));
      assert.deepEqual([v2.valid, v2.height, v2.headHash], [true, 6, v1.headHash]);
      assert.equal(run('chain', 'verify', '--store', target.location, '--data', src).status, 2);
    } finally {
      await target.drop();
    }
  } finally {
    await drop();
  }
});

test('import notices a file that changes between its verify and write passes', async () => {
  const good = join(dir, 'swap-good.qlc');
  const other = join(dir, 'swap-other.qlc');
  assert.equal(run('chain', 'export', '--data', await makeChain('swap-a'), '--out', good).status, 0);
  assert.equal(run('chain', 'export', '--data', await makeChain('swap-b', 3), '--out', other).status, 0);
  const target = await openStore(join(dir, 'swap-target', 'chain.sqlite'));
  try {
    await assert.rejects(
      importChain(good, target, {
        workers: 1,
        onVerify: (h) => {
          if (h === 6) copyFileSync(other, good); // swapped after the last block was verified
        },
      }),
      (e: unknown) => hasCode(e, 'IMPORT_INVALID') && /changed during import/.test((e as Error).message),
    );
    assert.ok(((await target.head())?.height ?? 0) < 6, 'the swapped chain was not written whole');
  } finally {
    await target.close();
  }
});
