/**
 * State keys. Names and dataset ids match NAME_RE, which excludes ':', so every key below is
 * unambiguous; free text (a trust target) only ever comes last.
 */
export const STATE_KEYS = {
  params: 'params',
  chain: 'chain',
  validator: (name: string) => `val:${name}`,
  /** The validators' names in genesis order. */
  validatorSet: 'validators',
  /** A validator's beacon commitment for an epoch, then its revealed value (ledger/beacon.ts). */
  beaconCommit: (epoch: number, validator: string) => `bc:${epoch}:${validator}`,
  beaconReveal: (epoch: number, validator: string) => `br:${epoch}:${validator}`,
  /** An epoch's leader-order seed, fixed at the end of the epoch before. */
  beaconSeed: (epoch: number) => `bs:${epoch}`,
  identity: (name: string) => `id:${name}`,
  seq: (name: string) => `seq:${name}`,
  trust: (name: string) => `trust:${name}`,
  trustEvent: (from: string, user: string, action: string, target: string) =>
    `tr:${from}:${user}:${action}:${target}`,
  dataset: (id: string) => `ds:${id}`,
  datasetVerifier: (id: string, verifier: string) => `dsv:${id}:${verifier}`,
} as const;

/** The kind of a state key: the text before the first ':' (or the whole key). */
export function keyNamespace(key: string): string {
  const i = key.indexOf(':');
  return i < 0 ? key : key.slice(0, i);
}
