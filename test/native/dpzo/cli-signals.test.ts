// Ctrl-C and SIGTERM during `dpzo train` (issue 16.7): the step in flight finishes, the report is
// printed, the run stays resumable, and the exit status is 128 + the signal (130, 143), so that
// `dpzo train && dpzo export` stops there instead of exporting a cut-short run.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { readRunMetrics } from '../../../lib/dpzo/curves.js';
import { makeTempDir, writeRandomCheckpoint } from '../../helpers/checkpoints.js';
import { CLI_MAIN, ROOT, dpzo } from '../../helpers/cli.js';
import { signalOnMetrics } from '../../helpers/signal-on-metrics.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-signals-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 200, 1);

function trainUntilStep(out: string, signal: NodeJS.Signals): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const args = [CLI_MAIN, 'train', '--model', p.model, '--data', p.train, '--task', 'tokens'];
    args.push('--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp', '--steps', '100000', '--batch-size', '10', '--threads', '1', '--out', out);
    const c = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.resume();
    const stop = signalOnMetrics(c, out, (m) => m.includes('"type":"step"'), signal);
    c.on('error', reject);
    c.on('close', (status) => {
      stop();
      resolve({ status, stdout });
    });
  });
}

describe('signals during dpzo train', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: the report, then exit ${code}`, { timeout: 120_000 }, async () => {
      const out = join(tmp.dir, `run-${signal}`);
      const r = await trainUntilStep(out, signal);
      expect(r.status).toBe(code);
      expect(r.stdout).toMatch(/cancelled/);
      expect(existsSync(join(out, 'trajectory.jsonl'))).toBe(true);
    });
  }
});

// Ctrl-C during (or just before) the evaluation after the last step: it ran without the signal, so the held-out set was
// evaluated in full before the report (and a second Ctrl-C killed the process: the handler is gone after the first).
// Now it stops: the report says cancelled, shows no "after", and metrics.jsonl holds no evaluation after step 0.
describe('SIGINT as the last step ends', () => {
  it('stops the final evaluation: the report (cancelled, no after), exit 130', { timeout: 120_000 }, async () => {
    const out = join(tmp.dir, 'run-final-eval');
    // 40 000 held-out examples: the evaluation takes far longer than the signal's delivery
    const held = writeCyclesJsonl(join(tmp.dir, 'big-eval.jsonl'), 40_000, 3);
    // a training file of its own: the export tests' `dpzo train` (started as this file loads) holds p.train's dataset
    // ledger, and a run on it at the same time fails ERR_LEDGER_LOCKED
    const data = writeCyclesJsonl(join(tmp.dir, 'train-final-eval.jsonl'), 200, 4);
    const args = [CLI_MAIN, 'train', '--model', p.model, '--data', data, '--task', 'tokens', '--eval', held, '--eval-public'];
    args.push('--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp', '--steps', '2', '--batch-size', '10', '--threads', '1', '--out', out);
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const c = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const stop = signalOnMetrics(c, out, (m) => m.includes('"type":"step","step":1'), 'SIGINT');
      c.on('error', reject);
      c.on('close', (status) => {
        stop();
        resolve({ status, stdout, stderr });
      });
    });
    expect(r.status, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/cancelled: 2 of 2 steps/);
    expect(r.stdout).toMatch(/after\s+—/);
    const m = readRunMetrics(join(out, 'metrics.jsonl'));
    expect(m.evals.map((e) => e.step)).toEqual([0]);
    expect(m.report?.stopReason).toBe('cancelled');
  });
});

// Ctrl-C and SIGTERM during `dpzo export`, sent as its staging directory appears (the save under way): the default
// handler killed the process and left the half-written staging directory beside --out. Now the export is cancelled,
// the staging directory removed, --out left absent, and the exit status is 128 + the signal.
describe('signals during dpzo export', () => {
  const big = join(tmp.dir, 'big-model');
  const run = join(tmp.dir, 'export-run');
  // large enough (≈ 20 MB) that the save is still under way when the signal arrives
  writeRandomCheckpoint(big, { family: 'llama', seed: 3, vocabSize: 4096, hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 688, maxPositions: 64 });
  // a training file of its own: this train runs while the tests above train on p.train, and two runs on one file at
  // once fail ERR_LEDGER_LOCKED (its dataset ledger's lock)
  const exportData = writeCyclesJsonl(join(tmp.dir, 'export-train.jsonl'), 200, 5);
  const trained = dpzo('train', '--model', big, '--data', exportData, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp',
    '--steps', '1', '--batch-size', '10', '--threads', '1', '--out', run);

  function exportUntilStaging(parent: string, signal: NodeJS.Signals): Promise<{ status: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      mkdirSync(parent, { recursive: true });
      const c = spawn(process.execPath, [CLI_MAIN, 'export', '--run', run, '--out', join(parent, 'out'), '--threads', '1'], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const w = watch(parent, (_, f) => {
        if (f?.startsWith('.out.partial-')) {
          w.close();
          c.kill(signal);
        }
      });
      c.on('error', reject);
      c.on('close', (status) => {
        w.close();
        resolve({ status, stderr });
      });
    });
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} during the save: nothing at --out, no staging directory left, exit ${code}`, { timeout: 120_000 }, async () => {
      const t = await trained;
      expect(t.status, t.stderr).toBe(0);
      const parent = join(tmp.dir, `export-${signal}`);
      const r = await exportUntilStaging(parent, signal);
      expect(r.status, r.stderr).toBe(code);
      expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/export cancelled.*\[ERR_CANCELLED\]$/)]);
      expect(readdirSync(parent)).toEqual([]);
    });
  }
});

// A crash inside a metrics write (power loss, a full disk) leaves metrics.jsonl ending in a line without its newline. The
// resume appended its next line to it, making one line that is not JSON: the resumed run failed at its end (the curves
// read the file) after every step, exit 2 without its report. The torn line is now cut once the run is open.
describe('--resume after a torn metrics line', () => {
  it('cuts the torn line, warns, and ends with its report (exit 0); the metrics read back', async () => {
    const out = join(tmp.dir, 'run-torn-metrics');
    const args = ['--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp', '--steps', '3'];
    const first = await dpzo('train', ...args, '--batch-size', '10', '--threads', '1', '--out', out, '--json');
    expect(first.status, first.stderr).toBe(0);
    const metrics = join(out, 'metrics.jsonl');
    appendFileSync(metrics, '{"type":"step","st');
    const r = await dpzo('train', '--resume', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/metrics\.jsonl ended with an incomplete line/);
    const m = readRunMetrics(metrics);
    expect(m.steps.map((s) => s.step)).toEqual([0, 1, 2]);
    expect(m.report?.steps).toBe(3);
  });
});
