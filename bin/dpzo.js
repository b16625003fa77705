#!/usr/bin/env node
// The `dpzo` command: runs the compiled CLI (dist/, always present in the
// installed package). Only a development checkout that has not been compiled
// falls back to the TypeScript sources through tsx, a dev dependency.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
let entry = compiled;
if (!existsSync(compiled)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write('dpzo: dist/ is missing and tsx is not installed: run `npm run build:ts` [ERR_NOT_BUILT]\n');
    process.exit(2);
  }
  entry = join(root, 'lib', 'cli', 'main.ts');
}
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv);
