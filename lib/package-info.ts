// Where the installed package lives and which version it is: lib/ (sources)
// and dist/ (compiled) both sit one level below the package root.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root directory (the one holding package.json). */
export const packageRoot: string = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The `version` field of dpzo's package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
