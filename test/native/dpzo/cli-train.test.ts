// `dpzo train` as a user runs it: a private run on a tiny model writes a run
// directory whose metrics hold only released values, prints the report as JSON,
// `--dry-run` releases nothing, and bad input is one line on stderr, exit 2.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-cli-train-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 200, 1);
writeCyclesJsonl(p.eval, 40, 2);
const common = ['--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp', '--batch-size', '20', '--lr', '1e-2', '--zo-eps', '1e-2', '--threads', '1'];

describe('dpzo train', () => {
  it('trains, reports ε and held-out loss, and logs released values only', async () => {
    const out = join(tmp.dir, 'run');
    const r = await dpzo('train', ...common, '--steps', '6', '--eval', p.eval, '--eval-public', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.steps).toBe(6);
    expect(report.private).toBe(true);
    expect(report.epsilon.rdp).toBeLessThanOrEqual(8);
    expect(report.evalBefore.loss).toBeGreaterThan(0);
    expect(report.privateDiagnostics).toBeUndefined();
    for (const f of ['run.json', 'trajectory.jsonl', 'ledger.jsonl', 'metrics.jsonl']) expect(existsSync(join(out, f)), f).toBe(true);
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.type === 'step');
    expect(steps).toHaveLength(6);
    for (const m of steps) expect(Object.keys(m).sort()).toEqual(['epsilon', 'epsilonRdp', 'gHat', 'lr', 'step', 'type']);
  });

  it('--private-diagnostics adds the private statistics, with a warning', async () => {
    const out = join(tmp.dir, 'run-diag');
    const r = await dpzo('train', ...common, '--steps', '3', '--out', out, '--private-diagnostics', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/outside the privacy guarantee/);
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.type === 'step');
    expect(typeof steps[0].private.batchSize).toBe('number');
  });

  it('--dry-run prints the calibrated noise and releases nothing', async () => {
    const out = join(tmp.dir, 'run-dry');
    const r = await dpzo('train', ...common, '--steps', '50', '--out', out, '--dry-run', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.dryRun).toBe(true);
    expect(j.plan.noiseMultiplier).toBeGreaterThan(0);
    expect(existsSync(join(out, 'ledger.jsonl'))).toBe(false);
  });

  it('bad input: one line on stderr, exit 2, no run directory', async () => {
    const out = join(tmp.dir, 'run-bad');
    for (const extra of [['--steps', '5', '--epsilon', '-1'], ['--steps', '5', '--data', join(tmp.dir, 'missing.jsonl')], ['--steps', '100000', '--epsilon', '0.00001']]) {
      const r = await dpzo('train', ...common, '--out', out, ...extra);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(existsSync(join(out, 'ledger.jsonl'))).toBe(false);
    }
  });
});
