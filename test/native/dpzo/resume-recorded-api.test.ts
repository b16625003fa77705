// train({ resume }) through the API of a finished run: `dpzo train --resume` printed the report the run recorded and did
// nothing else, while the API replayed the whole trajectory, evaluated the model again and returned numbers computed again
// (for a run stopped at its budget, the same next release refused again). Now the API returns the recorded report, with
// nothing evaluated or written (finished-run.ts, shared with the CLI's rule), and the model holds the run's final weights
// (replayed as export replays them), as after any train().
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadRunConfig, prepareRun } from '../../../lib/dpzo/session.js';
import { planRelease, type TrainPlan } from '../../../lib/dpzo/options.js';
import { loadModel } from '../../../lib/model/model.js';
import type { Model } from '../../../lib/model/types.js';
import { epsilonOfSteps } from '../../../lib/privacy/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzoWithEnv } from '../../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-resume-recorded-api-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 40, 1);
writeCyclesJsonl(p.eval, 8, 2);
const home = join(tmp.dir, 'home');
const env = { DPZO_HOME: home };
const COMMON = ['--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--sample-rate', '0.25', '--batch-size', '5'];
const TRAIN = [...COMMON, '--limit', '20', '--steps', '4', '--threads', '1', '--eval', p.eval, '--eval-public', '--json'];

/** Every file under `dirs`, by path. */
function snapshot(dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of dirs)
    for (const f of readdirSync(d, { recursive: true, withFileTypes: true })) {
      if (f.isFile()) out[join(f.parentPath, f.name)] = readFileSync(join(f.parentPath, f.name), 'base64');
    }
  return out;
}

/** The calls a replay (update), an evaluation (perExampleLoss, generate) or a step would make of the model. */
const CALLS = ['update', 'perExampleLoss', 'generate', 'lossAndGradient', 'zoStep'] as const;

/** prepareRun of the run's own config with resume, counting the model's calls; the report and the counts. */
async function resumeThroughApi(out: string): Promise<{ report: unknown; calls: Record<string, number>; warnings: string[]; hash: string }> {
  const calls: Record<string, number> = {};
  const counting: typeof loadModel = async (...a) => {
    const m = await loadModel(...a);
    for (const k of CALLS) {
      const f = (m as unknown as Record<string, unknown>)[k];
      if (typeof f !== 'function') continue;
      (m as unknown as Record<string, unknown>)[k] = (...args: unknown[]) => {
        calls[k] = (calls[k] ?? 0) + 1;
        return (f as (...x: unknown[]) => unknown).apply(m, args);
      };
    }
    return m;
  };
  const { model, trainer } = await prepareRun(loadRunConfig(out), { resume: true, loadModel: counting, dpzoHome: home });
  const warnings: string[] = [];
  try {
    const report = await trainer.train({ onWarning: (w) => warnings.push(w), onEval: () => void (calls.onEval = (calls.onEval ?? 0) + 1) });
    return { report, calls, warnings, hash: await model.weightsHash() };
  } finally {
    model.dispose();
  }
}

describe('train({ resume }) of a finished run (API)', () => {
  it('a completed run: the recorded report, the final weights, nothing evaluated or written', { timeout: 120_000 }, async () => {
    const out = join(tmp.dir, 'completed');
    const t = await dpzoWithEnv(env, 'train', ...TRAIN, '--out', out);
    expect(t.status, t.stderr).toBe(0);
    // (the printed report names the chart the CLI drew after recording it)
    const { curves: _curves, ...printed } = JSON.parse(t.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({ stopReason: 'completed', steps: 4 });
    const before = snapshot([out, home]);
    const r = await resumeThroughApi(out);
    expect(r.report).toEqual(printed);
    // the replay's updates only: no forward, evaluation or step
    expect(Object.keys(r.calls)).toEqual(['update']);
    expect(r.hash).toBe(printed.weightsHash);
    expect(r.warnings.at(-1)).toMatch(/is complete \(all 4 planned steps\): nothing to resume; the report it recorded is returned, the model holds the run's final weights$/);
    expect(snapshot([out, home])).toEqual(before);
    // the CLI's answer is the same report
    const cli = await dpzoWithEnv(env, 'train', '--resume', '--out', out, '--json');
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual(r.report);
  });

  it('a run stopped at its dataset budget: the recorded report, its ledgers untouched', { timeout: 120_000 }, async () => {
    // a dataset budget between ε after 2 and after 3 of the run's releases: it stops before step 2
    const dry = await dpzoWithEnv(env, 'train', ...TRAIN, '--out', join(tmp.dir, 'dry'), '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    const plan = (JSON.parse(dry.stdout) as { plan: TrainPlan }).plan;
    const eps = (k: number) => epsilonOfSteps(planRelease(plan) as Parameters<typeof epsilonOfSteps>[0], k, 1e-5, 'pld');
    const budget = (eps(2) + eps(3)) / 2;
    const out = join(tmp.dir, 'stopped');
    const t = await dpzoWithEnv({ DPZO_HOME: join(tmp.dir, 'home2') }, 'train', ...TRAIN, '--out', out, '--dataset-budget', String(budget));
    expect(t.status, t.stderr).toBe(0);
    // (the printed report names the chart the CLI drew after recording it)
    const { curves: _curves, ...printed } = JSON.parse(t.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({ stopReason: 'budget', steps: 2, plannedSteps: 4 });
    const before = snapshot([out, join(tmp.dir, 'home2')]);
    const calls: Record<string, number> = {};
    let hash = '';
    const r = await (async () => {
      const { model, trainer } = await prepareRun(loadRunConfig(out), { resume: true, dpzoHome: join(tmp.dir, 'home2') });
      const update = model.update.bind(model);
      model.update = (...a: Parameters<Model['update']>) => {
        calls.update = (calls.update ?? 0) + 1;
        return update(...a);
      };
      try {
        const report = await trainer.train({ onEval: () => void (calls.onEval = (calls.onEval ?? 0) + 1) });
        hash = await model.weightsHash();
        return report;
      } finally {
        model.dispose();
      }
    })();
    expect(r).toEqual(printed);
    expect(Object.keys(calls)).toEqual(['update']);
    expect(hash).toBe(printed.weightsHash);
    expect(snapshot([out, join(tmp.dir, 'home2')])).toEqual(before);
  });

  it('a finished run resumed with another plan is refused as a resume that trains is', { timeout: 60_000 }, async () => {
    const out = join(tmp.dir, 'completed');
    const config = { ...loadRunConfig(out), steps: 5 };
    const { model, trainer } = await prepareRun(config, { resume: true, dpzoHome: home });
    try {
      await expect(trainer.train()).rejects.toMatchObject({ code: 'ERR_RUN_MISMATCH', message: expect.stringMatching(/steps is 5, the run has 4/) });
    } finally {
      model.dispose();
    }
  });
});
