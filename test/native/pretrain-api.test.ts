// `pretrain` from the package's entry (package.json "exports" → dist/index.js), as a library user imports it: it was not
// exported at all (lib/index.ts had `dpzo train`'s trainer, not `dpzo pretrain`'s), so a program could only reach it
// through a deep path the package does not export. A tiny run cancelled after 3 steps and resumed through the API ends
// with the weights of the run never interrupted.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../helpers/checkpoints.js';
import { ROOT } from '../helpers/cli.js';
import { writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-pretrain-api-');
afterAll(() => tmp.cleanup());

describe('pretrain from the package entry', () => {
  it('is exported, and a run cancelled then resumed through it ends as the uninterrupted run', { timeout: 60_000 }, () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: { '.': { default: string } } };
    const entry = join(ROOT, pkg.exports['.'].default);
    const model = writeTinyModel(join(tmp.dir, 'model'));
    const train = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 14, 1);
    const held = writeCyclesJsonl(join(tmp.dir, 'eval.jsonl'), 4, 2);
    const out = join(tmp.dir, 'out');
    const script = `
      const { loadModel, loadDataset, pretrain } = await import(${JSON.stringify(entry)});
      const run = async (o) => {
        const model = await loadModel(${JSON.stringify(model)}, { threads: 1, dtype: 'float32' });
        const data = (f) => loadDataset(f, { task: { kind: 'tokens' }, modelDir: ${JSON.stringify(model)}, config: model.config });
        try {
          const report = await pretrain(model, { train: data(${JSON.stringify(train)}), eval: data(${JSON.stringify(held)}), steps: 7, batchSize: 4, lr: 0.03, seed: 3, ...o });
          return { report, hash: await model.weightsHash() };
        } finally {
          model.dispose();
        }
      };
      const whole = await run({});
      const controller = new AbortController();
      const cut = await run({ outDir: ${JSON.stringify(out)}, signal: controller.signal, onStep: (s) => { if (s.step === 2) controller.abort(); } });
      const resumed = await run({ resume: ${JSON.stringify(out)} });
      process.stdout.write(JSON.stringify({ whole, cut, resumed }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    type Run = { report: { stopReason: string; steps: number; resumedFrom: number; checkpoints: string[]; trainLoss: number[] }; hash: string };
    const { whole, cut, resumed } = JSON.parse(r.stdout) as Record<'whole' | 'cut' | 'resumed', Run>;
    expect(cut.report).toMatchObject({ stopReason: 'cancelled', steps: 3, checkpoints: [join(out, 'checkpoint-3')] });
    expect(cut.hash).not.toBe(whole.hash);
    expect(resumed.report).toMatchObject({ stopReason: 'completed', steps: 7, resumedFrom: 3, trainLoss: whole.report.trainLoss });
    expect(resumed.hash).toBe(whole.hash);
  });
});
