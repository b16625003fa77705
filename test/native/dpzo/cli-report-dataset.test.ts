// `dpzo report RUN` states the dataset's ε as the training file's dataset ledger stands now. It printed the report line's
// dataset entry, written when the run ended: after a second run on the same file it still said "over 1 run(s)" and the
// first run's ε, less than what had been released on that data.
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { type CliResult, dpzo } from '../../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-report-dataset-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 64, 1);

interface DatasetEntry {
  runs: number;
  releases: number;
  epsilon: number;
}
const last = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').pop()!) as { dataset?: DatasetEntry };

function train(out: string): Promise<CliResult> {
  return dpzo('train', '--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', '2', '--delta', '1e-5', '--steps', '4',
    '--batch-size', '8', '--threads', '1', '--out', out, '--json');
}

describe('dpzo report: the dataset ε', () => {
  it('is the dataset ledger’s now, counting the runs made on the file after this one', { timeout: 120_000 }, async () => {
    const first = await train(`${p.run}-1`);
    expect(first.status, first.stderr).toBe(0);
    expect(last(first).dataset).toMatchObject({ runs: 1, releases: 4 });
    const second = await train(`${p.run}-2`);
    expect(second.status, second.stderr).toBe(0);
    const now = last(second).dataset!;
    expect(now).toMatchObject({ runs: 2, releases: 8 });

    const [json, text] = await Promise.all([dpzo('report', `${p.run}-1`, '--json'), dpzo('report', `${p.run}-1`)]);
    expect(json.status, json.stderr).toBe(0);
    expect(last(json).dataset).toMatchObject({ runs: 2, releases: 8, epsilon: now.epsilon });
    expect(text.stdout).toMatch(/^dataset ε +\S+ \(PLD\) at δ = 0\.00001 over 2 run\(s\), 8 releases on this training file/m);
  });
});
