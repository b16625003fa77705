// Issue 11.2: with --sample-rate q (and --batch-size B as the public divisor) the dataset size N
// is never released nor recorded: a run on a 4,271-row file has the number 4271 nowhere in its
// run directory, its report, its --json output or its screen. With --batch-size alone, q = B/N
// and N is public (and said to be): the same check finds it, so the check can fail.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makePlan } from '../../../lib/dpzo/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { tokenDataset } from '../../helpers/fake-model.js';
import { writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-sample-rate-');
afterAll(() => tmp.cleanup());
const N = 4271;
const model = writeTinyModel(join(tmp.dir, 'model'));
const data = join(tmp.dir, 'train.jsonl');
writeFileSync(data, Array.from({ length: N }, (_, i) => JSON.stringify({ input_ids: [1, 2 + (i % 5), 3, 4] })).join('\n') + '\n');
// the number as a whole token (a seed or a float may contain the digits by chance, and so may the run's SHA-256
// hashes and UUIDs: "…fa4271c…" or "-4271-" matched the old pattern (?<![0-9.])4271(?![0-9]), and with ~30 random
// hex strings in the run files a correct run failed with P ≈ 2e-3, by Monte Carlo over them; letters and '-' on
// either side now rule a match out: 0 in 200,000)
const HAS_N = new RegExp(`(?<![0-9A-Za-z.-])${N}(?![0-9A-Za-z-])`);

function everything(out: string, r: { stdout: string; stderr: string }): string {
  return [r.stdout, r.stderr, ...readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8'))].join('\n');
}

const common = ['--model', model, '--data', data, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp', '--lr', '1e-2', '--zo-eps', '1e-2', '--steps', '3', '--threads', '1'];

describe('--sample-rate keeps N private', () => {
  it('N appears nowhere: run files, report, --json output, screen', async () => {
    const out = join(tmp.dir, 'private-n');
    const r = await dpzo('train', ...common, '--sample-rate', '0.004', '--batch-size', '17', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.plan.sampleRate).toBe(0.004);
    expect(report.plan.expectedBatch).toBe(17);
    expect(report.plan.datasetSize).toBeUndefined();
    expect(everything(out, r)).not.toMatch(HAS_N);
    const screen = await dpzo('train', ...common, '--sample-rate', '0.004', '--batch-size', '17', '--dry-run');
    expect(screen.status, screen.stderr).toBe(0);
    expect(screen.stdout + screen.stderr).toMatch(/q = 0\.004 fixed a priori, divisor B = 17 \(N is not used\)/);
    expect(screen.stdout + screen.stderr).not.toMatch(HAS_N);
  });

  it('with --batch-size alone N is public, and said so (the check above can fail)', async () => {
    const out = join(tmp.dir, 'public-n');
    const r = await dpzo('train', ...common, '--batch-size', '17', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/N = 4271; N is treated as public/);
    expect(everything(out, r)).toMatch(HAS_N);
  });

  it('--epochs needs N and is refused with --sample-rate; so is a missing divisor', () => {
    const train = tokenDataset([3, 4, 5, 6]);
    const base = { train, epsilon: 8, delta: 1e-5, accountant: 'rdp' as const, sampleRate: 0.5, batchSize: 2 };
    expect(() => makePlan({ ...base, epochs: 2 })).toThrow(/epochs needs the dataset size N/);
    expect(() => makePlan({ ...base, batchSize: Number.NaN, steps: 3 })).toThrow(/public divisor/);
    // the released sum is divided by B, not by q·N
    expect(makePlan({ ...base, steps: 3 })).toMatchObject({ sampleRate: 0.5, expectedBatch: 2 });
  });
});
