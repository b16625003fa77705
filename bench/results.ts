// defines: resultsDir, header and writeResults — where a bench's machine-readable results go
// (bench/results/<name>.json beside the scripts, whatever the working directory) and the fields most
// result files open with; bench/README.md and other tools read these files by name and field.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results, found from this file rather than the working directory. */
export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** When the results were written and on which CPU. */
export function header(): { date: string; cpu: string | undefined } {
  return { date: new Date().toISOString(), cpu: cpus()[0]?.model };
}

/**
 * Writes `data` to bench/results/<name>.json (indented JSON and a final newline) and returns the path;
 * prints `wrote <path>` unless `quiet` (train.ts never printed it).
 */
export function writeResults(name: string, data: object, { quiet = false } = {}): string {
  const out = join(resultsDir, `${name}.json`);
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(out, JSON.stringify(data, null, 2) + '\n');
  if (!quiet) console.log(`wrote ${out}`);
  return out;
}
