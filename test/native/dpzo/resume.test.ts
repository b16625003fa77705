// Crash safety: a run killed (SIGKILL) at random moments always leaves ledger and
// trajectory consistent, resumes to the planned steps with every release counted
// once, and its export equals the resumed in-memory weights. The one window a random
// kill rarely hits (ledger written, trajectory not) is reproduced by hand.
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { exportRun, readTrajectory } from '../../../lib/dpzo/index.js';
import { stepRelease } from '../../../lib/dpzo/options.js';
import { reconcile } from '../../../lib/dpzo/run-directory.js';
import { readRunJson } from '../../../lib/dpzo/run-record.js';
import { prepareRun } from '../../../lib/dpzo/session.js';
import { loadModel } from '../../../lib/index.js';
import { PrivacyLedger } from '../../../lib/privacy/ledger.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-resume-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model, 11);
writeCyclesJsonl(p.train, 200, 3);
const STEPS = 250;
const cfgFile = join(tmp.dir, 'cfg.json');
writeFileSync(cfgFile, JSON.stringify({ model: p.model, data: p.train, task: 'tokens', epsilon: 8, delta: 1e-5, accountant: 'rdp', steps: STEPS, batchSize: 10, lr: 1e-2, zoEps: 1e-2, directions: 2, out: p.run, threads: 1 }));
const child = join(import.meta.dirname, '..', '..', 'helpers', 'train-child.ts');

function trajectoryLines(): number {
  try {
    return readFileSync(join(p.run, 'trajectory.jsonl'), 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}

/** Runs the child; with `killAtLine`, SIGKILLs it as soon as the trajectory reaches that many lines (polled). */
function runChild(mode: 'start' | 'resume', killAtLine?: number): Promise<{ killed: boolean; out: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', child, cfgFile, mode], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    let timer: NodeJS.Timeout | undefined;
    if (killAtLine !== undefined) {
      timer = setInterval(() => {
        if (trajectoryLines() >= killAtLine) c.kill('SIGKILL');
      }, 2);
    }
    c.on('exit', (code, signal) => {
      clearInterval(timer);
      if (signal === 'SIGKILL') resolve({ killed: true, out });
      else if (code === 0) resolve({ killed: false, out });
      else reject(new Error(`child exited ${code}: ${err}`));
    });
  });
}

async function ledgerSteps(): Promise<number[]> {
  const l = await PrivacyLedger.open(join(p.run, 'ledger.jsonl'), { readOnly: true });
  return l.entries.map((e) => e.step);
}

function checkConsistent(ledger: number[]): void {
  const lines = readTrajectory(p.run).lines;
  lines.forEach((l, i) => expect(l.step).toBe(i));
  ledger.forEach((s, i) => expect(s).toBe(i));
  // the ledger leads the trajectory by at most the one release in flight
  expect(ledger.length - lines.length).toBeGreaterThanOrEqual(0);
  expect(ledger.length - lines.length).toBeLessThanOrEqual(1);
}

