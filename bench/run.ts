// `npm run bench`: runs every suite in bench/ as its own process (so one
// suite's memory and threads don't disturb the next), in a fixed order. Each
// suite prints its table and writes bench/results/<suite>.json.
//
//   npm run bench [-- perturb forward]     (default: all suites)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { resultsDir } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['perturb', 'forward', 'privacy', 'train'];
const picked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const suites = picked.length ? picked : all;

let failed = 0;
for (const s of suites) {
  const file = join(here, `${s}.ts`);
  if (!existsSync(file)) {
    console.error(`bench: no suite '${s}' (have: ${all.join(', ')})`);
    failed++;
    continue;
  }
  console.log(`\n=== bench/${s}.ts`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench/${s}.ts exited with ${r.status ?? r.signal}`);
    failed++;
  }
}
console.log(`\nresults: ${resultsDir}/*.json`);
process.exitCode = failed ? 1 : 0;
