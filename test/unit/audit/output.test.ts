// What `dpzo audit` writes, checked where it used to go wrong: a --plot that cannot be written is refused before
// any training run (it was found after the whole audit, whose result was then lost), the JSON writes an infinite
// threshold as "Infinity" (it was null), and the plot's title writes the confidence as given (0.57 read
// 56.99999999999999%).
import { Command } from 'commander';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

import { auditPlot } from '../../../lib/audit/plot.js';
import type { AuditResult } from '../../../lib/audit/report.js';
import { register } from '../../../lib/cli/commands/audit.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-audit-output-');
afterAll(() => tmp.cleanup());
afterEach(() => vi.restoreAllMocks());
const model = writeTinyModel(join(tmp.dir, 'model'));
const data = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 6, 5);
const common = ['--model', model, '--data', data, '--task', 'tokens', '--delta', '1e-5', '--steps', '1', '--epsilon', '4'];

/** `dpzo audit …` in this process (so that a spy sees whether the trainer ran). */
async function auditInProcess(...args: string[]): Promise<void> {
  const program = new Command('dpzo').exitOverride();
  register(program);
  await program.parseAsync(['node', 'dpzo', 'audit', ...args]);
}

describe('--plot that cannot be written', () => {
  const bad: [string, RegExp][] = [
    [join(tmp.dir, 'no-such-folder', 'a.svg'), /^--plot .*a\.svg: its folder .*no-such-folder does not exist$/],
    [tmp.dir, /^--plot .*: is a folder$/],
    [join(data, 'a.svg'), /^--plot .*a\.svg: .*train\.jsonl is not a folder$/],
  ];

  it('is refused before any training run (the audit used to run to its end, then fail on the write)', async () => {
    const train = vi.spyOn(DPZOTrainer.prototype, 'train');
    for (const [plot, re] of bad) {
      await expect(auditInProcess(...common, '--canaries', '4', '--runs', '2', '--plot', plot)).rejects.toThrow(re);
    }
    expect(train).not.toHaveBeenCalled();
  });

  it('as a command: one line naming --plot, exit 2, nothing on stdout, no file written', async () => {
    const before = readdirSync(tmp.dir).sort();
    for (const [plot, re] of bad) {
      const r = await dpzo('audit', ...common, '--canaries', '4', '--runs', '2', '--json', '--plot', plot);
      expect(r.status, plot).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^dpzo: --plot /);
      expect(lines[0]!.replace(/^dpzo: /, '').replace(/ \[ERR_ARGUMENT\]$/, '')).toMatch(re);
    }
    expect(readdirSync(tmp.dir).sort()).toEqual(before);
  });
});

describe('--json', () => {
  it("does not read a config's eval file (it never evaluates): a missing one failed the audit", async () => {
    const config = join(tmp.dir, 'with-eval.json');
    writeFileSync(config, JSON.stringify({ eval: join(tmp.dir, 'no-such-eval.jsonl') }));
    const r = await dpzo('audit', ...common, '--config', config, '--canaries', '4', '--runs', '1', '--json', '--plot', join(tmp.dir, 'with-eval.svg'));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).runs).toBe(1);
  });

  it("on a terminal, ends the run counter's line also when the audit fails (the error was glued to it)", async () => {
    const original = DPZOTrainer.prototype.train;
    let calls = 0;
    vi.spyOn(DPZOTrainer.prototype, 'train').mockImplementation(function (this: DPZOTrainer, ...args: Parameters<DPZOTrainer['train']>) {
      if (++calls === 2) throw new Error('the second run failed');
      return original.apply(this, args);
    });
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (writes.push(String(chunk)), true));
    const was = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
    Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true });
    try {
      await expect(auditInProcess(...common, '--canaries', '4', '--runs', '2', '--plot', join(tmp.dir, 'tty.svg'))).rejects.toThrow('the second run failed');
    } finally {
      if (was) Object.defineProperty(process.stderr, 'isTTY', was);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
    expect(writes.join('')).toMatch(/\raudit run 1\/2\n$/);
  });

  it('writes the threshold of a test that found none as "Infinity", not null', async () => {
    // 4 trials: a pilot share of floor(4/5) = 0 chooses no threshold (τ = ∞), whatever the scores
    const plot = join(tmp.dir, 'inf.svg');
    const r = await dpzo('audit', ...common, '--canaries', '4', '--runs', '1', '--json', '--plot', plot);
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as { test: Record<string, unknown>; epsilonLowerBound: number };
    expect(o.test.kind).toBe('threshold');
    expect(o.test.pilotTrials).toBe(0);
    expect(o.test.threshold).toBe('Infinity');
    expect(o.epsilonLowerBound).toBe(0);
    expect(existsSync(plot)).toBe(true);
    // written whole through a temporary file of its own, which does not stay behind
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('the plot', () => {
  const result = (confidence: number): AuditResult => ({
    setting: 'one-run',
    claimedEpsilon: 4,
    delta: 1e-5,
    accountant: 'pld',
    epsilonLowerBound: 0.5,
    confidence,
    runs: 1,
    canaries: 4,
    trials: 4,
    verdict: 'consistent',
    mechanism: 'gaussian',
    noiseMultiplier: 1,
    sampleRate: 1,
    steps: 1,
    directions: 4,
    clip: 1,
    test: { kind: 'one-run', epsilon: 0.5, guesses: 4, correct: 4, canaries: 4, tries: 1 },
    seconds: 1,
  });
  const trials = [0, 1, 2, 3].map((i) => ({ score: i, member: i % 2 === 0 }));
  it('titles the confidence as given: 57%, not 56.99999999999999%; 99.99999%, not 100%', () => {
    expect(auditPlot(result(0.57), trials)).toContain('at 57% — consistent');
    expect(auditPlot(result(1 - 1e-7), trials)).toContain('at 99.99999% — consistent');
    expect(auditPlot(result(0.95), trials)).toContain('at 95% — consistent');
  });
});
