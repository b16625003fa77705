// prepareRun({ resume: true }) with a config whose data fields differ from run.json's: the plan does not
// carry them (with a fixed sampling rate not even N), so the resumed run trained on other examples than
// the run it continued. They are refused, naming the field; threads and device may change.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';

import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { readTrajectory } from '../../../lib/dpzo/index.js';
import { prepareRun } from '../../../lib/dpzo/session.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-resume-config-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 40, 1);

describe('prepareRun with resume', () => {
  it('refuses a config whose data fields differ from the run’s, and resumes with the same ones (other threads allowed)', async () => {
    const out = join(tmp.dir, 'run');
    const dpzoHome = join(tmp.dir, 'home');
    const cfg = { model: p.model, data: p.train, task: 'tokens', epsilon: 8, delta: 1e-5, accountant: 'rdp', sampleRate: 0.25, batchSize: 5, limit: 20, steps: 4, lr: 1e-3, out, threads: 1 };
    const first = await prepareRun(parseRunConfig(cfg, 'test'), { dpzoHome });
    const ac = new AbortController();
    await first.trainer.train({ signal: ac.signal, onStep: (s) => void (s.step === 1 && ac.abort()) });
    first.model.dispose();
    expect(readTrajectory(out).lines).toHaveLength(2);

    // the first 10 examples instead of 20: the plan (q, B, no N) is the same, the training set is not
    for (const [patch, field] of [
      [{ limit: 10 }, 'limit'],
      [{ maxLength: 16 }, 'maxLength'],
      [{ labelsField: 'targets' }, 'labelsField'],
    ] as const) {
      const resumed = prepareRun(parseRunConfig({ ...cfg, ...patch }, 'test'), { resume: true, dpzoHome }).then((r) => r.trainer.train().finally(() => r.model.dispose()));
      await expect(resumed, field).rejects.toMatchObject({
        code: 'ERR_RUN_MISMATCH',
        message: expect.stringMatching(new RegExp(`\\b${field}\\b`)),
      });
    }
    expect(readTrajectory(out).lines).toHaveLength(2);

    const same = await prepareRun(parseRunConfig({ ...cfg, threads: 2 }, 'test'), { resume: true, dpzoHome });
    const report = await same.trainer.train();
    same.model.dispose();
    expect(report.stopReason).toBe('completed');
    expect(readTrajectory(out).lines).toHaveLength(4);
  });
});
