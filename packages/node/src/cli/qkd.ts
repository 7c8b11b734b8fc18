/**
 * `qledger qkd-net --config FILE`: the whole simulated QKD network in one process.
 * `qledger kme --config FILE --site ID`: one KME; KMEs in separate processes keep their
 * key streams in step over mutual TLS on their peer ports.
 *
 * Both print one JSON line `{"event":"ready",…}` with every endpoint once listening, then one
 * JSON line per network event (alarms, cuts, unreachable peers). Keys never reach stdout.
 * The admin token comes from QLEDGER_KME_ADMIN_TOKEN, --admin-token-file, or is generated
 * into DATA/admin.token (mode 0600).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { NetworkSchema, startNetwork } from '@qledger/kme';
import { parseConfig } from '../config/errors.js';
import { parseCommand } from './args.js';
import { CliError } from './errors.js';

export const QKD_NET_USAGE = `usage: qledger qkd-net --config FILE [options]
       qledger kme --config FILE --site ID [options]
  --config FILE            network file: sites, SAEs, links, limits (docs/qkd.md)
  --site ID                (kme) the site this process serves
  --data DIR               key pools and records (default .qledger/qkd-net or .qledger/kme-ID)
  --memory                 keep nothing on disk (keys are lost on exit)
  --admin-token-file FILE  admin bearer token (else QLEDGER_KME_ADMIN_TOKEN, else DATA/admin.token)
  --speed N                simulated seconds per real second (overrides the config)
  --json                   JSON lines (the default when stdout is not a terminal)`;

const OPTIONS = {
  config: { type: 'string' },
  site: { type: 'string' },
  data: { type: 'string' },
  memory: { type: 'boolean', default: false },
  'admin-token-file': { type: 'string' },
  speed: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function readToken(file: string | undefined, dataDir: string | undefined): { token: string; file?: string } {
  if (file !== undefined) {
    let t: string;
    try {
      t = readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new CliError(`--admin-token-file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    if (t.length < 16)
      throw new CliError(`--admin-token-file ${file}: the token needs at least 16 characters`);
    return { token: t, file };
  }
  const env = process.env.QLEDGER_KME_ADMIN_TOKEN;
  if (env !== undefined) {
    if (env.trim().length < 16) throw new CliError('QLEDGER_KME_ADMIN_TOKEN needs at least 16 characters');
    return { token: env.trim() };
  }
  if (dataDir === undefined)
    throw new CliError('with --memory, give --admin-token-file or QLEDGER_KME_ADMIN_TOKEN', 2);
  const path = join(dataDir, 'admin.token');
  if (existsSync(path)) return { token: readFileSync(path, 'utf8').trim(), file: path };
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { token, file: path };
}

export async function qkdCommand(cmd: 'qkd-net' | 'kme', argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(argv, OPTIONS);
  if (v.help) {
    console.log(QKD_NET_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(positionals[0])}`, 2);
  if (!v.config) throw new CliError(`${cmd} needs --config FILE`, 2);
  if (cmd === 'kme' && !v.site) throw new CliError('kme needs --site ID', 2);
  if (cmd === 'qkd-net' && v.site)
    throw new CliError('--site is for qledger kme; qkd-net runs every site', 2);
  if (v.memory && v.data) throw new CliError('--memory and --data exclude each other', 2);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(v.config, 'utf8'));
  } catch (e) {
    throw new CliError(`--config ${v.config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let config = parseConfig(NetworkSchema, raw, '');
  if (v.speed !== undefined) {
    const speed = Number(v.speed);
    if (!(speed > 0 && speed <= 1e6)) throw new CliError('--speed must be a number in (0, 1e6]', 2);
    config = { ...config, speed };
  }
  if (cmd === 'kme' && !config.sites.some((s) => s.id === v.site))
    throw new CliError(`--site ${v.site}: no such site in ${v.config}`, 2);
  const dataDir = v.memory
    ? undefined
    : resolve(v.data ?? join('.qledger', cmd === 'kme' ? `kme-${v.site}` : 'qkd-net'));
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const admin = readToken(v['admin-token-file'], dataDir);

  // JSON lines for scripts and pipes; one readable line per event on a terminal.
  const json = v.json || process.stdout.isTTY !== true;
  const log = (o: Record<string, unknown>) => {
    const time = new Date().toISOString();
    if (json) return console.log(JSON.stringify({ time, ...o }));
    const { event, ...rest } = o;
    const fields = Object.entries(rest).map(
      ([k, x]) => `${k}=${typeof x === 'string' ? x : JSON.stringify(x)}`,
    );
    console.log(`${time.slice(11, 19)} ${String(event ?? 'event')} ${fields.join(' ')}`.trimEnd());
  };
  const net = await startNetwork({
    config,
    baseDir: dirname(resolve(v.config)),
    ...(dataDir ? { dataDir } : {}),
    ...(cmd === 'kme' ? { site: v.site! } : {}),
    adminToken: admin.token,
    onEvent: (e) => log({ ...e }),
    onFatal: (e) => {
      console.error(`qledger: key store failure, stopping: ${(e as Error).message}`);
      process.exit(1);
    },
  });
  log({
    event: 'ready',
    sites: net.sites,
    admin: net.admin,
    ...(admin.file ? { adminTokenFile: admin.file } : {}),
    dataDir: dataDir ?? null,
  });
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void net.stop().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  log({ event: 'stopped' });
  return 0;
}
