/**
 * The validator's REST API over a real socket, on a one-validator chain (no KME, no peers):
 * a transaction's life from submit to committed, blocks with their certificates, status, and
 * every error code the routes answer with; a refused submission changes nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nobleBackend, nobleHashes, toHex } from '@qledger/core';
import { pino } from 'pino';
import { writeDevPki } from '../src/pki/dev.js';
import { startApi } from '../src/validator/api.js';
import { NodeConfigSchema } from '../src/validator/config.js';
import { dataTx, registerTx } from '../src/validator/devnet-driver.js';
import { writeSigningKey } from '../src/validator/keyfile.js';
import { Validator } from '../src/validator/runtime.js';

const crypto = nobleBackend;
const hashes = nobleHashes;

describe('validator REST API', { timeout: 120_000 }, () => {
  let dir: string;
  let v: Validator;
  let api: Awaited<ReturnType<typeof startApi>>;
  let base: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qledger-api-'));
    await writeDevPki(join(dir, 'pki'), { validators: ['solo'], days: 2 });
    const key = writeSigningKey(join(dir, 'solo.key'), 'ml-dsa-44', crypto);
    writeFileSync(
      join(dir, 'genesis.json'),
      JSON.stringify({
        chainId: 'devnet',
        time: 1_763_856_000_000,
        validators: [{ name: 'solo', sigAlg: 'ml-dsa-44', sigKey: toHex(key.publicKey) }],
      }),
    );
    const cfg = NodeConfigSchema.parse({
      name: 'solo',
      genesis: join(dir, 'genesis.json'),
      key: join(dir, 'solo.key'),
      store: join(dir, 'solo.sqlite'),
      pki: join(dir, 'pki'),
      listen: { port: 0 },
      api: { port: 0 },
      peers: [],
      logLevel: 'silent',
    });
    const log = pino({ level: 'silent' });
    v = await Validator.start(cfg, log);
    api = await startApi(v, '127.0.0.1', 0, log);
    base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await api?.close();
    await v?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: unknown, type = 'application/json') =>
    fetch(`${base}/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const expectError = async (r: Response, status: number, code: string, field?: string) => {
    const b = (await r.json()) as { code: string; message: string; details?: { field?: string } };
    assert.equal(r.status, status, JSON.stringify(b));
    assert.equal(b.code, code, JSON.stringify(b));
    assert.ok(b.message.length > 0);
    if (field) assert.equal(b.details?.field, field);
  };

  test('submit → pending → committed; the block carries its certificate; status reports it', async () => {
    const { client, env } = registerTx('devnet', 'alice', crypto, hashes);
    const r = await post({ tx: toHex(env.bytes) });
    assert.equal(r.status, 202);
    const body = (await r.json()) as { id: string; status: string };
    assert.equal(body.id, toHex(env.id));
    let st: { status: string; height?: number } = { status: '' };
    for (let i = 0; i < 200 && st.status !== 'committed'; i++) {
      st = (await (await fetch(`${base}/v1/transactions/${body.id}`)).json()) as typeof st;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(st.status, 'committed');
    const block = (await (await fetch(`${base}/v1/blocks/${st.height}`)).json()) as {
      txs: string[];
      cert: { signers: string[] };
      proposer: string;
    };
    assert.deepEqual(block.txs, [body.id]);
    assert.deepEqual(block.cert.signers, ['solo']);
    assert.equal(block.proposer, 'solo');
    const latest = (await (await fetch(`${base}/v1/blocks/latest`)).json()) as { height: number };
    assert.equal(latest.height, st.height);
    const status = (await (await fetch(`${base}/v1/status`)).json()) as { height: number; links: unknown[] };
    assert.equal(status.height, st.height);
    assert.deepEqual(status.links, []);
    // A batch: one good, one replay of a used seq (rejected with its code), one malformed.
    const good = dataTx('devnet', client, new Uint8Array(4), crypto, hashes);
    const batch = (await (await post({ txs: [toHex(good.bytes), toHex(env.bytes), 'abcd'] })).json()) as {
      results: { status: string; code?: string }[];
    };
    assert.equal(batch.results[0]!.status, 'pending');
    assert.equal(batch.results[1]!.status, 'rejected');
    assert.equal(batch.results[1]!.code, 'IDENTITY_NAME_TAKEN');
    assert.equal(batch.results[2]!.code, 'TX_MALFORMED');
    assert.equal(((await (await fetch(`${base}/ready`)).json()) as { ready: boolean }).ready, true);
  });

  test('every error answers { code, message } with its status, and changes nothing', async () => {
    const before = (await (await fetch(`${base}/v1/status`)).json()) as { mempool: { size: number } };
    await expectError(await post({}), 400, 'REQUEST_INVALID');
    await expectError(await post({ tx: 'xyz' }), 400, 'REQUEST_INVALID', 'tx');
    await expectError(await post({ tx: 'ab', extra: 1 }), 400, 'REQUEST_INVALID');
    await expectError(await post('{not json'), 400, 'REQUEST_INVALID');
    await expectError(await post('tx=ab', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(await post({ tx: 'ab'.repeat(5_000_000) }), 413, 'BODY_TOO_LARGE');
    await expectError(await post({ tx: 'abcd' }), 400, 'TX_MALFORMED');
    // A wrong signature: decoded fine, refused by the worker pool, never pending.
    // alice's next transaction, signed with a key that is not hers.
    const mallory = { name: 'alice', keys: crypto.signer('ml-dsa-44').keygen(), seq: 2 };
    const forged = dataTx('devnet', mallory, new Uint8Array(1), crypto, hashes).bytes;
    const r = await post({ tx: toHex(forged) });
    const b = (await r.json()) as { status: string; code: string };
    assert.equal(r.status, 400);
    assert.equal(b.status, 'rejected');
    assert.equal(b.code, 'TX_BAD_SIGNATURE');
    // Another chain.
    const other = registerTx('otherchain', 'eve', crypto, hashes).env;
    await expectError(await post({ tx: toHex(other.bytes) }), 400, 'TX_WRONG_CHAIN');
    await expectError(await fetch(`${base}/v1/transactions/xyz`), 400, 'TX_ID_INVALID');
    const unknown = (await (await fetch(`${base}/v1/transactions/${'0'.repeat(64)}`)).json()) as {
      status: string;
    };
    assert.equal(unknown.status, 'unknown');
    await expectError(await fetch(`${base}/v1/blocks/999999`), 404, 'BLOCK_NOT_FOUND');
    await expectError(await fetch(`${base}/v1/blocks/-1`), 400, 'REQUEST_INVALID', 'height');
    await expectError(await fetch(`${base}/v1/nothing`), 404, 'NOT_FOUND');
    const afterS = (await (await fetch(`${base}/v1/status`)).json()) as { mempool: { size: number } };
    assert.equal(afterS.mempool.size, before.mempool.size);
  });
});
