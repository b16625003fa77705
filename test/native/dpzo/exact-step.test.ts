// The exact step (issue 9): the forwards read θ ± εz at virtual points, so θ is written by the
// update alone. With lr 0 nothing is written at all, in every dtype (the old in-place walk moved
// 94% of F32 and nearly all BF16 weights); low-precision runs replay and export bit for bit, also
// across --resume; runs of the old walk format (dpzo-run/1) are refused where they cannot be honoured.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { exportRun } from '../../../lib/dpzo/index.js';
import { prepareRun } from '../../../lib/dpzo/session.js';
import { loadModel } from '../../../lib/index.js';
import type { WeightDType } from '../../../lib/model/types.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-exact-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 200, 1);

const base = { model: p.model, data: p.train, task: 'tokens' as const, epsilon: 8, delta: 1e-5, threads: 2, accountant: 'rdp' as const };

describe('the exact step', () => {
  for (const dtype of ['float32', 'float16', 'bfloat16'] as WeightDType[]) {
    it(`lr 0: θ is bit-identical after 100 steps (${dtype})`, async () => {
      const out = join(tmp.dir, `lr0-${dtype}`);
      const cfg = parseRunConfig({ ...base, dtype, out, steps: 100, batchSize: 10, directions: 2, lr: 0, zoEps: 1e-2 }, 'test');
      const { model, trainer } = await prepareRun(cfg);
      const before = await model.weightsHash();
      const report = await trainer.train();
      expect(report.steps).toBe(100);
      expect(await model.weightsHash()).toBe(before);
      model.dispose();
    });
  }

  for (const dtype of ['bfloat16', 'float16'] as WeightDType[]) {
    it(`a ${dtype} run exports bit for bit, also after --resume`, async () => {
      const out = join(tmp.dir, `resume-${dtype}`);
      const opts = { ...base, dtype, out, steps: 12, batchSize: 10, directions: 2, lr: 5e-3, zoEps: 1e-2, weightDecay: 0.1 };
      const first = await prepareRun(parseRunConfig(opts, 'test'));
      const controller = new AbortController();
      const r1 = await first.trainer.train({ signal: controller.signal, onStep: (s) => void (s.step === 4 && controller.abort()) });
      expect(r1.stopReason).toBe('cancelled');
      first.model.dispose();
      const second = await prepareRun(parseRunConfig(opts, 'test'), { resume: true });
      const r2 = await second.trainer.train();
      expect(r2.steps).toBe(12);
      const trained = await second.model.weightsHash();
      second.model.dispose();
      // the same run uninterrupted ends at the same weights
      const fresh = await loadModel(p.model, { threads: 1, dtype });
      const initial = await fresh.weightsHash();
      const exported = await exportRun(fresh, out, join(tmp.dir, `export-${dtype}`));
      fresh.dispose();
      expect(trained).not.toBe(initial);
      expect(exported.weightsHash).toBe(trained);
    });
  }

  it('an update refused for leaving the dtype range (released, never applied) is a void step: replay, export and --resume still hold', async () => {
    // float16 tops out at 65504: lr 1e12 passes the plan (it checks the float32 range) but step 0's update
    // |lr·ĝ·z| is refused by the core before it writes anything, after the release is in the ledger. The lr
    // must be far beyond the range: ĝ carries CSPRNG noise, and at lr 1e5 a draw with |ĝ| below about 0.1
    // fitted float16, applied step 0 and failed this test by chance (CI, stop 30)
    const out = join(tmp.dir, 'refused-f16');
    const opts = { ...base, dtype: 'float16' as const, out, steps: 4, batchSize: 10, directions: 2, lr: 1e12, zoEps: 1e-2 };
    const r = await prepareRun(parseRunConfig(opts, 'test'));
    const initial = await r.model.weightsHash();
    await expect(r.trainer.train()).rejects.toMatchObject({ code: 'ERR_NON_FINITE' });
    expect(await r.model.weightsHash()).toBe(initial);
    r.model.dispose();
    const lines = () => readFileSync(join(out, 'trajectory.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    const releases = () => readFileSync(join(out, 'ledger.jsonl'), 'utf8').trim().split('\n').length - 1;
    // the release stays counted; the trajectory says it was never applied
    expect(releases()).toBe(1);
    expect(lines()).toEqual([{ step: 0, void: true }]);
    const fresh = await loadModel(p.model, { threads: 1, dtype: 'float16' });
    const exported = await exportRun(fresh, out, join(tmp.dir, 'refused-export'));
    fresh.dispose();
    expect(exported).toMatchObject({ steps: 0, weightsHash: initial });
    // --resume replays the void step and goes on to step 1 (refused in turn: the lr is what it is)
    const second = await prepareRun(parseRunConfig(opts, 'test'), { resume: true });
    await expect(second.trainer.train()).rejects.toMatchObject({ code: 'ERR_NON_FINITE' });
    second.model.dispose();
    expect(releases()).toBe(2);
    expect(lines()).toEqual([
      { step: 0, void: true },
      { step: 1, void: true },
    ]);
  });

  it('runs of the old walk (dpzo-run/1): resume and low-precision replay are refused with a reason', async () => {
    const out = join(tmp.dir, 'legacy');
    const opts = { ...base, dtype: 'bfloat16' as const, out, steps: 2, batchSize: 10, lr: 1e-3 };
    const r = await prepareRun(parseRunConfig(opts, 'test'));
    await r.trainer.train();
    r.model.dispose();
    const runFile = join(out, 'run.json');
    const run = JSON.parse(readFileSync(runFile, 'utf8'));
    expect(run.format).toBe('dpzo-run/2');
    writeFileSync(runFile, JSON.stringify({ ...run, format: 'dpzo-run/1' }));
    await expect(prepareRun(parseRunConfig({ ...opts, steps: 4 }, 'test'), { resume: true }).then((x) => x.trainer.train())).rejects.toMatchObject({
      code: 'ERR_RUN_MISMATCH',
      message: expect.stringMatching(/in-place walk of an older dpzo/),
    });
    const fresh = await loadModel(p.model, { threads: 1, dtype: 'bfloat16' });
    await expect(exportRun(fresh, out, join(tmp.dir, 'legacy-export'))).rejects.toMatchObject({ code: 'ERR_RUN_MISMATCH', message: expect.stringMatching(/rounded its updates to nearest/) });
    fresh.dispose();
  });
});
