/**
 * How `qledger devnet` starts validator i: Node.js flags and the script. For measuring, the
 * QLEDGER_AB_* variables run half the validators differently in one devnet, so both halves
 * see the same load on the same machine at the same moment (this machine's speed drifts by a
 * fifth between runs, far more than most changes are worth):
 *
 * - QLEDGER_NODE_ARGS: extra Node.js flags for every validator (e.g. --cpu-prof, heap limits);
 * - QLEDGER_AB_MAIN: another checkout's `packages/node/src/cli/main.ts` (or built main.js),
 *   run by the B half instead of this one (the two must speak the same wire protocol);
 * - QLEDGER_AB_ARGS: Node.js flags for the B half instead of QLEDGER_NODE_ARGS;
 * - QLEDGER_AB_PARITY: 1 (default) puts the 2nd, 4th… validators in the B half, 0 the 1st,
 *   3rd…, so a bias of position can be cancelled by running both ways.
 */
import { existsSync } from 'node:fs';
import { CliError } from './errors.js';

export interface Launch {
  readonly flags: string[];
  readonly script: string;
  /** In the B half (QLEDGER_AB_MAIN or QLEDGER_AB_ARGS set, and this index's parity). */
  readonly b: boolean;
}

const words = (s: string | undefined) => s?.split(/\s+/).filter(Boolean) ?? [];

/** Checks the A/B variables once (CliError naming the variable), and answers per validator. */
export function launchPlan(env: NodeJS.ProcessEnv, main: string): (i: number) => Launch {
  const abMain = env.QLEDGER_AB_MAIN || undefined;
  if (abMain !== undefined && !existsSync(abMain))
    throw new CliError(`QLEDGER_AB_MAIN: no such file: ${abMain}`);
  const parityText = env.QLEDGER_AB_PARITY ?? '1';
  if (parityText !== '0' && parityText !== '1')
    throw new CliError(`QLEDGER_AB_PARITY must be 0 or 1, got ${JSON.stringify(parityText)}`);
  const parity = Number(parityText);
  const ab = abMain !== undefined || env.QLEDGER_AB_ARGS !== undefined;
  const flags = words(env.QLEDGER_NODE_ARGS);
  const bFlags = env.QLEDGER_AB_ARGS !== undefined ? words(env.QLEDGER_AB_ARGS) : flags;
  return (i) => {
    const b = ab && i % 2 === parity;
    return { flags: b ? bFlags : flags, script: (b && abMain) || main, b };
  };
}

/**
 * Node.js flags for validators that share a machine's cores with each other (a devnet):
 * `--single-threaded-gc` when there are at least as many validators as cores. V8 otherwise
 * gives each process helper threads that scavenge in parallel and mark and sweep
 * concurrently; that pays where a process has idle cores beside it, but four validators on two
 * cores have none, and the helpers only add runnable threads to a machine already full.
 * Measured on the 2-core machine (2026-12-03, six alternated pairs of whole devnets, quick
 * `npm run bench -- consensus`): 9–15 % less validator CPU per transaction in five pairs; the
 * sixth went the other way in a slow spell of the machine (docs/consensus.md, fifteenth
 * session). A validator on its own host keeps V8's default; in a devnet,
 * QLEDGER_NODE_ARGS=--no-single-threaded-gc (later flags win) brings it back.
 */
export function coLocatedFlags(validators: number, cores: number): string[] {
  return validators >= cores ? ['--single-threaded-gc'] : [];
}
