// Cross-checks the float64 TS reference against the independent numpy one
// (crosscheck_numpy.py) on every random checkpoint variant and dtype, and on
// stories260K. Needs python3 with numpy; not part of the vitest suite.
// Run: npx tsx test/reference/crosscheck.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { Rng } from '../helpers/prng.js';
import { readTensorsF64 } from '../helpers/safetensors.js';
import { RefModel } from './forward-f64.js';
import { STORIES260K } from '../helpers/shared.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, 'crosscheck_numpy.py');

function numpyLogits(dir: string, ids: number[]): number[][] {
  return JSON.parse(execFileSync('python3', [script, dir, ids.join(',')], { encoding: 'utf8', maxBuffer: 1 << 28 })) as number[][];
}

function maxRelDiff(a: Float64Array[], b: number[][]): number {
  let worst = 0;
  for (let t = 0; t < a.length; t++) {
    let scale = 0;
    for (const v of b[t]!) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < a[t]!.length; i++) worst = Math.max(worst, Math.abs(a[t]![i]! - b[t]![i]!) / scale);
  }
  return worst;
}

const tmp = makeTempDir();
let failures = 0;
try {
  const rng = new Rng(7);
  for (const [name, v] of Object.entries(VARIANTS)) {
    for (const dtype of ['F32', 'BF16', 'F16'] as const) {
      const ck = writeRandomCheckpoint(join(tmp.dir, `${name}-${dtype}`), { ...v, dtype, seed: 11, shards: dtype === 'F16' ? 2 : 1 });
      const ids = Array.from({ length: 17 }, () => rng.int(ck.config.vocab_size as number));
      const ref = new RefModel(ck.config, ck.tensors).logits(ids);
      const d = maxRelDiff(ref, numpyLogits(ck.dir, ids));
      const ok = d < 1e-12;
      if (!ok) failures++;
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} ${dtype} max rel diff ${d.toExponential(2)}`);
    }
  }
  const sdir = STORIES260K;
  const sm = new RefModel(
    JSON.parse(readFileSync(join(sdir, 'config.json'), 'utf8')) as Record<string, unknown>,
    readTensorsF64(join(sdir, 'model.safetensors')),
  );
  const ids = [1, 461, 401, 378, 455, 473, 456, 435];
  const d = maxRelDiff(sm.logits(ids), numpyLogits(sdir, ids));
  if (!(d < 1e-12)) failures++;
  console.log(`${d < 1e-12 ? 'ok  ' : 'FAIL'} stories260K max rel diff ${d.toExponential(2)}`);
} finally {
  tmp.cleanup();
}
process.exitCode = failures ? 1 : 0;
