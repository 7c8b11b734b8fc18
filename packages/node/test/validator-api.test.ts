/**
 * The validator's REST API over a real socket, on a one-validator chain (no KME, no peers):
 * a transaction's life from submit to committed, blocks with their certificates, status, and
 * every error code the routes answer with; a refused submission changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encode, LEDGER_ERRORS, nobleBackend, nobleHashes, toHex } from '@qledger/core';
import { API_ERRORS, ApiError, QledgerClient, ROUTES } from '@qledger/core/api';
import { pino } from 'pino';
import { buildValidatorApi, startApi } from '../src/validator/api.js';
import { type Client, dataTx, registerTx, signedTx } from '../src/validator/devnet-driver.js';
import type { Validator } from '../src/validator/runtime.js';
import { type Solo, startSolo } from './helpers/solo.js';

const crypto = nobleBackend;
const hashes = nobleHashes;

describe('validator REST API', { timeout: 120_000 }, () => {
  let v: Validator;
  let base: string;
  let client: QledgerClient;
  let alice: Client;
  let solo: Solo;
  before(async () => {
    solo = await startSolo('qledger-api-');
    v = solo.v;
    base = solo.base;
    client = new QledgerClient(base);
  });
  after(async () => {
    await solo?.stop();
  });

  const post = (body: unknown, type = 'application/json') =>
    fetch(`${base}/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': type },
      body:
        typeof body === 'string' || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body),
    });
  const postCbor = (bytes: Uint8Array) => post(bytes, 'application/cbor');

  const expectError = async (r: Response, status: number, code: string, field?: string) => {
    const b = (await r.json()) as { code: string; message: string; details?: { field?: string } };
    assert.equal(r.status, status, JSON.stringify(b));
    assert.equal(b.code, code, JSON.stringify(b));
    assert.ok(b.message.length > 0);
    if (field) assert.equal(b.details?.field, field);
  };
  const committed = async (id: string) => {
    for (let i = 0; i < 300; i++) {
      const st = await client.tx(id).catch((e) => {
        if (e instanceof ApiError && e.code === 'TX_NOT_FOUND') return null;
        throw e;
      });
      if (st?.status === 'committed') return st;
      if (st?.status === 'rejected') throw new Error(`${id} rejected: ${st.code}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`${id} did not commit`);
  };

  test('submit → pending → committed, with live block and tx events; blocks carry their certificate', async () => {
    const events: { name: string; payload: unknown }[] = [];
    const ac = new AbortController();
    const following = client.events((name, payload) => events.push({ name, payload }), ac.signal);
    await new Promise((res) => setTimeout(res, 100));
    const reg = registerTx('devnet', 'alice', crypto, hashes);
    alice = reg.client;
    const sub = await client.submitTx(reg.env.bytes);
    assert.deepEqual(sub, { id: toHex(reg.env.id), status: 'pending' });
    const st = await committed(sub.id!);
    assert.equal(st.kind, 'identity.register');
    assert.equal(st.sender, 'alice');
    const block = await client.block(st.height!);
    assert.deepEqual(block.txs, [{ id: sub.id, kind: 'identity.register', sender: 'alice' }]);
    assert.deepEqual(block.cert?.signers, ['solo']);
    assert.equal(block.proposer, 'solo');
    assert.equal(st.blockHash, block.hash);
    assert.deepEqual(await client.block(block.hash), block, 'by hash = by height');
    assert.deepEqual(await client.latestBlock(), block);
    const status = await client.status();
    assert.equal(status.height, st.height);
    assert.deepEqual(status.links, []);
    for (let i = 0; i < 50 && !events.some((e) => e.name === 'tx'); i++)
      await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await following;
    assert.deepEqual(
      events.find((e) => e.name === 'tx')?.payload,
      { height: st.height, ids: [sub.id] },
      JSON.stringify(events),
    );
    const be = events.find((e) => e.name === 'block')?.payload as {
      height: number;
      hash: string;
      txCount: number;
    };
    assert.deepEqual([be.height, be.hash, be.txCount], [block.height, block.hash, 1]);

    // A batch: one good, one replay of a used seq (rejected with its code), one malformed.
    const good = dataTx('devnet', alice, new Uint8Array(4), crypto, hashes);
    const batch = await client.submitTxs([good.bytes, reg.env.bytes, 'abcd']);
    assert.equal(batch[0]!.status, 'pending');
    assert.equal(batch[1]!.status, 'rejected');
    assert.equal(batch[1]!.code, 'IDENTITY_NAME_TAKEN');
    assert.equal(batch[2]!.code, 'TX_MALFORMED');
    await committed(toHex(good.id));
    // The same kind of batch as application/cbor (bytes, no hex or JSON): the same answers.
    const g2 = dataTx('devnet', alice, new Uint8Array(5), crypto, hashes);
    const g3 = dataTx('devnet', alice, new Uint8Array(6), crypto, hashes);
    const bin = await client.submitTxsBinary([
      g2.bytes,
      reg.env.bytes,
      new Uint8Array([0xab, 0xcd]),
      g3.bytes,
    ]);
    assert.deepEqual(
      bin.map((r) => [r.id, r.status, r.code]),
      [
        [toHex(g2.id), 'pending', undefined],
        [undefined, 'rejected', 'IDENTITY_NAME_TAKEN'],
        [undefined, 'rejected', 'TX_MALFORMED'],
        [toHex(g3.id), 'pending', undefined],
      ],
    );
    assert.equal((await committed(toHex(g3.id))).status, 'committed');
    assert.equal((await client.call('ready')).ready, true);
    // Blocks reuse the envelopes decoded on admission; once committed they are let go.
    assert.equal(v.cachedEnvelopes, 0);
  });

  test('identities, trust scores and datasets: get, search, pages', async () => {
    const bob = registerTx('devnet', 'bob', crypto, hashes);
    await committed((await client.submitTx(bob.env.bytes)).id!);
    const ids: string[] = [];
    for (const [id, name] of [
      ['ds-ocean', 'Ocean temperatures'],
      ['ds-soil', 'Soil samples'],
      ['ds-ocean-2', 'Ocean salinity'],
    ] as const) {
      const env = signedTx(
        'devnet',
        alice,
        'dataset.register',
        {
          id,
          name,
          licence: 'CC-BY-4.0',
          contentHash: hashes.sha3_256(new TextEncoder().encode(id)),
          quality: 900_000,
        },
        crypto,
        hashes,
      );
      ids.push((await client.submitTx(env.bytes)).id!);
    }
    const trust = signedTx(
      'devnet',
      bob.client,
      'trust.record',
      { user: 'alice', action: 'rating', target: 'ds-soil' },
      crypto,
      hashes,
    );
    ids.push((await client.submitTx(trust.bytes)).id!);
    for (const id of ids) await committed(id);

    const a = await client.call('getIdentity', { params: { name: 'alice' } });
    assert.equal(a.name, 'alice');
    assert.equal(a.status, 'active');
    assert.equal(a.sigKey, toHex(alice.keys.publicKey));
    assert.equal(a.trust, 530_000, 'start 500,000 + a rating of 30,000');
    assert.deepEqual(await client.call('getTrust', { params: { name: 'alice' } }), {
      name: 'alice',
      score: 530_000,
    });

    const all = await client.call('listDatasets', { query: { limit: '2' } });
    assert.equal(all.datasets.length, 2);
    assert.ok(all.next);
    const rest = await client.call('listDatasets', { query: { limit: '2', cursor: all.next! } });
    assert.deepEqual([...all.datasets, ...rest.datasets].map((d) => d.id).sort(), [
      'ds-ocean',
      'ds-ocean-2',
      'ds-soil',
    ]);
    assert.equal(rest.next, null);
    const ocean = await client.call('listDatasets', { query: { search: 'OCEAN' } });
    assert.deepEqual(ocean.datasets.map((d) => d.id).sort(), ['ds-ocean', 'ds-ocean-2']);
    const d = await client.call('getDataset', { params: { id: 'ds-soil' } });
    assert.deepEqual(
      [d.name, d.owner, d.licence, d.quality, d.verified],
      ['Soil samples', 'alice', 'CC-BY-4.0', 900_000, false],
    );

    const stats = await client.call('chainStats');
    assert.equal(stats.height, v.height);
    assert.equal(stats.identities, 2);
    assert.equal(stats.datasets, 3);
    assert.equal(stats.validators, 1);
    assert.ok(stats.transactions >= 7);
  });

  test('block pages: newest first or oldest first, cursors cover every block once', async () => {
    const head = v.height;
    const seen: number[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await client.blocks({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.blocks.map((b) => b.height));
      if (!page.next) break;
      cursor = page.next;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: head + 1 }, (_, i) => head - i),
    );
    const asc: number[] = [];
    cursor = undefined;
    for (;;) {
      const page = await client.blocks({ limit: 3, order: 'asc', ...(cursor ? { cursor } : {}) });
      asc.push(...page.blocks.map((b) => b.height));
      if (!page.next) break;
      cursor = page.next;
    }
    assert.deepEqual(
      asc,
      Array.from({ length: head + 1 }, (_, i) => i),
    );
  });

  test('chain verification, validators, peers, QKD links, QRNG, metrics and the OpenAPI document', async () => {
    const ver = await client.call('chainVerify', { query: { mode: 'state' } });
    assert.equal(ver.valid, true);
    assert.equal(ver.height, v.height);
    assert.equal((await client.call('chainVerify')).valid, true);
    const vals = await client.call('validators');
    assert.equal(vals.validators.length, 1);
    assert.deepEqual(
      [
        vals.validators[0]!.name,
        vals.validators[0]!.self,
        vals.validators[0]!.proposer,
        vals.validators[0]!.connected,
      ],
      ['solo', true, true, true],
    );
    assert.deepEqual(await client.call('peers'), { peers: [] });
    assert.deepEqual(await client.call('qkdLinks'), { links: [], qkdBitsConsumed: 0 });
    const q = await client.call('qrng');
    assert.equal(q.sources[0]!.name, 'simulated');
    assert.equal(q.sources[0]!.quantum, true);
    assert.ok(q.bytesServed >= 1024, 'the nonce buffer was filled from the mix');

    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, new RegExp(`^qledger_height\\{validator="solo"\\} ${v.height}$`, 'm'));
    assert.match(metrics, /^qledger_qrng_source_up\{.*source="simulated".*\} 1$/m);

    const doc = (await (await fetch(`${base}/docs`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
    };
    assert.equal(doc.openapi, '3.1.0');
    for (const [id, def] of Object.entries(ROUTES)) {
      const op = doc.paths[def.path.replace(/:([a-zA-Z]+)/g, '{$1}')]?.[def.method.toLowerCase()];
      assert.equal(op?.operationId, id, `${def.method} ${def.path} in /docs`);
      for (const code of def.errors)
        assert.ok(code in API_ERRORS || code in LEDGER_ERRORS, `${id} declares an unlisted code ${code}`);
    }
    assert.ok(doc.paths['/v1/blocks/{ref}']!.get!.responses['404']);
  });

  test('every error answers { code, message } with its status, and changes nothing', async () => {
    const before = await client.status();
    await expectError(await post({}), 400, 'REQUEST_INVALID', 'tx');
    await expectError(await post([]), 400, 'REQUEST_INVALID', 'body');
    await expectError(await post({ tx: 'xyz' }), 400, 'REQUEST_INVALID', 'tx');
    await expectError(await post({ tx: 'ab', extra: 1 }), 400, 'REQUEST_INVALID', 'extra');
    await expectError(await post({ txs: [] }), 400, 'REQUEST_INVALID', 'txs');
    await expectError(await post('{not json'), 400, 'REQUEST_INVALID');
    await expectError(await post('tx=ab', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(await post({ tx: 'ab'.repeat(5_000_000) }), 413, 'BODY_TOO_LARGE');
    await expectError(await post({ tx: 'abcd' }), 400, 'TX_MALFORMED');
    // application/cbor: an array of 1–1000 byte strings, canonical CBOR, or REQUEST_INVALID on txs.
    await expectError(await postCbor(new Uint8Array([0xff, 0x00])), 400, 'REQUEST_INVALID', 'txs');
    await expectError(await postCbor(new Uint8Array()), 400, 'REQUEST_INVALID', 'txs');
    await expectError(await postCbor(encode([])), 400, 'REQUEST_INVALID', 'txs');
    await expectError(await postCbor(encode({ txs: [] })), 400, 'REQUEST_INVALID', 'txs');
    await expectError(await postCbor(encode([new Uint8Array(2), 7])), 400, 'REQUEST_INVALID', 'txs');
    await expectError(
      await postCbor(encode(Array.from({ length: 1001 }, () => new Uint8Array(1)))),
      400,
      'REQUEST_INVALID',
      'txs',
    );
    await expectError(await postCbor(new Uint8Array(9 * 1024 * 1024)), 413, 'BODY_TOO_LARGE');
    // A wrong signature: decoded fine, refused by the worker pool, never pending.
    const mallory = { name: 'alice', keys: crypto.signer('ml-dsa-44').keygen(), seq: alice.seq };
    const forged = dataTx('devnet', mallory, new Uint8Array(1), crypto, hashes);
    const r = await post({ tx: toHex(forged.bytes) });
    const b = (await r.json()) as { status: string; code: string };
    assert.equal(r.status, 400);
    assert.equal(b.status, 'rejected');
    assert.equal(b.code, 'TX_BAD_SIGNATURE');
    assert.equal(
      (await client.tx(toHex(forged.id))).status,
      'rejected',
      'a rejection is remembered with its code',
    );
    // Another chain.
    const other = registerTx('otherchain', 'eve', crypto, hashes).env;
    await expectError(await post({ tx: toHex(other.bytes) }), 400, 'TX_WRONG_CHAIN');
    await expectError(await fetch(`${base}/v1/transactions/xyz`), 400, 'REQUEST_INVALID', 'id');
    await expectError(await fetch(`${base}/v1/transactions/${'0'.repeat(64)}`), 404, 'TX_NOT_FOUND');
    await expectError(await fetch(`${base}/v1/blocks/999999`), 404, 'BLOCK_NOT_FOUND');
    await expectError(await fetch(`${base}/v1/blocks/${'ab'.repeat(32)}`), 404, 'BLOCK_NOT_FOUND');
    await expectError(await fetch(`${base}/v1/blocks/-1`), 400, 'REQUEST_INVALID', 'ref');
    await expectError(await fetch(`${base}/v1/blocks?limit=x`), 400, 'REQUEST_INVALID', 'limit');
    await expectError(await fetch(`${base}/v1/blocks?order=up`), 400, 'REQUEST_INVALID', 'order');
    await expectError(await fetch(`${base}/v1/blocks?page=2`), 400, 'REQUEST_INVALID', 'page');
    await expectError(await fetch(`${base}/v1/chain/verify?mode=full`), 400, 'REQUEST_INVALID', 'mode');
    await expectError(await fetch(`${base}/v1/identities/nobody`), 404, 'IDENTITY_NOT_FOUND');
    await expectError(await fetch(`${base}/v1/identities/nobody/trust`), 404, 'IDENTITY_NOT_FOUND');
    await expectError(await fetch(`${base}/v1/datasets/none`), 404, 'DATASET_NOT_FOUND');
    await expectError(await fetch(`${base}/v1/datasets?limit=0x1`), 400, 'REQUEST_INVALID', 'limit');
    await expectError(await fetch(`${base}/v1/nothing`), 404, 'NOT_FOUND');
    // The typed client surfaces the same codes.
    await assert.rejects(
      client.block(999_999),
      (e: ApiError) => e.code === 'BLOCK_NOT_FOUND' && e.status === 404,
    );
    const afterS = await client.status();
    assert.equal(afterS.mempool.size, before.mempool.size);
    assert.equal(afterS.height, before.height);
  });

  test('closing the API ends open event streams instead of waiting for their subscribers', async () => {
    const log = pino({ level: 'silent' });
    const app = await startApi(v, { host: '127.0.0.1', port: 0 }, log);
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/events`;
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    // A subscriber that never leaves: before the fix, close() waited for it forever.
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((r) => {
      timer = setTimeout(() => r('hung'), 10_000);
    });
    try {
      assert.equal(await Promise.race([app.close().then(() => 'closed' as const), hung]), 'closed');
      // The subscriber saw the stream end (after the greeting comment), not an error.
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      assert.match(text, /^: qledger events/);
    } finally {
      clearTimeout(timer);
      // On failure, leave so the hung close() can finish and the suite can stop.
      await reader.cancel().catch(() => {});
    }
  });

  test('in-process: per-client rate limit (429 RATE_LIMITED), CORS closed unless configured, VERIFY_BUSY', async () => {
    const log = pino({ level: 'silent' });
    const limited = await buildValidatorApi(
      v,
      { rateLimit: { max: 3, windowMs: 60_000 }, cors: ['https://ops.example'] },
      log,
    );
    try {
      for (let i = 0; i < 3; i++) assert.equal((await limited.inject('/v1/status')).statusCode, 200);
      const r = await limited.inject('/v1/status');
      assert.equal(r.statusCode, 429);
      const body = r.json() as { code: string; message: string; details: { max: number } };
      assert.equal(body.code, 'RATE_LIMITED');
      assert.equal(body.details.max, 3);
      assert.ok(Number(r.headers['retry-after']) > 0);
      // Another client has its own budget; health probes are never limited.
      assert.equal((await limited.inject({ url: '/v1/status', remoteAddress: '10.0.0.9' })).statusCode, 200);
      assert.equal((await limited.inject('/health')).statusCode, 200);
      const ok = await limited.inject({ url: '/health', headers: { origin: 'https://ops.example' } });
      assert.equal(ok.headers['access-control-allow-origin'], 'https://ops.example');
      const other = await limited.inject({ url: '/health', headers: { origin: 'https://evil.example' } });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
    } finally {
      await limited.close();
    }
    const closed = await buildValidatorApi(v, {}, log);
    try {
      const r = await closed.inject({ url: '/health', headers: { origin: 'https://ops.example' } });
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['access-control-allow-origin'], undefined, 'no origin configured: no CORS');
      // Two verifications of different kinds at once: the second is refused, not queued.
      const [a, b] = await Promise.all([
        closed.inject('/v1/chain/verify?mode=state'),
        closed.inject('/v1/chain/verify?mode=headers'),
      ]);
      assert.equal(a.statusCode, 200);
      assert.equal(b.statusCode, 503);
      assert.equal((b.json() as { code: string }).code, 'VERIFY_BUSY');
    } finally {
      await closed.close();
    }
  });
});

describe('validator REST API under a full mempool', { timeout: 60_000 }, () => {
  test('a submission beyond mempool.maxTxs is 503 MEMPOOL_FULL and leaves the pending one alone', async () => {
    // The proposer holds its block for 3 s, so the first transaction stays pending meanwhile.
    const solo = await startSolo('qledger-api-full-', {
      mempool: { maxTxs: 1 },
      consensus: { batchMs: 3000 },
    });
    try {
      const client = new QledgerClient(solo.base);
      const a = registerTx('devnet', 'alice', crypto, hashes).env;
      const b = registerTx('devnet', 'bob', crypto, hashes).env;
      assert.equal((await client.submitTx(a.bytes)).status, 'pending');
      await assert.rejects(
        client.submitTx(b.bytes),
        (e: ApiError) => e.code === 'MEMPOOL_FULL' && e.status === 503,
      );
      // The pending one stays pending (the mempool may also hold the validator's own beacon
      // commitment, which the limit leaves out: docs/consensus.md).
      assert.equal((await client.tx(toHex(a.id))).status, 'pending');
      await assert.rejects(client.tx(toHex(b.id)), (e: ApiError) => e.code === 'TX_NOT_FOUND');
    } finally {
      await solo.stop();
    }
  });
});
