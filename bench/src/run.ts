/** `npm run bench -- <name>`: runs one benchmark suite and prints JSON lines. */
import { benchConsensus } from './consensus.js';
import { benchCrypto } from './crypto.js';
import { benchKme } from './kme.js';
import { benchLedger } from './ledger.js';
import { benchQrng } from './qrng.js';
import { benchSweep } from './sweep.js';

const SUITES: Record<string, () => Promise<void>> = {
  consensus: benchConsensus,
  'consensus-sweep': benchSweep,
  crypto: benchCrypto,
  kme: benchKme,
  ledger: benchLedger,
  qrng: benchQrng,
};

const name = process.argv[2];
const suite = name === undefined ? undefined : SUITES[name];
if (!suite) {
  console.error(`usage: npm run bench -- <${Object.keys(SUITES).join('|')}>`);
  process.exit(2);
}
await suite();
