// A run's noise is set for the sensitivity Δ of its release (releaseSensitivity). dpzo before the K > N fix took a
// constant-time run with K = N slots to have Δ = C, where the neighbour with N + 1 examples can be cut (2C): its
// ledger records σ as if Δ = C were right, so its ε is understated. run.json records Δ now; a run without it is
// taken at the old rule, and where that rule differs from today's (K = N) resume and every reader of the
// ledger refuse it. Runs the rule never changed for resume as before, with no new field.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { DPZOTrainer, type TrainOptions } from '../../../lib/dpzo/index.js';
import { PrivacyLedger } from '../../../lib/privacy/index.js';
import { readTrajectory } from '../../../lib/dpzo/trajectory.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-release-sensitivity-');
afterAll(() => tmp.cleanup());

const N = 20;
const train = { ...tokenDataset(Array.from({ length: N }, (_, i) => 3 + (i % 40))), maxLength: 8 };
const theta0 = [0.5, -0.25, 0.125, 1, -1, 0.75];
const base: TrainOptions = { train, epsilon: 8, delta: 1e-5, accountant: 'rdp', batchSize: 4, steps: 4, lr: 0.01, clip: 1, zoEps: 1e-2 };

/** Trains 2 of the 4 steps into `name`, then, with `old`, removes run.json's releaseSensitivity as runs of an older dpzo lack it. */
async function halfRun(name: string, extra: Partial<TrainOptions>, old: boolean): Promise<string> {
  const runDir = join(tmp.dir, name);
  const first = new DPZOTrainer(new FakeModel(6, theta0), { ...base, ...extra, runDir });
  const stop = new AbortController();
  await first.train({ signal: stop.signal, onStep: (s) => void (s.step === 1 && stop.abort()) });
  expect(readTrajectory(runDir).lines).toHaveLength(2);
  const runFile = join(runDir, 'run.json');
  const run = JSON.parse(readFileSync(runFile, 'utf8')) as Record<string, unknown>;
  if (old) {
    delete run.releaseSensitivity;
    writeFileSync(runFile, JSON.stringify(run, null, 2) + '\n');
  }
  return runDir;
}

function resume(runDir: string, extra: Partial<TrainOptions>) {
  return new DPZOTrainer(new FakeModel(6, theta0), { ...base, ...extra, runDir, resume: true }).train();
}

async function ledgerLength(runDir: string): Promise<number> {
  const l = await PrivacyLedger.open(join(runDir, 'ledger.jsonl'), { readOnly: true, create: false });
  try {
    return l.length;
  } finally {
    await l.close();
  }
}

const UNDERSTATED = /run\.json: an older dpzo set its noise for sensitivity Δ = C = 1 .*K = N = 20 .*Δ = 2C = 2.*under-reports ε/;

describe('a run made when K = N was taken for Δ = C', () => {
  it('records Δ in run.json, and an old K = N run without it is refused by resume, with nothing changed', async () => {
    const kn = { constantTimeSteps: N };
    const fresh = await halfRun('kn-new', kn, false);
    expect(JSON.parse(readFileSync(join(fresh, 'run.json'), 'utf8')).releaseSensitivity).toBe(2);

    const old = await halfRun('kn-old', kn, true);
    const ledgerBefore = readFileSync(join(old, 'ledger.jsonl'), 'utf8');
    await expect(resume(old, kn)).rejects.toMatchObject({ code: 'ERR_RUN_CORRUPT', message: expect.stringMatching(UNDERSTATED) });
    expect(readFileSync(join(old, 'ledger.jsonl'), 'utf8')).toBe(ledgerBefore);
    expect(readTrajectory(old).lines).toHaveLength(2);

    // the run made with today's rule resumes to its planned steps
    const report = await resume(fresh, kn);
    expect(report.stopReason).toBe('completed');
    expect(await ledgerLength(fresh)).toBe(4);
  });

  it('refuses to account or report the old run’s ledger: its ε would be understated', async () => {
    const old = join(tmp.dir, 'kn-old');
    for (const args of [
      ['account', '--ledger', old],
      ['account', '--ledger', join(old, 'ledger.jsonl'), '--json'],
      ['report', old],
    ]) {
      const r = await dpzo(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(UNDERSTATED);
      expect(r.stderr).toMatch(/\[ERR_RUN_CORRUPT\]$/m);
    }
  });

  for (const [name, extra] of [
    ['not constant-time', {}],
    ['K > N (no cut: Δ = C then and now)', { constantTimeSteps: N + 1 }],
    ['K < N (Δ = 2C then and now)', { constantTimeSteps: N - 5 }],
  ] as [string, Partial<TrainOptions>][]) {
    it(`resumes an old run the rule never changed for (${name}), without the new field`, async () => {
      const old = await halfRun(`old-${name.split(' ')[0]}-${extra.constantTimeSteps ?? 0}`, extra, true);
      const report = await resume(old, extra);
      expect(report.stopReason).toBe('completed');
      expect(await ledgerLength(old)).toBe(4);
      const r = await dpzo('account', '--ledger', old, '--json');
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ releases: 4 });
    });
  }
});
