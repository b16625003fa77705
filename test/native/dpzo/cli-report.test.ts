// `dpzo train` writes curves.svg into its run directory and names it; `dpzo report RUN` prints the same
// summary and ε as the run's report, rewrites the chart, and for a run that ended before its report
// gives ε from the ledger (never less than what was released); a missing run is one line, exit 2.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PrivacyLedger } from '../../../lib/privacy/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { type CliResult, CLI_MAIN, ROOT, dpzo } from '../../helpers/cli.js';
import { signalOnMetrics } from '../../helpers/signal-on-metrics.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-report-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 200, 1);
writeCyclesJsonl(p.eval, 20, 2);
interface Summary {
  curves: string;
  steps: number;
  stopReason: string;
  releases: number;
  epsilon: { pld: number; rdp: number };
}
const last = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Summary;

let trained: Summary;
beforeAll(async () => {
  const r = await dpzo('train', '--model', p.model, '--data', p.train, '--eval', p.eval, '--eval-public', '--eval-every', '4', '--task', 'tokens',
    '--epsilon', '6', '--delta', '1e-5', '--steps', '12', '--batch-size', '10', '--threads', '1', '--out', p.run, '--json');
  expect(r.status, r.stderr).toBe(0);
  trained = last(r);
}, 120_000);

describe('curves.svg and dpzo report', () => {
  it('train writes curves.svg with one ε point per release and the budget', () => {
    expect(trained.curves).toBe(join(p.run, 'curves.svg'));
    const svg = readFileSync(trained.curves, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('budget ε = 6');
    const polylines = [...svg.matchAll(/points="([^"]+)"/g)].map((m) => m[1].split(' ').length);
    expect(polylines).toContain(13); // ε before the first release and after each of the 12
  });

  it('report prints the run report and rewrites the chart', async () => {
    rmSync(join(p.run, 'curves.svg'));
    const [json, text] = await Promise.all([dpzo('report', p.run, '--json'), dpzo('report', p.run)]);
    expect(json.status, json.stderr).toBe(0);
    const r = last(json);
    expect(r.epsilon).toEqual(trained.epsilon);
    expect(r.steps).toBe(12);
    expect(existsSync(join(p.run, 'curves.svg'))).toBe(true);
    expect(text.stdout).toMatch(/^status +completed: 12 of 12 steps/m);
    expect(text.stdout).toMatch(/^curves +.*curves\.svg$/m);
  });

  it('a copied run is reported as the copy: the run row named the directory it trained in', async () => {
    const moved = join(tmp.dir, 'moved-run');
    cpSync(p.run, moved, { recursive: true });
    const text = await dpzo('report', moved);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^run +${moved.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(text.stdout).not.toContain(p.run + '\n');
  });

  it('a run directory that cannot take the chart still gets its summary, with a warning (it failed ERR_IO)', async () => {
    const blocked = join(tmp.dir, 'blocked-run');
    cpSync(p.run, blocked, { recursive: true });
    // a directory where curves.svg goes: the write fails as on a read-only run (root, as in CI, ignores chmod)
    rmSync(join(blocked, 'curves.svg'), { force: true });
    mkdirSync(join(blocked, 'curves.svg'));
    const [json, text] = await Promise.all([dpzo('report', blocked, '--json'), dpzo('report', blocked)]);
    expect(json.status, json.stderr).toBe(0);
    expect(last(json).epsilon).toEqual(trained.epsilon);
    expect(last(json).curves).toBeNull();
    expect(json.stderr).toMatch(/^dpzo report: warning: .*curves\.svg: cannot write the chart/);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^status +completed: 12 of 12 steps/m);
    expect(text.stdout).toMatch(/^curves +not written/m);
    expect(readdirSync(blocked).filter((f) => f.includes('tmp'))).toEqual([]);
  });

  it('a run without its report: ε from the ledger, not less than the report said', async () => {
    const file = join(p.run, 'metrics.jsonl');
    writeFileSync(file, readFileSync(file, 'utf8').split('\n').filter((l) => !l.includes('"type":"report"')).join('\n'));
    const r = await dpzo('report', p.run, '--json');
    expect(r.status, r.stderr).toBe(0);
    const s = last(r);
    expect(s.stopReason).toBe('unfinished');
    expect(s.releases).toBe(12);
    expect(s.epsilon.pld).toBeCloseTo(trained.epsilon.pld, 12);
    expect(s.epsilon.rdp).toBeCloseTo(trained.epsilon.rdp, 12);
  });

  it('a non-private run without its report says why it is not private: ε = ∞ (it blamed test hooks)', async () => {
    const out = join(tmp.dir, 'run-inf');
    const r0 = await dpzo('train', '--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', 'inf', '--delta', '1e-5', '--steps', '3', '--batch-size', '10',
      '--threads', '1', '--out', out, '--json');
    expect(r0.status, r0.stderr).toBe(0);
    const metrics = join(out, 'metrics.jsonl');
    writeFileSync(metrics, readFileSync(metrics, 'utf8').split('\n').filter((l) => !l.includes('"type":"report"')).join('\n'));
    const r = await dpzo('report', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^WARNING +NOT PRIVATE: epsilon is ∞/m);
    expect(r.stdout).not.toMatch(/test hooks/);
    // ∞ as every other table writes it (it read 'Infinity (PLD), Infinity (RDP)' and 'ε = Infinity')
    expect(r.stdout).toMatch(/^ε spent +∞ \(PLD\), ∞ \(RDP\) at δ = 0\.00001, from the ledger$/m);
    expect(r.stdout).toMatch(/^budget +ε = ∞, δ = 0\.00001$/m);
  });

  it('a run without its report whose ledger was cut (5 of 12 releases left) is refused: it printed ε of the 5', async () => {
    const cut = join(tmp.dir, 'run-ledger-cut');
    cpSync(p.run, cut, { recursive: true });
    const metrics = join(cut, 'metrics.jsonl');
    writeFileSync(metrics, readFileSync(metrics, 'utf8').split('\n').filter((l) => !l.includes('"type":"report"')).join('\n'));
    const ledger = join(cut, 'ledger.jsonl');
    writeFileSync(ledger, readFileSync(ledger, 'utf8').split('\n').slice(0, 6).join('\n') + '\n'); // header + 5 releases
    const r = await dpzo('report', cut, '--json');
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/run-ledger-cut: the ledger has 5 releases but the trajectory 12 steps.*\[ERR_RUN_CORRUPT\]$/m);
    expect(r.stdout).toBe('');
  });

  it('a directory that is not a run: one line, exit 2', async () => {
    const r = await dpzo('report', join(tmp.dir, 'nope'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not a dpzo run directory/);
  });
});

/**
 * `dpzo train` (a new run, or --resume) until `until` holds of metrics.jsonl, then `signal`: SIGINT ends
 * with the run's report, SIGKILL (a crash) with none.
 */
function trainUntil(out: string, resume: boolean, until: (metrics: string) => boolean, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const args = [CLI_MAIN, 'train', '--out', out];
    if (resume) args.push('--resume');
    else
      args.push('--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp');
    if (!resume) args.push('--steps', '100000', '--batch-size', '10', '--threads', '1');
    const c = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
    const stop = signalOnMetrics(c, out, until, signal);
    c.on('error', reject);
    c.on('close', (status) => {
      stop();
      resolve(status);
    });
  });
}

