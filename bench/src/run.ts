/** `npm run bench -- <name>`: runs one benchmark suite and prints JSON lines. */
import { BenchConfigError } from './format.js';

// Imported when chosen: a suite reads its knobs from the environment as it loads, and a bad
// one is reported in one line below, not as a stack trace from an import.
const SUITES: Record<string, () => Promise<void>> = {
  consensus: async () => (await import('./consensus.js')).benchConsensus(),
  'consensus-sweep': async () => (await import('./sweep.js')).benchSweep(),
  crypto: async () => (await import('./crypto.js')).benchCrypto(),
  kme: async () => (await import('./kme.js')).benchKme(),
  ledger: async () => (await import('./ledger.js')).benchLedger(),
  pipeline: async () => (await import('./pipeline.js')).benchPipeline(),
  qrng: async () => (await import('./qrng.js')).benchQrng(),
};

const name = process.argv[2];
const suite = name === undefined ? undefined : SUITES[name];
if (!suite) {
  console.error(`usage: npm run bench -- <${Object.keys(SUITES).join('|')}>`);
  process.exit(2);
}
try {
  await suite();
} catch (e) {
  if (!(e instanceof BenchConfigError)) throw e;
  console.error(`bench: ${e.message}`);
  process.exit(2);
}
