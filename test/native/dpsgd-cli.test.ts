// `dpzo train --method dpsgd` as a user runs it (issue 13): killed with SIGKILL mid-run and resumed with
// --resume, the ledger holds exactly the planned releases, each step once, and the run's checkpoint loads
// and exports (and evaluates) to the trained weights; the output names the method; bad input is one line
// on stderr, exit 2.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { CHECKPOINT_FILE } from '../../lib/dpsgd/checkpoint.js';
import { readTrajectory } from '../../lib/dpzo/index.js';
import { PrivacyLedger } from '../../lib/privacy/index.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { CLI_MAIN, ROOT, dpzo } from '../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-dpsgd-cli-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model, 3);
writeCyclesJsonl(p.train, 100, 1);
writeCyclesJsonl(p.eval, 20, 2);
const common = ['--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp', '--batch-size', '10', '--threads', '1'];
const STEPS = 300;

function ledgerLines(run: string): number {
  try {
    return readFileSync(join(run, 'ledger.jsonl'), 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}

/** Starts `dpzo train` and SIGKILLs it once its ledger holds `releases` releases (polled). */
function trainKilledAt(args: string[], run: string, releases: number): Promise<{ killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI_MAIN, 'train', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setInterval(() => {
      if (ledgerLines(run) >= releases + 1) c.kill('SIGKILL'); // + the header line
    }, 2);
    c.on('error', reject);
    c.on('exit', (_code, signal) => {
      clearInterval(timer);
      resolve({ killed: signal === 'SIGKILL', stderr });
    });
  });
}

describe('dpzo train --method dpsgd (CLI)', () => {
  it('kill -9 mid-run, --resume: exactly the planned releases, each step once; the checkpoint exports and evaluates', async () => {
    const run = join(tmp.dir, 'run');
    const args = [...common, '--method', 'dpsgd', '--optimizer', 'adam', '--lr', '1e-2', '--steps', String(STEPS), '--out', run];
    const killed = await trainKilledAt(args, run, 2);
    expect(killed.killed, killed.stderr).toBe(true);
    const cut = ledgerLines(run) - 1;
    expect(cut).toBeGreaterThanOrEqual(2);
    expect(cut).toBeLessThan(STEPS);

    const r = await dpzo('train', '--resume', '--out', run, '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { steps: number; plan: { method: string; optimizer: string }; weightsHash: string };
    expect(report.steps).toBe(STEPS);
    expect(report.plan).toMatchObject({ method: 'dpsgd', optimizer: 'adam' });
    // with --checkpoint-every 1 (the default) a kill loses at most the update in flight, and says so
    const lost = /the (\d+) update\(s\) released after it were lost/.exec(r.stderr);
    expect(Number(lost?.[1] ?? 0)).toBeLessThanOrEqual(1);

    const ledger = await PrivacyLedger.open(join(run, 'ledger.jsonl'), { readOnly: true });
    const steps = ledger.entries.map((e) => e.step);
    await ledger.close();
    expect(steps).toEqual(Array.from({ length: STEPS }, (_, i) => i));
    const lines = readTrajectory(run, 'dpsgd').lines;
    expect(lines.map((l) => l.step)).toEqual(steps);

    const exported = join(tmp.dir, 'exported');
    const e = await dpzo('export', '--run', run, '--out', exported, '--json');
    expect(e.status, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ steps: STEPS, weightsHash: report.weightsHash });
    expect(existsSync(join(exported, 'model.safetensors'))).toBe(true);

    const viaRun = await dpzo('eval', '--run', run, '--data', p.eval, '--json');
    const viaExport = await dpzo('eval', '--model', exported, '--data', p.eval, '--task', 'tokens', '--json');
    expect(viaRun.status, viaRun.stderr).toBe(0);
    expect(viaExport.status, viaExport.stderr).toBe(0);
    expect(JSON.parse(viaRun.stdout).loss).toBe(JSON.parse(viaExport.stdout).loss);
    expect(JSON.parse(viaRun.stdout).stepsReplayed).toBe(STEPS);
  }, 180_000);

  it('names the method in its output', async () => {
    const r = await dpzo('train', ...common, '--method', 'dpsgd', '--steps', '2', '--out', join(tmp.dir, 'run-text'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/method\s+DP-SGD \(sgd, ghost clipping\)/);
    const dry = await dpzo('train', ...common, '--method', 'dpsgd', '--clip-regime', 'per-example', '--steps', '2', '--dry-run', '--json');
    expect(JSON.parse(dry.stdout).plan).toMatchObject({ method: 'dpsgd', optimizer: 'sgd', clipRegime: 'per-example', lr: 1e-2, directions: 1 });
    expect(JSON.parse(dry.stdout).plan.zoEps).toBeUndefined();
  });

  it('bad input: one line on stderr naming the field, exit 2, nothing released', async () => {
    const out = join(tmp.dir, 'run-bad');
    const cases: [string[], RegExp][] = [
      [['--mechanism', 'laplace'], /--mechanism laplace does not apply to dpsgd/],
      [['--directions', '2'], /--directions applies to --method dpzo only/],
      // Opacus' max_grad_norm and noise_multiplier out of range: named by the flag, with the value (was "options: clip: Too small")
      [['--clip', '0'], /^dpzo: --clip: .*>0 \(got 0\) \[ERR_TRAIN_OPTION\]$/],
      [['--noise-multiplier', '-1'], /^dpzo: --noise-multiplier: .*\(got -1\) \[ERR_TRAIN_OPTION\]$/],
      // the ghost regime (the default) holds no per-example gradients: the micro-batch was ignored in silence
      [['--micro-batch', '4'], /--micro-batch applies to --clip-regime 'per-example' only/],
      [['--dtype', 'bfloat16'], /--method dpsgd needs float32 weights on the CPU backend/],
      // a dry run refuses what the run would, with the same line (it used to print a plan that could not run)
      [['--dtype', 'bfloat16', '--dry-run'], /^dpzo: --method dpsgd needs float32 weights on the CPU backend \(this model: bfloat16 on cpu; --dtype float32 converts on load\) \[ERR_TRAIN_OPTION\]$/],
      [['--dtype', 'bfloat16', '--dry-run', '--json'], /--method dpsgd needs float32 weights on the CPU backend/],
    ];
    for (const [extra, msg] of cases) {
      const r = await dpzo('train', ...common, '--method', 'dpsgd', '--steps', '3', '--out', out, ...extra);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(msg);
      expect(r.stdout, extra.join(' ')).toBe('');
      expect(existsSync(join(out, 'ledger.jsonl'))).toBe(false);
    }
    // a corrupt checkpoint: --resume and export refuse it in one line, naming the file
    const run = join(tmp.dir, 'run-corrupt');
    expect((await dpzo('train', ...common, '--method', 'dpsgd', '--steps', '2', '--out', run)).status).toBe(0);
    const file = join(run, CHECKPOINT_FILE);
    const bytes = readFileSync(file);
    bytes[40] ^= 0xff;
    writeFileSync(file, bytes);
    for (const r of [await dpzo('export', '--run', run, '--out', join(tmp.dir, 'exp-corrupt')), await dpzo('eval', '--run', run, '--data', p.eval)]) {
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toContain(`${file}: its SHA-256 does not match its content`);
      expect(r.stderr).not.toContain('input_ids');
    }
  }, 120_000);
});
