/**
 * The signature checks a proposed block still needs. Most of its transactions were verified
 * when they were admitted; some were still queued for that check when the proposal arrived,
 * because gossip and the proposal race. Verifying those a second time cost 3–7 % of a loaded
 * validator's verifications, so a block waits for their admission check instead, and checks
 * itself only what was never admitted, and what admission refused or forgot meanwhile.
 */
import type { SigCheck, TxEnvelope } from '@qledger/core';

export interface BlockSigDeps {
  /** This validator verified this signature of this envelope already. */
  readonly verified: (env: TxEnvelope, c: SigCheck) => boolean;
  /** Settles when the admission check under way for this envelope is over (passed or not). */
  readonly admission: (env: TxEnvelope) => Promise<void> | undefined;
  /** First invalid index in `checks`, or −1 (the signature pool). */
  readonly check: (checks: readonly SigCheck[]) => Promise<number>;
}

export interface BlockSigResult {
  /** Index in the block of the first transaction with a bad signature, or −1. */
  readonly bad: number;
  /** Signatures checked here, and those left to their admission check. */
  readonly checked: number;
  readonly waited: number;
}

export async function checkBlockSignatures(
  txs: readonly TxEnvelope[],
  deferred: readonly SigCheck[],
  deps: BlockSigDeps,
): Promise<BlockSigResult> {
  const now: SigCheck[] = [];
  const later: SigCheck[] = [];
  const admissions = new Set<Promise<void>>();
  for (const c of deferred) {
    const env = txs[c.index]!;
    if (deps.verified(env, c)) continue;
    const admission = deps.admission(env);
    if (admission) {
      admissions.add(admission);
      later.push(c);
    } else now.push(c);
  }
  const bad = await deps.check(now);
  if (bad >= 0) return { bad: now[bad]!.index, checked: now.length, waited: 0 };
  if (later.length === 0) return { bad: -1, checked: now.length, waited: 0 };
  await Promise.all(admissions);
  // Refused on admission, or forgotten meanwhile: judged here, in the block's context.
  const rest = later.filter((c) => !deps.verified(txs[c.index]!, c));
  const bad2 = await deps.check(rest);
  return {
    bad: bad2 >= 0 ? rest[bad2]!.index : -1,
    checked: now.length + rest.length,
    waited: later.length - rest.length,
  };
}
