#!/usr/bin/env node
// The `dpzo` command: runs the compiled CLI (dist/), or the TypeScript sources
// through tsx in a development checkout that has not been compiled.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
if (existsSync(compiled)) {
  const { main } = await import(pathToFileURL(compiled).href);
  await main(process.argv);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(pathToFileURL(join(root, 'lib', 'cli', 'main.ts')).href);
  await main(process.argv);
}
