/**
 * `qledger node --config FILE`: one validator (consensus, peer links, QKD key buffers, REST
 * API). Logs are JSON lines (pino) on stdout; one `{"msg":"ready",…}` line names the API
 * URL and the peer port. SIGINT/SIGTERM stop it cleanly; a restart resumes from the store.
 */
import { pino } from 'pino';
import { startApi } from '../validator/api.js';
import { loadNodeConfig } from '../validator/config.js';
import { Validator } from '../validator/runtime.js';
import { parseCommand } from './args.js';
import { CliError } from './errors.js';

export const NODE_USAGE = `usage: qledger node --config FILE
  --config FILE   the validator's config (docs/configuration.md): name, genesis, key, store,
                  pki, listen, api, peers, kme, requireQkd, keyBuffer, consensus`;

export async function nodeCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(argv, {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (v.help) {
    console.log(NODE_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(positionals[0])}`, 2);
  if (!v.config) throw new CliError('node needs --config FILE', 2);
  const cfg = loadNodeConfig(v.config);
  const log = pino({ level: cfg.logLevel, base: { node: cfg.name } });
  const validator = await Validator.start(cfg, log);
  const api = await startApi(validator, cfg.api, log).catch(async (e: unknown) => {
    await validator.stop();
    throw new CliError(`api: cannot listen on ${cfg.api.host}:${cfg.api.port}: ${(e as Error).message}`, 1);
  });
  const addr = api.server.address() as { port: number };
  log.info(
    { api: `http://${cfg.api.host}:${addr.port}`, peerPort: validator.peerPort, height: validator.height },
    'ready',
  );
  const failed = await new Promise<boolean>((done) => {
    const stop = () => done(false);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    validator.events.once('fatal', () => done(true));
  });
  await api.close();
  await validator.stop();
  log.info({ height: validator.height }, 'stopped');
  return failed ? 1 : 0;
}
