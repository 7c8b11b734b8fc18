/**
 * The `qledger` command: `devnet`, `node`, `keys gen`, `tx`, `block`, `status`, `bench`, `selftest`, `chain …`, `pki init`, `qkd-net` and `kme`. Failures print one line on stderr; exit 2 for usage errors, 1 otherwise.
 */
import { QledgerError } from '@qledger/core';
import { CHAIN_USAGE, chainCommand } from './chain.js';
import {
  BENCH_USAGE,
  BLOCK_USAGE,
  benchCommand,
  blockCommand,
  KEYS_USAGE,
  keysCommand,
  STATUS_USAGE,
  statusCommand,
  TX_USAGE,
  txCommand,
} from './client.js';
import { DEVNET_USAGE, devnetCommand } from './devnet.js';
import { CliError } from './errors.js';
import { NODE_USAGE, nodeCommand } from './node.js';
import { PKI_USAGE, pkiCommand } from './pki.js';
import { QKD_NET_USAGE, qkdCommand } from './qkd.js';
import { selftest } from './selftest.js';

const USAGE = `usage: qledger <command> [options]
  devnet [--dir DIR]         4 validators, a simulated QKD network and the dashboard (qledger devnet --help)
  node --config FILE         one validator
  keys gen --alg ALG --out F a signing key (and --kem KEM) for an identity or a validator
  tx send|get …              sign and submit a transaction, or show one (qledger tx --help)
  block get REF              a block by height, hash or latest
  status                     a validator's height, consensus, peers and QKD links
  bench SUITE                a benchmark suite, JSON lines (source checkout)
  selftest [--json]          check every algorithm and the Toeplitz MAC on this machine
  chain …                    create, verify, inspect, export and import a chain (qledger chain --help)
  pki init --out DIR         development CA and certificates for KMEs, SAEs and validators
  qkd-net --config FILE      the simulated QKD network (ETSI 014 KMEs, links, relay) in one process
  kme --config FILE --site ID  one KME of that network (KMEs in other processes stay in sync)`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    console.log(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'chain') return chainCommand(rest);
  if (cmd === 'keys') return keysCommand(rest);
  if (cmd === 'tx') return txCommand(rest);
  if (cmd === 'block') return blockCommand(rest);
  if (cmd === 'status') return statusCommand(rest);
  if (cmd === 'bench') return benchCommand(rest);
  if (cmd === 'devnet') return devnetCommand(rest);
  if (cmd === 'node') return nodeCommand(rest);
  if (cmd === 'pki') return pkiCommand(rest);
  if (cmd === 'qkd-net' || cmd === 'kme') return qkdCommand(cmd, rest);
  if (cmd === 'selftest') {
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log('usage: qledger selftest [--json]');
      return 0;
    }
    const unknown = rest.filter((a) => a !== '--json');
    if (unknown.length > 0) throw new CliError(`unknown option ${unknown[0]}`, 2);
    return selftest(rest.includes('--json'));
  }
  throw new CliError(`unknown command ${JSON.stringify(cmd)}`, 2);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof CliError) {
    console.error(`qledger: ${e.message}`);
    if (e.exitCode === 2)
      console.error(
        (
          {
            chain: CHAIN_USAGE,
            keys: KEYS_USAGE,
            tx: TX_USAGE,
            block: BLOCK_USAGE,
            status: STATUS_USAGE,
            bench: BENCH_USAGE,
            devnet: DEVNET_USAGE,
            node: NODE_USAGE,
            pki: PKI_USAGE,
            'qkd-net': QKD_NET_USAGE,
            kme: QKD_NET_USAGE,
          } as Record<string, string>
        )[process.argv[2] ?? ''] ?? USAGE,
      );
    process.exitCode = e.exitCode;
  } else if (e instanceof QledgerError) {
    console.error(`qledger: ${e.code}: ${e.message}`);
    process.exitCode = 1;
  } else {
    console.error(`qledger: ${(e as Error).message ?? String(e)}`);
    process.exitCode = 1;
  }
}
// A failed command must not linger on an open socket or timer (a validator whose API could not
// listen kept its peer links up, so the devnet neither saw it exit nor restarted it).
if (process.exitCode) setTimeout(() => process.exit(), 2000).unref();
