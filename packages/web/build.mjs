#!/usr/bin/env node
// Bundles the browser app (src/app/main.ts and @qledger/core/api from source) into
// dist/app with esbuild, and copies the page and its stylesheet. Takes well under a second,
// so `npm start` runs it every time.
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const here = new URL('.', import.meta.url).pathname;
const out = `${here}dist/app`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${here}src/app/main.ts`],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  conditions: ['source'],
  minify: true,
  sourcemap: true,
  outfile: `${out}/main.js`,
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) copyFileSync(`${here}src/app/${f}`, `${out}/${f}`);
