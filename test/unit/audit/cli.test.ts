// `dpzo audit` as a user runs it: the JSON object's fields, the text report with
// its verdict, the SVG written, and bad input as one line with exit 2.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-audit15-cli-');
afterAll(() => tmp.cleanup());
const model = writeTinyModel(join(tmp.dir, 'model'));
const data = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 6, 5);
const common = ['--model', model, '--data', data, '--task', 'tokens', '--delta', '1e-5', '--steps', '1'];

describe('dpzo audit', () => {
  it('--json prints one object with the claimed ε, the bound, the verdict; the plot is an SVG', async () => {
    const plot = join(tmp.dir, 'a.svg');
    const r = await dpzo('audit', ...common, '--epsilon', '4', '--canaries', '32', '--runs', '2', '--json', '--plot', plot);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]!) as Record<string, unknown>;
    for (const k of ['claimedEpsilon', 'delta', 'epsilonLowerBound', 'confidence', 'setting', 'runs', 'canaries', 'verdict']) expect(o).toHaveProperty(k);
    expect(o.setting).toBe('gradient-canary');
    expect(o.runs).toBe(2);
    expect(o.canaries).toBe(32);
    expect(o.delta).toBe(1e-5);
    expect(o.confidence).toBe(0.95);
    expect(o.claimedEpsilon as number).toBeLessThanOrEqual(4);
    expect(o.claimedEpsilon as number).toBeGreaterThan(3.8);
    // 64 trials cannot prove ε = 4 whatever the trainer does, so this checks the report, not the bound (its power
    // is tested in audit.test.ts): a number, and the verdict that follows from it
    expect(o.epsilonLowerBound as number).toBeGreaterThanOrEqual(0);
    expect(o.verdict).toBe((o.epsilonLowerBound as number) > (o.claimedEpsilon as number) ? 'violated' : 'consistent');
    const svg = readFileSync(plot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('canary in');
  });

  it('the text report ends with the verdict; one-run takes one run', async () => {
    const plot = join(tmp.dir, 'b.svg');
    const r = await dpzo('audit', ...common, '--epsilon', '2', '--setting', 'one-run', '--canaries', '32', '--plot', plot);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^setting\s+one-run$/m);
    const claimed = /^claimed ε\s+([\d.]+) \(pld, δ = 0\.00001\)$/m.exec(r.stdout);
    const bound = /^ε lower bound\s+([\d.e-]+) at confidence 0\.95$/m.exec(r.stdout);
    expect(claimed, r.stdout).not.toBeNull();
    expect(bound, r.stdout).not.toBeNull();
    expect(r.stdout).toMatch(/^runs\s+1$/m);
    // 32 canaries cannot prove ε = 2 whatever the trainer does: this checks the report's last line follows from
    // its numbers (the bound's power is tested in audit.test.ts)
    const verdict = Number(bound![1]) > Number(claimed![1]) ? 'violated' : 'consistent';
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(new RegExp(`^verdict\\s+${verdict}: `));
    expect(existsSync(plot)).toBe(true);
  });

  it('bad input: one line, exit 2, no partial output', async () => {
    const cases: [string[], RegExp][] = [
      // named by the flag (they named runAudit's options: 'confidence must be in (0, 1)')
      [['--epsilon', '4', '--canaries', '0'], /^dpzo: --canaries must be a positive integer, got 0/],
      [['--epsilon', '4', '--confidence', '1'], /^dpzo: --confidence must be in \(0, 1\), got 1/],
      [['--epsilon', '4', '--runs', '0'], /^dpzo: --runs must be a positive integer, got 0/],
      [['--epsilon', '4', '--setting', 'one-run', '--canaries', '1'], /^dpzo: --canaries must be at least 2 with --setting one-run/],
      [['--epsilon', '4', '--setting', 'white-box'], /white-box/],
      [['--epsilon', '4', '--canaries', 'many'], /canaries/],
      [['--epsilon', '4', '--setting', 'one-run', '--runs', '5'], /^dpzo: --runs must be absent \(or 1\) with --setting one-run, which trains once/],
      [['--epsilon', '4', '--eval', data], /unknown option '--eval'/],
      [['--epsilon', 'inf'], /^dpzo: --epsilon inf is a non-private baseline: it claims no ε to audit/],
    ];
    for (const [args, re] of cases) {
      const r = await dpzo('audit', ...common, ...args, '--plot', join(tmp.dir, 'never.svg'));
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(re);
      expect(lines[0]).toMatch(/^dpzo: /);
    }
    expect(existsSync(join(tmp.dir, 'never.svg'))).toBe(false);
  });
});
