/**
 * The `qledger` commands that talk to a running validator through the typed REST client:
 * `keys gen`, `tx send`, `tx get`, `block get`, `status`. Human output on a terminal,
 * `--json` for scripts; a failure is one line and exit 1 (2 for usage).
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  KEM_ALGS,
  type KemAlg,
  nobleBackend,
  SIG_ALGS,
  type SigAlg,
  signTx,
  toHex,
  type UnsignedTx,
} from '@qledger/core';
import { QledgerClient } from '@qledger/core/api';
import { nativeHashes } from '../crypto/index.js';
import { readKemKey, readSigningKey, writeSigningKey } from '../validator/keyfile.js';
import { parseCommand } from './args.js';
import { CliError } from './errors.js';

const DEFAULT_API = 'http://127.0.0.1:8080';

export const KEYS_USAGE = `usage: qledger keys gen --alg ALG --out FILE [--kem KEM] [--force] [--json]
  --alg ALG     signature algorithm: ${SIG_ALGS.join(', ')}
  --kem KEM     also a key-encapsulation pair (for identity.register): ${KEM_ALGS.join(', ')}
  --out FILE    written 0600; never overwritten without --force
  prints the public key's SHA3-256 fingerprint, never the secret key`;

export const TX_USAGE = `usage: qledger tx <send|get> [options]
  tx send register --name NAME --key FILE [--meta k=v]…    register an identity (key from keys gen --kem)
  tx send data --name NAME --key FILE (--text T | --file F) [--type MIME]
  tx send raw --file F                                     a signed transaction, hex, as made elsewhere
  tx get ID                                                status: pending, committed at a height, rejected
options:
  --api URL     a validator or the devnet (default ${DEFAULT_API}, or $QLEDGER_API)
  --seq N       sequence number to use (default: the identity's next, from the API)
  --wait        wait until committed (send), with progress on a terminal
  --json        one JSON object on stdout`;

export const BLOCK_USAGE = `usage: qledger block get (HEIGHT | HASH | latest) [--api URL] [--json]`;
export const STATUS_USAGE = `usage: qledger status [--api URL] [--json]    height, consensus, peers, QKD links`;

const API_OPTS = {
  api: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function client(api: string | undefined): QledgerClient {
  const url = api ?? process.env.QLEDGER_API ?? DEFAULT_API;
  if (!/^https?:\/\/[^/]+/.test(url))
    throw new CliError(`--api must be an http(s) URL, not ${JSON.stringify(url)}`, 2);
  return new QledgerClient(url);
}

function print(json: boolean, value: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(value) : human());
}

const table = (rows: [string, unknown][]) => {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k.padEnd(w)}  ${String(v)}`)
    .join('\n');
};

export async function keysCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) {
    console.log(KEYS_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'gen') throw new CliError(`unknown keys command ${JSON.stringify(sub)}`, 2);
  const { values: v, positionals } = parseCommand(rest, {
    alg: { type: 'string' },
    kem: { type: 'string' },
    out: { type: 'string' },
    force: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (v.help) {
    console.log(KEYS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(positionals[0])}`, 2);
  if (!v.alg || !SIG_ALGS.includes(v.alg as SigAlg))
    throw new CliError(`--alg must be one of ${SIG_ALGS.join(', ')}`, 2);
  if (v.kem !== undefined && !KEM_ALGS.includes(v.kem as KemAlg))
    throw new CliError(`--kem must be one of ${KEM_ALGS.join(', ')}`, 2);
  if (!v.out) throw new CliError('keys gen needs --out FILE', 2);
  if (existsSync(v.out) && !v.force) throw new CliError(`${v.out} exists; use --force to replace it`);
  const k = writeSigningKey(
    v.out,
    v.alg as SigAlg,
    nobleBackend,
    v.kem as KemAlg | undefined,
    v.force ? 'w' : 'wx',
  );
  const out = {
    file: v.out,
    alg: k.alg,
    fingerprint: toHex(nativeHashes.sha3_256(k.publicKey)),
    ...(k.kem ? { kem: k.kem.alg } : {}),
  };
  k.secretKey.fill(0);
  k.kem?.secretKey.fill(0);
  print(v.json, out, () =>
    table([
      ['key file', out.file],
      ['signature', out.alg],
      ['kem', out.kem],
      ['fingerprint', out.fingerprint],
    ]),
  );
  return 0;
}

async function waitCommitted(api: QledgerClient, id: string, showProgress: boolean) {
  const t0 = Date.now();
  const spin = ['|', '/', '-', '\\'];
  for (let i = 0; ; i++) {
    const st = await api.tx(id).catch(() => null);
    if (st && st.status !== 'pending') {
      if (showProgress) process.stderr.write('\r\x1b[K');
      return st;
    }
    if (Date.now() - t0 > 60_000) throw new CliError(`transaction ${id} did not commit within 60 s`);
    if (showProgress)
      process.stderr.write(`\r${spin[i % 4]} waiting for commit… ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function txCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) {
    console.log(TX_USAGE);
    return sub === undefined ? 2 : 0;
  }
  const { values: v, positionals } = parseCommand(rest, {
    ...API_OPTS,
    name: { type: 'string' },
    key: { type: 'string' },
    text: { type: 'string' },
    file: { type: 'string' },
    type: { type: 'string' },
    meta: { type: 'string', multiple: true },
    seq: { type: 'string' },
    wait: { type: 'boolean', default: false },
  });
  if (v.help) {
    console.log(TX_USAGE);
    return 0;
  }
  const api = client(v.api);
  if (sub === 'get') {
    if (positionals.length !== 1) throw new CliError('tx get needs one transaction id', 2);
    const st = await api.tx(positionals[0]!);
    print(v.json, st, () =>
      table([
        ['id', st.id],
        ['status', st.status],
        ['height', st.height],
        ['kind', st.kind],
        ['sender', st.sender],
        ['block', st.blockHash],
        ['code', st.code],
        ['message', st.message],
      ]),
    );
    return st.status === 'rejected' ? 1 : 0;
  }
  if (sub !== 'send') throw new CliError(`unknown tx command ${JSON.stringify(sub)}`, 2);
  const [kind, ...extra] = positionals;
  if (extra.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(extra[0])}`, 2);
  let bytes: Uint8Array;
  if (kind === 'raw') {
    if (!v.file) throw new CliError('tx send raw needs --file F (hex)', 2);
    const hex = readFileSync(v.file, 'utf8').trim();
    if (!/^(?:[0-9a-f]{2})+$/.test(hex)) throw new CliError(`${v.file}: not a hex transaction`, 2);
    bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
  } else if (kind === 'register' || kind === 'data') {
    if (!v.name) throw new CliError(`tx send ${kind} needs --name NAME`, 2);
    if (!v.key) throw new CliError(`tx send ${kind} needs --key FILE`, 2);
    const key = readSigningKey(v.key);
    let body: Record<string, unknown>;
    if (kind === 'register') {
      const kem = readKemKey(v.key);
      if (!kem)
        throw new CliError(`${v.key} has no KEM key: make it with qledger keys gen --kem ml-kem-768`, 2);
      const meta: Record<string, string> = {};
      for (const m of v.meta ?? []) {
        const i = m.indexOf('=');
        if (i <= 0) throw new CliError(`--meta must be key=value, not ${JSON.stringify(m)}`, 2);
        meta[m.slice(0, i)] = m.slice(i + 1);
      }
      body = { sigKey: key.publicKey, kemAlg: kem.alg, kemKey: kem.publicKey, meta };
      kem.secretKey.fill(0);
    } else {
      if ((v.text === undefined) === (v.file === undefined))
        throw new CliError('tx send data needs exactly one of --text T and --file F', 2);
      const payload =
        v.text !== undefined ? new TextEncoder().encode(v.text) : Uint8Array.from(readFileSync(v.file!));
      body = { payload, ...(v.type ? { type: v.type } : {}) };
    }
    let seq: number;
    if (v.seq !== undefined) {
      seq = Number(v.seq);
      if (!Number.isInteger(seq) || seq < 0) throw new CliError('--seq must be a non-negative integer', 2);
    } else
      seq = kind === 'register' ? 0 : (await api.call('getIdentity', { params: { name: v.name } })).nextSeq;
    const { chainId } = await api.status();
    const unsigned = {
      v: 1,
      chain: chainId,
      kind: kind === 'register' ? 'identity.register' : 'data',
      from: v.name,
      seq,
      alg: key.alg,
      body,
    } as unknown as UnsignedTx;
    bytes = signTx(unsigned, key.secretKey, nobleBackend, nativeHashes).bytes;
    key.secretKey.fill(0);
  } else throw new CliError('tx send needs a kind: register, data or raw', 2);

  const sent = await api.submitTx(bytes);
  const final = v.wait ? await waitCommitted(api, sent.id!, !v.json && process.stderr.isTTY === true) : sent;
  print(v.json, final, () =>
    table([
      ['id', sent.id],
      ['status', final.status],
      ['height', final.height],
    ]),
  );
  return final.status === 'rejected' ? 1 : 0;
}

export async function blockCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) {
    console.log(BLOCK_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'get') throw new CliError(`unknown block command ${JSON.stringify(sub)}`, 2);
  const { values: v, positionals } = parseCommand(rest, API_OPTS);
  if (v.help) {
    console.log(BLOCK_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError('block get needs HEIGHT, HASH or latest', 2);
  const api = client(v.api);
  const ref = positionals[0]!;
  const b = ref === 'latest' ? await api.latestBlock() : await api.block(ref);
  print(v.json, b, () =>
    [
      table([
        ['height', b.height],
        ['hash', b.hash],
        ['previous', b.prev],
        ['time', new Date(b.time).toISOString()],
        ['proposer', b.proposer],
        ['transactions', b.txCount],
        ['certificate', b.cert ? `round ${b.cert.round}, signed by ${b.cert.signers.join(', ')}` : 'none'],
      ]),
      ...b.txs.map((t) => `  ${t.id}  ${t.kind}  ${t.sender}`),
    ].join('\n'),
  );
  return 0;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(argv, API_OPTS);
  if (v.help) {
    console.log(STATUS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(positionals[0])}`, 2);
  const s = await client(v.api).status();
  print(v.json, s, () =>
    [
      table([
        ['validator', `${s.name} (chain ${s.chainId})`],
        ['height', s.height],
        [
          'consensus',
          `height ${s.consensus.height}, round ${s.consensus.round}, ${s.consensus.step}; proposer ${s.consensus.proposer}`,
        ],
        ['mempool', `${s.mempool.size} transactions`],
        ['peers', s.peers.map((p) => `${p.name}${p.connected ? '' : ' (down)'}`).join(', ') || 'none'],
        ['QKD bits used', s.qkdBitsConsumed],
      ]),
      ...s.links.map(
        (l) =>
          `  link ${l.peer}: ${l.state}${l.alarm ? ' ALARM' : ''}, buffer ${l.bufferBits} b, QBER ${l.qber === null ? '–' : `${(l.qber * 100).toFixed(1)}%`}, fallbacks ${l.fallbacks}`,
      ),
    ].join('\n'),
  );
  return 0;
}

export const BENCH_USAGE = `usage: qledger bench <suite>   (source checkout only; prints JSON lines)
  suites: consensus, consensus-sweep, crypto, kme, ledger, pipeline, qrng (docs/benchmarks in each doc)`;

/** \`qledger bench SUITE\`: runs the repository's bench runner (bench/ is not shipped in packages). */
export async function benchCommand(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    console.log(BENCH_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv.length > 1) throw new CliError(`unexpected argument ${JSON.stringify(argv[1])}`, 2);
  // src/cli and dist/cli both sit four levels below the repository root.
  const runner = new URL('../../../../bench/src/run.ts', import.meta.url).pathname;
  if (!existsSync(runner))
    throw new CliError('qledger bench needs a source checkout (bench/src/run.ts not found)');
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', runner, argv[0]!], {
    stdio: 'inherit',
  });
  return r.status ?? 1;
}