describe('dpzo report after a resumed run crashed', () => {
  it('a report line older than the ledger is not the run\'s summary: ε from the ledger, never less than released', { timeout: 180_000 }, async () => {
    const out = join(tmp.dir, 'run-resumed');
    // Ctrl-C: the run ends with a report of the releases so far
    expect(await trainUntil(out, false, (m) => m.includes('"type":"step"'), 'SIGINT')).toBe(130);
    const reported = (s: string) => s.split('\n').findIndex((l) => l.includes('"type":"report"'));
    // --resume, killed (no report) once it has logged steps past that report
    const stepsAfterReport = (m: string) => {
      const lines = m.split('\n');
      return lines.slice(reported(m) + 1).filter((l) => l.includes('"type":"step"')).length >= 5;
    };
    expect(await trainUntil(out, true, stepsAfterReport, 'SIGKILL')).toBe(null);
    const ledger = await PrivacyLedger.open(join(out, 'ledger.jsonl'), { readOnly: true, create: false });
    const released = ledger.length;
    const spent = ledger.spent(1e-5);
    await ledger.close();
    const r = await dpzo('report', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const s = last(r);
    // the stale report said ε of the releases before the Ctrl-C: less than the ledger holds
    expect(s.epsilon.rdp).toBeGreaterThanOrEqual(spent.rdp!.epsilon);
    expect(s.releases).toBe(released);
    expect(s.stopReason).toBe('unfinished');
    const text = await dpzo('report', out);
    expect(text.stdout).toMatch(new RegExp(`^status +unfinished: .*${released} released`, 'm'));
  });
});
