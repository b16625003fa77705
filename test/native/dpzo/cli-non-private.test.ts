// `dpzo train --epsilon inf` (issue 16): the non-private baseline says NOT PRIVATE in every output — the
// plan, the warnings, the report, run.json and a NOT_PRIVATE file in the run directory, `dpzo report`,
// the --json report (ε "Infinity", never null or 0) and the exported model card; noise flags are refused.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-cli-np-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 100, 1);
const args = ['--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', 'inf', '--delta', '1e-5', '--steps', '6', '--batch-size', '10', '--threads', '1'];

describe('dpzo train --epsilon inf', () => {
  it('NOT PRIVATE in the plan, the report, the run directory, dpzo report, --json and the export', { timeout: 120_000 }, async () => {
    process.env.DPZO_HOME = join(tmp.dir, 'home'); // the children's dataset ledgers stay in the temp dir
    const text = await dpzo('train', ...args, '--out', join(tmp.dir, 'run'));
    expect(text.status, text.stderr).toBe(0);
    expect(text.stderr.split('\n')[0]).toMatch(/^warning: NOT PRIVATE/);
    expect(text.stderr).toMatch(/^NOT PRIVATE +epsilon is ∞/m);
    expect(text.stderr).toMatch(/^predicted ε +∞/m);
    expect(text.stderr).toMatch(/no clipping/);
    expect(text.stdout).toMatch(/^WARNING +this run is NOT PRIVATE/m);
    expect(text.stdout).toMatch(/^ε spent +∞ \(PLD\), ∞ \(RDP\)/m);
    expect(readFileSync(join(tmp.dir, 'run', 'NOT_PRIVATE'), 'utf8')).toMatch(/NOT PRIVATE/);

    const json = await dpzo('train', ...args, '--out', join(tmp.dir, 'run-json'), '--json');
    expect(json.status, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout.trim().split('\n').pop()!) as { private: boolean; epsilon: { pld: unknown; rdp: unknown }; plan: { mechanism: string } };
    expect(r.private).toBe(false);
    expect(r.plan.mechanism).toBe('none');
    expect(r.epsilon.pld).toBe('Infinity');
    expect(r.epsilon.rdp).toBe('Infinity');

    const [report, exported, account] = await Promise.all([
      dpzo('report', join(tmp.dir, 'run')),
      dpzo('export', '--run', join(tmp.dir, 'run'), '--out', join(tmp.dir, 'export'), '--threads', '1'),
      dpzo('account', '--ledger', join(tmp.dir, 'run'), '--json'), // δ from run.json: the ledger has no budget
    ]);
    expect(account.status, account.stderr).toBe(0);
    const a = JSON.parse(account.stdout) as { epsilon: unknown; releases: number; delta: number };
    expect(a).toMatchObject({ epsilon: 'Infinity', releases: 6, delta: 1e-5 });
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/^WARNING +this run is NOT PRIVATE/m);
    expect(exported.status, exported.stderr).toBe(0);
    const card = readFileSync(join(tmp.dir, 'export', 'README.md'), 'utf8');
    expect(card).toMatch(/^# NOT PRIVATE/m);
    expect(card).toContain('**ε = ∞ at δ = 0.00001**');
  });

  it('noise flags with epsilon inf: one line, exit 2, no run directory', async () => {
    for (const extra of [['--noise-multiplier', '1'], ['--mechanism', 'laplace']]) {
      const out = join(tmp.dir, `refused${extra[0]}`);
      const r = await dpzo('train', ...args, ...extra, '--out', out);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
  });
});
