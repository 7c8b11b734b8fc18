/**
 * @qledger/web: the browser app (explorer, QKD network view, devnet controls), bundled by
 * `build.mjs` into `dist/app`. Node-side, this module only says where the built app is, so
 * the devnet can serve it.
 */
import { fileURLToPath } from 'node:url';

/** The directory of the built app (index.html, main.js, style.css). */
export function webAppDir(): string {
  // src/index.ts and dist/index.js both sit one level below the package root.
  return fileURLToPath(new URL('../dist/app', import.meta.url));
}
