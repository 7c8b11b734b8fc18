/** packages/core must run in a browser: no node:* imports and no Node-only globals in its source. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src', import.meta.url));
const files = (function walk(d: string): string[] {
  return readdirSync(d).flatMap((n) =>
    statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : n.endsWith('.ts') ? [join(d, n)] : [],
  );
})(src);

const NODE_BUILTINS =
  /^(node:|fs$|path$|crypto$|os$|child_process$|net$|http$|https$|zlib$|stream$|buffer$|url$|util$)/;

test('core source imports no Node built-in and uses no Node-only global', () => {
  assert.ok(files.length > 10, `found ${files.length} files`);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      assert.doesNotMatch(m[1]!, NODE_BUILTINS, `${f} imports ${m[1]}`);
    }
    assert.doesNotMatch(text, /\b(Buffer|process|require|__dirname)\s*[.(]/, `${f} uses a Node-only global`);
    assert.doesNotMatch(text, /Math\.random\(/, `${f} uses Math.random`);
  }
});
