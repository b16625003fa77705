// Benchmark: the empirical privacy audit (lib/audit, `dpzo audit`) — how close the
// lower bound gets to the accountant's ε, and in what wall time. Gradient-canary
// (many runs, Clopper–Pearson) and one-run (Steinke et al. 2023) on a tiny random
// Llama (2 layers, hidden 16) with a tokens dataset of 6 two-token examples,
// q = 1, one step, through the public audit() (the same path as the command).
// Prints a table and writes bench/results/audit.json.
// Usage: node --import tsx bench/audit.ts [--runs R] [--canaries K] [--epsilons 1,4,8] [--goal-runs R4] [--threads T]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { audit, type AuditResult, type AuditSetting } from '../lib/index.js';
import { writeRandomCheckpoint } from '../test/helpers/checkpoints.js';
import { opt, str } from './args.js';
import { header, writeResults } from './results.js';

const canaries = opt('canaries', 256);
const runs = opt('runs', 32);
// ε = 4 is the goal's configuration: it gets more runs (≤ 10 minutes on two cores)
const goalRuns = opt('goal-runs', 600);
const epsilons = (str('epsilons') ?? '1,4,8').split(',').map(Number);
const threads = opt('threads', 1);

const dir = mkdtempSync(join(tmpdir(), 'dpzo-bench-audit-'));
try {
  const model = join(dir, 'model');
  writeRandomCheckpoint(model, { family: 'llama', seed: 7, vocabSize: 32, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 64 });
  const data = join(dir, 'train.jsonl');
  writeFileSync(data, Array.from({ length: 6 }, (_, i) => JSON.stringify({ input_ids: [1 + (i % 4), 1 + ((i + 1) % 4)] })).join('\n') + '\n');
  const rows: Record<string, number | string>[] = [];
  const one = async (setting: AuditSetting, epsilon: number, r: number, k: number): Promise<void> => {
    const t0 = performance.now();
    const a: AuditResult = await audit({ config: { model, data, task: 'tokens', epsilon, delta: 1e-5, steps: 1, threads }, setting, canaries: k, runs: r });
    const wall = (performance.now() - t0) / 1000;
    rows.push({
      setting,
      epsilonClaimed: +a.claimedEpsilon.toFixed(4),
      epsilonLowerBound: +a.epsilonLowerBound.toFixed(4),
      ratio: +(a.epsilonLowerBound / a.claimedEpsilon).toFixed(3),
      runs: a.runs,
      canaries: a.canaries,
      trials: a.trials,
      sigma: +a.noiseMultiplier!.toFixed(4),
      wallSeconds: +wall.toFixed(1),
      verdict: a.verdict,
    });
    console.error(`${setting} ε=${epsilon}: ${JSON.stringify(rows.at(-1))}`);
  };
  for (const e of epsilons) {
    await one('gradient-canary', e, e === 4 ? goalRuns : runs, canaries);
    await one('one-run', e, 1, 4 * canaries);
  }
  console.table(rows);
  writeResults('audit', { ...header(), cores: cpus().length, threads, rows });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
