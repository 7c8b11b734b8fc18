/**
 * `qledger devnet`: everything on one machine. A simulated QKD network (one KME per site,
 * in this process: the reference's 4-site square with trusted relay for the diagonals, or
 * a full mesh), and one validator process per site on embedded storage, all under one
 * directory (default ./.qledger). A validator that dies is restarted; Ctrl-C stops
 * everything cleanly; running it again resumes from disk. Keys, certificates and the
 * genesis are made on the first run and kept.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nobleBackend, toHex } from '@qledger/core';
import { NetworkSchema, PROFILES, startNetwork } from '@qledger/kme';
import { webAppDir } from '@qledger/web';
import { startDashboard } from '../devnet/dashboard.js';
import { freePorts } from '../http/ports.js';
import { writeDevPki } from '../pki/dev.js';
import { readSigningKey, writeSigningKey } from '../validator/keyfile.js';
import { parseCommand } from './args.js';
import { coLocatedFlags, launchPlan } from './devnet-launch.js';
import { CliError } from './errors.js';

export const DEVNET_USAGE = `usage: qledger devnet [options]
  --dir DIR           where everything lives (default .qledger); a second run resumes
  --validators N      validators, one per QKD site (default 4; fixed at the first run)
  --topology T        square (default: ring of sites, trusted relay for the rest) or mesh
  --profile P         QKD device profile of every link (default qnu-armos)
  --km N              fibre length of every link in km (default 20)
  --epoch-length N    heights per leader-order epoch (default 16; fixed at the first run)
  --port N            the dashboard's port; validator i serves its API on N+i (default 8080; 0: any free ports)
  --require-qkd       validators never fall back to ML-KEM keys
  --json              print one JSON line per event instead of text`;

const OPTIONS = {
  dir: { type: 'string' },
  validators: { type: 'string' },
  topology: { type: 'string' },
  profile: { type: 'string' },
  km: { type: 'string' },
  'epoch-length': { type: 'string' },
  port: { type: 'string' },
  'require-qkd': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function intFlag(name: string, v: string | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CliError(`--${name} must be an integer in [${min}, ${max}]`, 2);
  return n;
}

export async function devnetCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(argv, OPTIONS);
  if (v.help) {
    console.log(DEVNET_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(positionals[0])}`, 2);
  const topology = v.topology ?? 'square';
  if (topology !== 'square' && topology !== 'mesh')
    throw new CliError('--topology must be square or mesh', 2);
  const profile = v.profile ?? 'qnu-armos';
  if (!(profile in PROFILES))
    throw new CliError(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`, 2);
  const km = Number(v.km ?? 20);
  if (!(km >= 0 && km <= 400)) throw new CliError('--km must be a number in [0, 400]', 2);
  const basePort = intFlag('port', v.port, 8080, 0, 65000);
  const epochLength = intFlag('epoch-length', v['epoch-length'], 16, 4, 1_000_000);
  // Before anything is made or started: a wrong A/B variable stops here.
  const plan = launchPlan(
    process.env,
    fileURLToPath(new URL(`./main${extname(fileURLToPath(import.meta.url))}`, import.meta.url)),
  );
  const dir = resolve(v.dir ?? '.qledger');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const json = v.json;
  const say = (event: string, text: string, extra: Record<string, unknown> = {}) =>
    console.log(json ? JSON.stringify({ event, ...extra }) : text);

  // ---- first run: validators, keys, PKI, genesis (kept) --------------------------------------
  const genesisFile = join(dir, 'genesis.json');
  let names: string[];
  if (existsSync(genesisFile)) {
    names = (
      JSON.parse(readFileSync(genesisFile, 'utf8')) as { validators: { name: string }[] }
    ).validators.map((x) => x.name);
    if (v.validators !== undefined && Number(v.validators) !== names.length)
      throw new CliError(
        `--validators: ${dir} already holds a ${names.length}-validator devnet (use another --dir)`,
        2,
      );
  } else {
    const n = intFlag('validators', v.validators, 4, 1, 16);
    names = Array.from({ length: n }, (_, i) => `v${i + 1}`);
  }
  const sites = names.map((_, i) => `kme-${String.fromCharCode(97 + i)}`);
  /**
   * Whether sites i and j share a QKD link: every pair on a mesh, neighbours on the square's
   * ring. Other pairs get their key by trusted-node relay (peers[].relayed).
   */
  const linked = (i: number, j: number): boolean => {
    const [lo, hi] = i < j ? [i, j] : [j, i];
    return topology === 'mesh' || hi === lo + 1 || (lo === 0 && hi === sites.length - 1 && sites.length > 2);
  };
  const pkiDir = join(dir, 'pki');
  if (!existsSync(join(pkiDir, 'ca.crt'))) {
    say('setup', `creating a development PKI in ${pkiDir}`);
    await writeDevPki(pkiDir, { kmes: sites, saes: names, validators: names });
  }
  const keysDir = join(dir, 'validators');
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const keys = names.map((name) => {
    const f = join(keysDir, `${name}.key`);
    return existsSync(f) ? readSigningKey(f) : writeSigningKey(f, 'ml-dsa-44', nobleBackend);
  });
  if (!existsSync(genesisFile)) {
    const genesis = {
      chainId: 'devnet',
      time: new Date().toISOString(),
      // Short epochs, so the beacon's leader order takes over within a few dozen blocks.
      params: { epochLength },
      validators: names.map((name, i) => ({ name, sigAlg: keys[i]!.alg, sigKey: toHex(keys[i]!.publicKey) })),
    };
    writeFileSync(genesisFile, `${JSON.stringify(genesis, null, 2)}\n`);
  }

  // ---- the QKD network (in this process) -------------------------------------------------------
  const links: { id: string; a: string; b: string; profile: string; lengthKm: number }[] = [];
  for (let i = 0; i < sites.length; i++)
    for (let j = i + 1; j < sites.length; j++) {
      if (linked(i, j))
        links.push({
          id: `${sites[i]!.slice(4)}-${sites[j]!.slice(4)}`,
          a: sites[i]!,
          b: sites[j]!,
          profile,
          lengthKm: km,
        });
    }
  const netConfig = NetworkSchema.parse({
    pki: pkiDir,
    durability: 'normal',
    sites: sites.map((id, i) => ({ id, saes: [names[i]!] })),
    links,
  });
  const kmeDir = join(dir, 'kme');
  mkdirSync(kmeDir, { recursive: true, mode: 0o700 });
  const tokenFile = join(kmeDir, 'admin.token');
  if (!existsSync(tokenFile)) {
    writeFileSync(tokenFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(tokenFile, 0o600);
  }
  const net = await startNetwork({
    config: netConfig,
    baseDir: dir,
    dataDir: kmeDir,
    adminToken: readFileSync(tokenFile, 'utf8').trim(),
    onFatal: (e) => {
      console.error(`qledger: KME store failure: ${(e as Error).message}`);
      process.exit(1);
    },
  });

  // ---- validator processes -------------------------------------------------------------------
  const free = await freePorts(names.length * 2);
  const ports = names.map((_, i) => ({
    api: basePort === 0 ? free[2 * i]! : basePort + 1 + i,
    peer: free[2 * i + 1]!,
  }));
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const configs = names.map((name, i) => {
    const file = join(keysDir, `${name}.json`);
    const cfg = {
      name,
      genesis: genesisFile,
      key: join(keysDir, `${name}.key`),
      store: join(dir, 'data', `${name}.sqlite`),
      pki: pkiDir,
      listen: { host: '127.0.0.1', port: ports[i]!.peer },
      api: { host: '127.0.0.1', port: ports[i]!.api },
      // A peer whose site shares no QKD link with this one gets its key by trusted-node relay.
      peers: names.flatMap((p, j) =>
        j === i ? [] : [{ name: p, host: '127.0.0.1', port: ports[j]!.peer, relayed: !linked(i, j) }],
      ),
      kme: { url: net.sites[sites[i]!]!.etsi, name: sites[i] },
      requireQkd: v['require-qkd'],
    };
    writeFileSync(file, `${JSON.stringify(cfg, null, 2)}\n`);
    return file;
  });
  // Validators sharing this machine's cores: V8 flags for that (devnet-launch.ts).
  const shared = coLocatedFlags(names.length, availableParallelism());
  const children = new Map<string, ChildProcess>();
  let dashboardApp: { close(): Promise<unknown> } | undefined;
  let stopping = false;
  const launch = (i: number) => {
    const name = names[i]!;
    const out = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    // QLEDGER_NODE_ARGS and the A/B variables (devnet-launch.ts).
    const { flags, script } = plan(i);
    const child = spawn(
      process.execPath,
      [...process.execArgv, ...shared, ...flags, script, 'node', '--config', configs[i]!],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    children.set(name, child);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      say('exited', `validator ${name} exited (${signal ?? code}); restarting`, { name, code, signal });
      setTimeout(() => {
        if (stopping) return;
        launch(i);
        say('restarted', `validator ${name} restarted (pid ${children.get(name)?.pid})`, {
          name,
          pid: children.get(name)?.pid,
        });
      }, 500);
    });
    return child;
  };
  for (let i = 0; i < names.length; i++) launch(i);

  const stopAll = async () => {
    stopping = true;
    await Promise.all(
      [...children.values()].map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
            c.once('exit', () => {
              clearTimeout(t);
              res();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    await dashboardApp?.close();
    await net.stop();
  };

  // Interrupted while starting: stop what was started (the validators would outlive us).
  const early = () => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', early);
  process.once('SIGTERM', early);

  const apis = ports.map((p) => `http://127.0.0.1:${p.api}`);
  const adminToken = readFileSync(tokenFile, 'utf8').trim();
  const dashboard = await startDashboard({
    host: '127.0.0.1',
    port: basePort,
    appDir: webAppDir(),
    validators: names.map((name, i) => ({ name, site: sites[i]!, api: apis[i]! })),
    kmes: net.kmes,
    adminToken,
  }).catch(async (e) => {
    await stopAll();
    throw new CliError(`the dashboard cannot listen on port ${basePort}: ${(e as Error).message}`);
  });
  dashboardApp = dashboard.app;
  const deadline = Date.now() + 120_000;
  for (const url of apis) {
    for (;;) {
      if (stopping) break;
      const ok = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) {
        await stopAll();
        throw new CliError(`validator at ${url} did not become ready; see ${logDir}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const validators = names.map((name, i) => ({
    name,
    api: apis[i],
    pid: children.get(name)?.pid,
    site: sites[i],
  }));
  if (json)
    console.log(
      JSON.stringify({
        event: 'ready',
        dir,
        validators,
        web: dashboard.url,
        kme: { admin: net.admin, sites: net.sites, tokenFile },
      }),
    );
  else {
    console.log(
      `qledger devnet: ${names.length} validators, ${topology} QKD network (${profile}, ${km} km links)`,
    );
    console.log(`  dashboard ${dashboard.url}/   (devnet controls: admin token in ${tokenFile})`);
    for (const x of validators) console.log(`  ${x.name}  API ${x.api}/v1/status   (KME ${x.site})`);
    console.log(`  QKD admin API ${net.admin}/admin/v1/network  (token in ${tokenFile})`);
    console.log(`  logs in ${logDir}; Ctrl-C stops everything, running again resumes`);
  }
  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  say('stopping', 'stopping…');
  await stopAll();
  say('stopped', 'stopped');
  return 0;
}
