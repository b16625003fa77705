// Issue 10.12/10.13: --zo-eps, --lr or --clip so large that θ ± ε_zo·z or θ − lr·ĝ·z leaves the float32 range used to
// fail mid-run (lr/clip after the first release had been recorded in the ledger: budget spent on a run that could
// only fail). makePlan now refuses them from the plan alone, naming the option; values near the edge still plan.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { makePlan } from '../../../lib/dpzo/index.js';
import { dpzo } from '../../helpers/cli.js';
import { tokenDataset } from '../../helpers/fake-model.js';
import { writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const base = { train: tokenDataset([3, 4, 5, 6]), epsilon: 8, delta: 1e-5, batchSize: 2, steps: 2, accountant: 'rdp' as const };

describe('the float32 reach of a plan', () => {
  it('refuses ε_zo, lr and C whose moves overflow float32, naming the option', () => {
    expect(() => makePlan({ ...base, zoEps: 1e300 })).toThrow(expect.objectContaining({ code: 'ERR_TRAIN_OPTION', message: expect.stringMatching(/^zoEps /) }));
    expect(() => makePlan({ ...base, zoEps: 1e38 })).toThrow(/^zoEps /); // 5.8e38 > 3.4e38
    expect(() => makePlan({ ...base, lr: 1e300 })).toThrow(/^lr \(1e\+300\)/);
    expect(() => makePlan({ ...base, clip: 1e300 })).toThrow(/from clip 1e\+300/);
    expect(() => makePlan({ ...base, mechanism: 'laplace', laplaceScale: 1e300, epsilon: 1e6 })).toThrow(/^lr /);
  });

  it('plans values near, but inside, the range', () => {
    expect(makePlan({ ...base, zoEps: 1e37 }).zoEps).toBe(1e37);
    expect(makePlan({ ...base, lr: 1e30 }).lr).toBe(1e30);
    expect(makePlan({ ...base, clip: 1e-300 }).clip).toBe(1e-300);
  });

  it('dpzo train --lr 1e300: one line, exit 2, and no run directory (no release spent)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpzo-reach-'));
    const model = writeTinyModel(join(dir, 'model'));
    const data = writeCyclesJsonl(join(dir, 'train.jsonl'), 20, 1);
    const out = join(dir, 'run');
    const r = await dpzo(
      'train',
      '--model',
      model,
      '--data',
      data,
      '--task',
      'tokens',
      '--epsilon',
      '8',
      '--delta',
      '1e-5',
      '--steps',
      '2',
      '--lr',
      '1e300',
      '--out',
      out,
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^dpzo: --lr \(1e\+300\) .*\[ERR_TRAIN_OPTION\]\n$/);
    expect(readdirSync(dir)).not.toContain('run');
    rmSync(dir, { recursive: true, force: true });
  });
});
