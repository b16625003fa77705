// Ctrl-C and SIGTERM during `dpzo train` (issue 16.7): the step in flight finishes, the report is
// printed, the run stays resumable, and the exit status is 128 + the signal (130, 143), so that
// `dpzo train && dpzo export` stops there instead of exporting a cut-short run.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { ROOT } from '../../helpers/cli.js';
import { signalOnMetrics } from '../../helpers/signal-on-metrics.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-signals-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 200, 1);

function trainUntilStep(out: string, signal: NodeJS.Signals): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', join(ROOT, 'lib', 'cli', 'main.ts'), 'train', '--model', p.model, '--data', p.train, '--task', 'tokens'];
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
