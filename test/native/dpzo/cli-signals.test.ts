// Ctrl-C and SIGTERM during `dpzo train` (issue 16.7): the step in flight finishes, the report is
// printed, the run stays resumable, and the exit status is 128 + the signal (130, 143), so that
// `dpzo train && dpzo export` stops there instead of exporting a cut-short run.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { readRunMetrics } from '../../../lib/dpzo/curves.js';
import { makeTempDir, writeRandomCheckpoint } from '../../helpers/checkpoints.js';
import { CLI_MAIN, ROOT, dpzo, dpzoWithEnv } from '../../helpers/cli.js';
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

// Ctrl-C and SIGTERM during `dpzo export`, sent as its staging directory appears (the save under way): the default
// handler killed the process and left the half-written staging directory beside --out. Now the export is cancelled,
// the staging directory removed, --out left absent, and the exit status is 128 + the signal.
describe('signals during dpzo export', () => {
  const big = join(tmp.dir, 'big-model');
  const run = join(tmp.dir, 'export-run');
  // large enough (≈ 20 MB) that the save is still under way when the signal arrives
  writeRandomCheckpoint(big, { family: 'llama', seed: 3, vocabSize: 4096, hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 688, maxPositions: 64 });
  // a dataset-ledger home of its own: it starts when the file is collected, so it ran beside the other describe's trains
  // on the same data file and, under load, one of them failed with ERR_LEDGER_LOCKED
  const trained = dpzoWithEnv({ DPZO_HOME: join(tmp.dir, 'home-export') }, 'train', '--model', big, '--data', p.train, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp',
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