describe('kill -9 and --resume', () => {
  it('stays consistent across random kills and resumes to the planned steps', async () => {
    let kills = 0;
    for (let attempt = 0; attempt < 6 && kills < 4; attempt++) {
      // at most 4 × 50 = 200 of the 250 steps: a run that finishes before its kill line fails the test (kills < 4).
      // With 60 the four draws could reach 240, so the few steps a kill lands late (0–1 measured, ~10 ms a step)
      // left only 10 lines of slack; now it would take a kill ~50 steps late (a half-second stall of this process)
      const at = trajectoryLines() + 1 + Math.floor(Math.random() * 50);
      const r = await runChild(attempt === 0 ? 'start' : 'resume', at);
      if (!r.killed) break;
      kills++;
      checkConsistent(await ledgerSteps());
    }
    expect(kills).toBe(4);
    const final = await runChild('resume');
    const { hash } = JSON.parse(final.out.trim().split('\n').pop()!) as { hash: string };
    const ledger = await ledgerSteps();
    expect(ledger).toEqual(Array.from({ length: STEPS }, (_, i) => i));
    expect(readTrajectory(p.run).lines).toHaveLength(STEPS);
    const fresh = await loadModel(p.model, { threads: 2 });
    const r = await exportRun(fresh, p.run, join(tmp.dir, 'exported'));
    fresh.dispose();
    expect(r.weightsHash).toBe(hash);
  }, 180_000);

  it('a release in the ledger without its trajectory line becomes a void step; a torn line is dropped', async () => {
    const out = join(tmp.dir, 'run-window');
    const cfg = parseRunConfig({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), out, steps: 3 }, 'test');
    const a = await prepareRun(cfg);
    await a.trainer.train();
    a.model.dispose();
    // the crash window: ledger appended (fsync), process gone before the trajectory line
    // the line is the release the run's plan makes (export checks the ledger against run.json); a budget above
    // the run's lets this fourth release of a three-step plan be written
    const ledger = await PrivacyLedger.open(join(out, 'ledger.jsonl'), { create: false, budget: { epsilon: 1e6, delta: 1e-5 } });
    await ledger.append(stepRelease(readRunJson(out).plan, 3));
    await ledger.close();
    appendFileSync(join(out, 'trajectory.jsonl'), '{"step":3,"seeds":["12');
    expect(reconcile(out, 4)).toBe(4);
    const lines = readTrajectory(out).lines;
    expect(lines).toHaveLength(4);
    expect(lines[3]).toEqual({ step: 3, void: true });
    expect(() => reconcile(out, 6)).toThrow(/cannot be reconciled/);
    // export skips the void step: same weights as the 3 applied steps
    const fresh = await loadModel(p.model, { threads: 1 });
    const r = await exportRun(fresh, out, join(tmp.dir, 'exported-window'));
    fresh.dispose();
    expect(r.steps).toBe(3);
  });

  it('--resume drops a torn ledger tail (its values never left the process) and continues', async () => {
    const out = join(tmp.dir, 'run-torn-ledger');
    const cfg = parseRunConfig({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), out, steps: 4 }, 'test');
    const a = await prepareRun(cfg);
    const ac = new AbortController();
    await a.trainer.train({ signal: ac.signal, onStep: (s) => void (s.step === 1 && ac.abort()) });
    a.model.dispose();
    appendFileSync(join(out, 'ledger.jsonl'), '{"step":2,"mechanism":"gau'); // a crash inside the ledger write
    const b = await prepareRun(cfg, { resume: true });
    const report = await b.trainer.train();
    const hash = await b.model.weightsHash();
    b.model.dispose();
    expect(report.warnings.join('\n')).toMatch(/incomplete line/);
    expect(report.steps).toBe(4); // 2 before, 2 after; the torn line counted nowhere
    expect(readTrajectory(out).lines).toHaveLength(4);
    const fresh = await loadModel(p.model, { threads: 1 });
    const r = await exportRun(fresh, out, join(tmp.dir, 'exported-torn'));
    fresh.dispose();
    expect(r.weightsHash).toBe(hash);
  });

  it('--resume of a run that died before its ledger existed starts it (nothing was released)', async () => {
    const out = join(tmp.dir, 'run-no-ledger');
    const cfg = parseRunConfig({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), out, steps: 2 }, 'test');
    // this run's own dataset-ledger home, so that the state "died before anything was released" can be made
    const home = join(tmp.dir, 'home-no-ledger');
    const savedHome = process.env.DPZO_HOME;
    process.env.DPZO_HOME = home;
    try {
      await resumeWithoutLedger(out, cfg, home);
    } finally {
      process.env.DPZO_HOME = savedHome;
    }
  });
});

async function resumeWithoutLedger(out: string, cfg: ReturnType<typeof parseRunConfig>, home: string): Promise<void> {
  {
    const a = await prepareRun(cfg);
    await a.trainer.train();
    a.model.dispose();
    rmSync(join(out, 'ledger.jsonl'));
    rmSync(join(out, 'trajectory.jsonl'));
    // the dataset ledger recorded the two releases: removing the run's files is a rollback it refuses
    const r = await prepareRun(cfg, { resume: true });
    await expect(r.trainer.train()).rejects.toMatchObject({ code: 'ERR_LEDGER_ROLLBACK' });
    r.model.dispose();
    // a run that died before its first release has no entry there either
    rmSync(join(home, 'datasets'), { recursive: true });
    const b = await prepareRun(cfg, { resume: true });
    const report = await b.trainer.train();
    b.model.dispose();
    expect(report.steps).toBe(2);
    expect(report.warnings.join('\n')).toMatch(/before its privacy ledger was created/);
    // a missing ledger with trajectory steps cannot be accounted: refused
    rmSync(join(out, 'ledger.jsonl'));
    const c = await prepareRun(cfg, { resume: true });
    await expect(c.trainer.train()).rejects.toMatchObject({ code: 'ERR_RUN_CORRUPT' });
    c.model.dispose();
  }
}
