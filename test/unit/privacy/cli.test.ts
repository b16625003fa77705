// `dpzo account` and `dpzo calibrate`: in-process through commander, plus the real entry point for exit codes.
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PrivacyLedger } from '../../../lib/privacy/index.js';
import { CLI_MAIN } from '../../helpers/cli.js';
import { runPrivacyCli as run } from './in-process-cli.js';

afterEach(() => vi.restoreAllMocks());

describe('dpzo account', () => {
  it('--json with --accountant rdp: epsilon, delta, accountant and the optimal order (Opacus value)', async () => {
    const j = JSON.parse(
      await run(['account', '--sample-rate', '0.04', '--noise-multiplier', '1.5', '--steps', '2250', '--delta', '1e-5', '--accountant', 'rdp', '--json']),
    );
    expect(j.accountant).toBe('rdp');
    expect(Math.abs(j.epsilon - 7.32911117143)).toBeLessThan(1e-7);
    expect(j.order).toBe(3.9);
    expect(j.delta).toBe(1e-5);
  });
  it('--steps 0: the table says ε 0 (no releases), as --json does (it named no ε at all)', async () => {
    const args = ['account', '--sample-rate', '0.01', '--noise-multiplier', '1', '--steps', '0', '--delta', '1e-5'];
    expect(await run(args)).toMatch(/^epsilon\s+0 \(no releases\)$/m);
    expect(JSON.parse(await run([...args, '--json']))).toMatchObject({ epsilon: 0, results: [] });
  });
  it('--accountant all (default): top level is PLD, results[] holds every accountant', async () => {
    const j = JSON.parse(
      await run([
        'account',
        '--mechanism',
        'laplace',
        '--sample-rate',
        '0.2',
        '--laplace-scale',
        '0.5',
        '--clip',
        '1',
        '--steps',
        '3',
        '--delta',
        '1e-14',
        '--json',
      ]),
    );
    expect(j.accountant).toBe('pld');
    expect(j.results.map((r: { accountant: string }) => r.accountant)).toEqual(['pld', 'rdp', 'pure']);
    expect(Math.abs(j.epsilon - 2.46964)).toBeLessThan(1e-3);
    expect(j.results[2].epsilon).toBeCloseTo(2.4696449716730733, 12);
    expect(j.results[1].epsilon).toBeGreaterThanOrEqual(j.results[0].epsilon);
  });
  it('prints a table without --json', async () => {
    const out = await run(['account', '--sample-rate', '0.1', '--noise-multiplier', '1', '--steps', '10', '--delta', '1e-5', '--accountant', 'rdp']);
    expect(out).toMatch(/epsilon rdp\s+\d\.\d+ \(order \d+/);
  });
  it('a δ below the PLD\'s mass at ε = ∞ (--delta 1e-300) says so: the release has noise (it read "a release without noise: NOT PRIVATE")', async () => {
    const args = ['account', '--sample-rate', '0.01', '--noise-multiplier', '1', '--steps', '100', '--delta', '1e-300'];
    const out = await run(args);
    expect(out).not.toMatch(/without noise|NOT PRIVATE/);
    // the PLD accountant then reports the RDP bound (both bound the same history), and says why
    expect(out).toMatch(/epsilon pld\s+\d+\.\d+ \(the RDP bound, below the PLD's own: δ is below \d\.\d+e-\d+, the PLD's probability mass at ε = ∞ .*\)/);
    expect(out).toMatch(/epsilon rdp\s+\d+\.\d+ \(order/);
    const j = JSON.parse(await run([...args, '--json'])) as { results: { accountant: string; epsilon: unknown; infinityMass?: number; bound?: string }[] };
    expect(j.results[0]).toMatchObject({ accountant: 'pld', epsilon: j.results[1]!.epsilon, bound: 'rdp' });
    expect(j.results[0]!.infinityMass).toBeGreaterThan(1e-300);
    expect(j.results[0]!.infinityMass).toBeLessThan(1e-6);
  });
  it("the headline ε is the smallest bound: with no finite PLD ε at δ = 1e-300 it is RDP's (it was Infinity)", async () => {
    const args = ['account', '--sample-rate', '0.01', '--noise-multiplier', '1', '--steps', '100', '--delta', '1e-300', '--json'];
    const j = JSON.parse(await run(args)) as {
      epsilon: number;
      accountant: string;
      order?: number;
      results: { accountant: string; epsilon: unknown; order?: number }[];
    };
    const rdp = j.results.find((r) => r.accountant === 'rdp')!;
    expect(typeof rdp.epsilon).toBe('number');
    expect(j.accountant).toBe('rdp');
    expect(j.epsilon).toBe(rdp.epsilon);
    expect(j.order).toBe(rdp.order);
  });
  it('bad input throws ERR_ARGUMENT naming the flag', async () => {
    await expect(run(['account', '--sample-rate', '0', '--noise-multiplier', '1', '--steps', '10', '--delta', '1e-5'])).rejects.toMatchObject({
      code: 'ERR_ARGUMENT',
      message: expect.stringMatching(/--sample-rate/),
    });
    await expect(run(['account', '--sample-rate', '0.1', '--noise-multiplier', 'abc', '--steps', '10', '--delta', '1e-5'])).rejects.toThrow(
      /--noise-multiplier/,
    );
    await expect(run(['account', '--sample-rate', '0.1', '--noise-multiplier', '1', '--steps', '2.5', '--delta', '1e-5'])).rejects.toThrow(/--steps/);
    await expect(run(['account', '--sample-rate', '0.1', '--noise-multiplier', '1', '--steps', '10', '--delta', '1'])).rejects.toThrow(/--delta/);
    await expect(run(['account', '--sample-rate', '0.1', '--laplace-scale', '1', '--steps', '10', '--delta', '1e-5'])).rejects.toThrow(/--laplace-scale/);
  });
  it('--dataset naming a directory or a missing file: ERR_DATA naming the path (a directory was a bare EISDIR naming nothing)', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dpzo-cli-'));
    try {
      await expect(run(['account', '--dataset', dir])).rejects.toMatchObject({ code: 'ERR_DATA', message: `${dir}: cannot read (EISDIR)` });
      const missing = path.join(dir, 'missing.jsonl');
      await expect(run(['account', '--dataset', missing])).rejects.toMatchObject({ code: 'ERR_DATA', message: `${missing}: cannot read (ENOENT)` });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
  it('--repair-torn-tail without --ledger is refused naming it (it was ignored: a torn dataset ledger stayed torn)', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dpzo-cli-'));
    vi.stubEnv('DPZO_HOME', path.join(dir, 'home'));
    try {
      const data = path.join(dir, 'train.jsonl');
      await fsp.writeFile(data, '{"input_ids":[1,2]}\n');
      for (const args of [
        ['account', '--dataset', data, '--delta', '1e-5', '--repair-torn-tail'],
        ['account', '--sample-rate', '0.1', '--noise-multiplier', '1', '--steps', '10', '--delta', '1e-5', '--repair-torn-tail'],
      ]) {
        await expect(run(args), args.join(' ')).rejects.toMatchObject({
          code: 'ERR_ARGUMENT',
          message: expect.stringMatching(/^--repair-torn-tail must be used with --ledger only/),
        });
      }
    } finally {
      vi.unstubAllEnvs();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
  it('--ledger: accounts the recorded releases with the budget δ', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dpzo-cli-'));
    try {
      const file = path.join(dir, 'l.jsonl');
      const l = await PrivacyLedger.open(file, { budget: { epsilon: 5, delta: 1e-6 }, accountant: 'rdp' });
      for (let i = 0; i < 20; i++) await l.append({ mechanism: 'gaussian', sampleRate: 0.05, noiseMultiplier: 1, clip: 1 });
      const want = l.spent();
      await l.close();
      const j = JSON.parse(await run(['account', '--ledger', file, '--json']));
      expect(j.releases).toBe(20);
      expect(j.delta).toBe(1e-6);
      expect(j.accountant).toBe('rdp');
      expect(j.epsilon).toBe(want.epsilon);
      expect(j.budget).toEqual({ epsilon: 5, delta: 1e-6 });
      await fsp.appendFile(file, '{"torn');
      await expect(run(['account', '--ledger', file])).rejects.toMatchObject({ code: 'ERR_LEDGER_TORN' });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dpzo calibrate', () => {
  it('--opacus-compat reproduces Opacus σ = 1.416 for T = 2250', async () => {
    const j = JSON.parse(
      await run(['calibrate', '--epsilon', '8', '--delta', '1e-5', '--sample-rate', '0.04', '--steps', '2250', '--opacus-compat', '--json']),
    );
    expect(Math.abs(j.noiseMultiplier - 1.416)).toBeLessThan(5e-5);
    expect(j.epsilon).toBeLessThanOrEqual(8);
  });
  it("--accountant prv is Opacus' name for PLD, as train and account take it (calibrate refused it)", async () => {
    const base = ['calibrate', '--epsilon', '8', '--delta', '1e-5', '--sample-rate', '0.04', '--steps', '200', '--json'];
    const [prv, pld] = [JSON.parse(await run([...base, '--accountant', 'prv'])), JSON.parse(await run([...base, '--accountant', 'pld']))];
    expect(prv).toEqual(pld);
    expect(prv.accountant).toBe('pld');
  });
  it('Laplace with the pure accountant gives laplaceScale and epsilon', async () => {
    const j = JSON.parse(
      await run(['calibrate', '--epsilon', '1', '--sample-rate', '0.1', '--steps', '100', '--mechanism', 'laplace', '--accountant', 'pure', '--json']),
    );
    expect(j.laplaceScale).toBeGreaterThan(0);
    expect(j.epsilon).toBeLessThanOrEqual(1);
    expect(j.epsilon).toBeGreaterThan(1 - 1e-9);
  });
  it('the pure accountant states δ = 0 (it printed δ 0.5, a placeholder, as the guarantee)', async () => {
    const base = ['calibrate', '--epsilon', '1', '--sample-rate', '0.1', '--mechanism', 'laplace', '--accountant', 'pure'];
    expect(JSON.parse(await run([...base, '--steps', '100', '--json']))).toMatchObject({ delta: 0, accountant: 'pure' });
    expect(JSON.parse(await run([...base, '--laplace-scale', '20', '--json']))).toMatchObject({ delta: 0, accountant: 'pure' });
    expect(await run([...base, '--steps', '100'])).toMatch(/^delta\s+0$/m);
    // another accountant still states the δ given
    expect(JSON.parse(await run([...base.slice(0, -1), 'rdp', '--delta', '1e-5', '--steps', '100', '--json']))).toMatchObject({ delta: 1e-5 });
  });
  it('--noise-multiplier instead of --steps gives the affordable steps', async () => {
    const j = JSON.parse(
      await run([
        'calibrate',
        '--epsilon',
        '8',
        '--delta',
        '1e-5',
        '--sample-rate',
        '0.04',
        '--noise-multiplier',
        '1.416015625',
        '--accountant',
        'rdp',
        '--json',
      ]),
    );
    expect(j.steps).toBeGreaterThanOrEqual(2250);
    expect(j.epsilon).toBeLessThanOrEqual(8);
  });
});

describe('dpzo calibrate: flags that do not go together are refused naming the flag (they were ignored or blamed on another field)', () => {
  const base = ['calibrate', '--epsilon', '3', '--delta', '1e-5', '--sample-rate', '0.01', '--accountant', 'rdp'];
  for (const [extra, flag] of [
    [['--laplace-scale', '2'], /^--laplace-scale must be absent for --mechanism gaussian/],
    [['--noise-multiplier', '1', '--laplace-scale', '2'], /^--laplace-scale must be absent for --mechanism gaussian/],
    [['--mechanism', 'laplace', '--noise-multiplier', '2'], /^--noise-multiplier must be absent for --mechanism laplace/],
    [['--noise-multiplier', '1', '--steps', '100'], /^--steps must be absent with --noise-multiplier/],
    [['--noise-multiplier', '1', '--tolerance', '0.01'], /^--tolerance must be absent with --noise-multiplier/],
    [['--noise-multiplier', '1', '--opacus-compat'], /^--opacus-compat must be absent with --noise-multiplier/],
    [['--mechanism', 'laplace', '--laplace-scale', '2', '--steps', '100'], /^--steps must be absent with --laplace-scale/],
  ] as const) {
    it(extra.join(' '), async () => {
      await expect(run([...base, ...extra, '--json'])).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(flag) });
    });
  }
  it('each alone still works: the steps a noise affords, the noise for T steps', async () => {
    expect(JSON.parse(await run([...base, '--noise-multiplier', '1', '--json']))).toMatchObject({ mechanism: 'gaussian', steps: expect.any(Number) });
    expect(JSON.parse(await run([...base, '--mechanism', 'laplace', '--laplace-scale', '2', '--json']))).toMatchObject({ mechanism: 'laplace' });
    expect(JSON.parse(await run([...base, '--steps', '100', '--tolerance', '0.01', '--json']))).toMatchObject({
      noiseMultiplier: expect.any(Number),
      tolerance: 0.01,
    });
  });
});

describe('flags that changed nothing are refused (they were silently ignored)', () => {
  const calibrate = ['calibrate', '--epsilon', '8', '--delta', '1e-5', '--sample-rate', '0.04', '--steps', '2250'];
  const account = ['account', '--sample-rate', '0.04', '--noise-multiplier', '1.5', '--steps', '2250', '--delta', '1e-5'];
  for (const [args, message] of [
    [[...calibrate, '--clip', '2'], /^--clip must be absent for --mechanism gaussian \(σ is a multiple of the clip C/],
    [[...calibrate, '--opacus-compat', '--tolerance', '1e-6'], /^--tolerance must be absent with --opacus-compat/],
    [[...calibrate, '--opacus-compat', '--accountant', 'pld'], /^--accountant must be rdp or absent with --opacus-compat/],
    [[...account, '--clip', '2'], /^--clip must be absent for --mechanism gaussian/],
    [[...account, '--accountant', 'rdp', '--interval', '1e-3'], /^--interval must be absent with --accountant rdp/],
  ] as const) {
    it(args.slice(-2).join(' ') + ` (${args[0]})`, async () => {
      await expect(run([...args, '--json'])).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(message) });
    });
  }
  it('where they matter they still work: --clip for Laplace, --interval for PLD, --accountant rdp with --opacus-compat', async () => {
    const lap = JSON.parse(
      await run([
        'calibrate',
        '--epsilon',
        '3',
        '--sample-rate',
        '0.01',
        '--steps',
        '100',
        '--mechanism',
        'laplace',
        '--accountant',
        'pure',
        '--clip',
        '2',
        '--json',
      ]),
    );
    const lap1 = JSON.parse(
      await run(['calibrate', '--epsilon', '3', '--sample-rate', '0.01', '--steps', '100', '--mechanism', 'laplace', '--accountant', 'pure', '--json']),
    );
    expect(lap.laplaceScale / lap1.laplaceScale).toBeCloseTo(2, 6);
    const coarse = JSON.parse(await run([...account, '--accountant', 'pld', '--interval', '1e-2', '--json']));
    const fine = JSON.parse(await run([...account, '--accountant', 'pld', '--json']));
    expect(coarse.epsilon).toBeGreaterThan(fine.epsilon);
    expect(fine).not.toHaveProperty('clip');
    const opacus = JSON.parse(await run([...calibrate, '--opacus-compat', '--accountant', 'rdp', '--json']));
    expect(Math.abs(opacus.noiseMultiplier - 1.416)).toBeLessThan(1e-3);
  });
});

describe('dpzo calibrate --noise-multiplier: steps beyond the search limit', () => {
  const args = ['calibrate', '--epsilon', '8', '--delta', '1e-5', '--sample-rate', '1e-4', '--noise-multiplier', '3', '--accountant', 'rdp'];
  it('are reported as at least the limit (it printed steps 100000000 as the exact answer, with ε 1.43 of 8 spent)', async () => {
    const j = JSON.parse(await run([...args, '--json'])) as { steps: number; atLimit: boolean; epsilon: number };
    expect(j).toMatchObject({ steps: 1e8, atLimit: true });
    expect(j.epsilon).toBeLessThan(8);
    expect(await run(args)).toMatch(/^steps\s+at least 100000000 \(the search limit/m);
    const below = JSON.parse(
      await run(['calibrate', '--epsilon', '8', '--delta', '1e-5', '--sample-rate', '0.04', '--noise-multiplier', '1', '--accountant', 'rdp', '--json']),
    ) as { steps: number; atLimit: boolean };
    expect(below.atLimit).toBe(false);
    expect(below.steps).toBeLessThan(1e8);
  });
});

describe('real entry point', () => {
  it('an error is one line on stderr, exit code 2, no stack', () => {
    const r = spawnSync(process.execPath, [CLI_MAIN, 'account', '--sample-rate', '2', '--noise-multiplier', '1', '--steps', '1', '--delta', '1e-5'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--sample-rate/);
    expect(r.stderr).not.toMatch(/\bat\b.*\.[jt]s:\d+/);
  });
  it('calibrate --tolerance below one float64 ulp is refused (the bisection never ended: mid rounded to lo or hi)', () => {
    const calibrate = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        [CLI_MAIN, 'calibrate', ...['--epsilon', '3', '--delta', '1e-5', '--sample-rate', '0.01', '--steps', '100', '--accountant', 'rdp'], ...extra],
        { encoding: 'utf8', timeout: 30_000 },
      );
    // named by the flag: it named calibrateNoise's option (tolerance)
    for (const tol of ['1e-300', '1e-17', '1']) {
      const r = calibrate('--tolerance', tol);
      expect(r.status, `--tolerance ${tol}: ${r.error?.message ?? r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^dpzo: --tolerance must be in \[2\.2\d*e-16, 1\).*got 1(e-\d+)? \[ERR_ARGUMENT\]$/m);
    }
    // the smallest accepted tolerance still ends
    const ok = calibrate('--tolerance', String(Number.EPSILON), '--json');
    expect(ok.status, ok.error?.message ?? ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ tolerance: Number.EPSILON });
  }, 90_000);
});
