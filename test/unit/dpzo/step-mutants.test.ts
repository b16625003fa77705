// Mutation-found gaps in dpzoStep: nothing checked that a step's release is in the ledger file (and its trajectory
// line in trajectory.jsonl) before θ is updated (a step that appended them after applyUpdate passed every unit
// test), nor that the ledger line comes before the trajectory line of the released values (ARCHITECTURE: a crash
// between the two leaves an accounted release without its values, never released values without accounting), nor that a constant-time step cuts a batch larger than its slots (without the cut every such step failed).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { installTestHooks } from '../../../lib/dpzo/hooks.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { RunDirectory } from '../../../lib/dpzo/run-directory.js';
import type { TrajectoryLine } from '../../../lib/dpzo/trajectory.js';
import type { SeedCoeff, UpdateOptions } from '../../../lib/model/types.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-step-order-');
afterAll(() => tmp.cleanup());

function lines(file: string): number {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0).length;
}

/** A fake model that, at each update, records how many releases and trajectory steps the run directory holds. */
class WatchingModel extends FakeModel {
  seen: { releases: number; steps: number }[] = [];
  constructor(private readonly runDir: string) {
    super(6);
  }
  override async update(pairs: SeedCoeff[], o?: UpdateOptions): Promise<void> {
    // ledger.jsonl: a header line, then one line per release; trajectory.jsonl: one line per step (after any header)
    this.seen.push({ releases: lines(join(this.runDir, 'ledger.jsonl')) - 1, steps: lines(join(this.runDir, 'trajectory.jsonl')) });
    return super.update(pairs, o);
  }
}

describe('a DP-ZO step writes before it updates (mutants)', () => {
  it("the ledger holds step t's release before its trajectory line is written and before its update", async () => {
    const runDir = join(tmp.dir, 'run');
    const model = new WatchingModel(runDir);
    const steps = 4;
    // the releases in the ledger file when each trajectory line is appended
    const atTrajectory: number[] = [];
    const appendStep = RunDirectory.prototype.appendStep;
    const spy = vi.spyOn(RunDirectory.prototype, 'appendStep').mockImplementation(function (this: RunDirectory, line: TrajectoryLine) {
      atTrajectory.push(lines(join(runDir, 'ledger.jsonl')) - 1);
      appendStep.call(this, line);
    });
    const report = await new DPZOTrainer(model, {
      train: tokenDataset(Array.from({ length: 20 }, (_, i) => 3 + i)),
      epsilon: 50,
      delta: 1e-5,
      accountant: 'rdp',
      batchSize: 4,
      steps,
      lr: 0.01,
      clip: 1,
      zoEps: 1e-2,
      runDir,
    })
      .train()
      .finally(() => spy.mockRestore());
    expect(report.steps).toBe(steps);
    expect(atTrajectory).toEqual([1, 2, 3, 4]);
    expect(model.seen.map((s) => s.releases)).toEqual([1, 2, 3, 4]);
    // whatever header the trajectory has, each update sees one more line than the one before
    const first = model.seen[0]!.steps;
    expect(model.seen.map((s) => s.steps - first)).toEqual([0, 1, 2, 3]);
    expect(lines(join(runDir, 'ledger.jsonl'))).toBe(1 + steps);
  });
});

describe('a constant-time step (mutants)', () => {
  it('cuts a batch larger than its slots to the slots, and the step goes on', async () => {
    const train = { ...tokenDataset(Array.from({ length: 30 }, (_, i) => 3 + i)), maxLength: 4 };
    const trainer = new DPZOTrainer(new FakeModel(6), {
      train,
      epsilon: 50,
      delta: 1e-5,
      accountant: 'rdp',
      batchSize: 5,
      steps: 3,
      lr: 0.01,
      clip: 1,
      zoEps: 1e-2,
      constantTimeSteps: 3,
      privateDiagnostics: true,
    });
    const estimated: number[][] = [];
    installTestHooks(trainer, { batch: () => [0, 2, 4, 6, 8, 10, 12, 14, 16, 18], scalars: (_t, batch) => void estimated.push([...batch]) });
    const cuts: [number, number][] = [];
    const report = await trainer.train({ onStep: (s) => void cuts.push([s.privateDiagnostics!.batchSize, s.privateDiagnostics!.cut]) });
    expect(report.steps).toBe(3);
    expect(cuts).toEqual([
      [10, 7],
      [10, 7],
      [10, 7],
    ]);
    for (const b of estimated) {
      expect(b).toHaveLength(3);
      for (const i of b) expect(i % 2 === 0 && i <= 18).toBe(true);
    }
  });
});
