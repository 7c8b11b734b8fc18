/**
 * The `qledger` command: `selftest`, `chain …` and `pki init` so far; `devnet`, `node`, `kme`… arrive
 * with their issues. Failures print one line on stderr; exit 2 for usage errors, 1 otherwise.
 */
import { QledgerError } from '@qledger/core';
import { CHAIN_USAGE, chainCommand } from './chain.js';
import { CliError } from './errors.js';
import { PKI_USAGE, pkiCommand } from './pki.js';
import { selftest } from './selftest.js';

const USAGE = `usage: qledger <command> [options]
  selftest [--json]          check every algorithm and the Toeplitz MAC on this machine
  chain …                    create, verify, inspect, export and import a chain (qledger chain --help)
  pki init --out DIR         development CA and certificates for KMEs, SAEs and validators`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h') {
    console.log(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'chain') return chainCommand(rest);
  if (cmd === 'pki') return pkiCommand(rest);
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
        process.argv[2] === 'chain' ? CHAIN_USAGE : process.argv[2] === 'pki' ? PKI_USAGE : USAGE,
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
