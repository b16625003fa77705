// `dpzo demo` as a user of the quick start meets it: a bad --steps or --out is one line naming the flag, exit 2 and
// nothing on stdout (the setup text was printed first, and a temporary directory was left); Ctrl-C / SIGTERM stop both
// fine-tunings, remove the temporary directory the demo made and exit 130 / 143 (the default handler left the
// directory, half-written runs and all); and the replay command it prints works from any directory (it named
// data/sst2/test.tsv as the package does, which failed with ENOENT elsewhere). An --out that cannot be made and a
// --steps past the demo's maximum are refused at once (the first spun forever, the second worked for hours), and the
// text output says how to replay the runs, as --json does.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { nativeAddon } from '../../lib/native.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { CLI_MAIN, ROOT, dpzo } from '../helpers/cli.js';

const tmp = makeTempDir('dpzo-demo-cli-test-');
afterAll(() => tmp.cleanup());

/** The demo's temporary directories in `tmpdir`. */
const demoDirs = (tmpdir: string) => readdirSync(tmpdir).filter((f) => f.startsWith('dpzo-demo-'));

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `dpzo demo ARGS` in `cwd`, with its own temporary folder (TMPDIR) so that what it leaves there can be seen; with
 * `kill`, that signal is sent once the progress bar shows a step (both runs are under way).
 */
function demo(o: { cwd?: string; tmpdir: string; kill?: NodeJS.Signals; killAfterMs?: number }, ...args: string[]): Promise<Run> {
  mkdirSync(o.tmpdir, { recursive: true });
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI_MAIN, 'demo', ...args], {
      cwd: o.cwd ?? ROOT,
      env: { ...process.env, TMPDIR: o.tmpdir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (o.kill && !sent && / step \d+\/\d+/.test(stderr)) {
        sent = true;
        c.kill(o.kill);
      }
    });
    // a demo that should have refused at once but went on (or hung) is killed: the test then fails on its status
    const timer = o.killAfterMs === undefined ? undefined : setTimeout(() => c.kill('SIGKILL'), o.killAfterMs);
    c.on('error', reject);
    c.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

describe('dpzo demo: bad flags', () => {
  // 100001: past the demo's maximum (DEMO_MAX_STEPS), which it took and worked on for hours
  for (const steps of ['0', '-5', '100001']) {
    it(`--steps ${steps}: one line naming --steps, exit 2, nothing printed or left behind`, { timeout: 60_000 }, async () => {
      const t = join(tmp.dir, `tmp-steps${steps}`);
      const r = await demo({ tmpdir: t, killAfterMs: 30_000 }, '--steps', steps);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('--steps');
      expect(lines[0]).toContain('[ERR_ARGUMENT]');
      expect(demoDirs(t)).toEqual([]);
    });
  }

  it('--out holding an earlier demo run: one line naming --out, exit 2, nothing printed', { timeout: 60_000 }, async () => {
    const out = join(tmp.dir, 'earlier');
    mkdirSync(join(out, 'dpzo-eps8'), { recursive: true });
    writeFileSync(join(out, 'dpzo-eps8', 'run.json'), '{}\n');
    const r = await demo({ tmpdir: join(tmp.dir, 'tmp-out') }, '--steps', '2', '--out', out);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`--out ${out}`);
    // the demo has no --resume to offer
    expect(lines[0]).not.toContain('--resume');
  });

  // Node's recursive mkdir never returns where mkdir fails with ENOENT under an existing parent (procfs): the demo
  // spun at full CPU, deaf to SIGTERM, for /proc/nope and for /proc itself (which exists, so passed the --out check)
  for (const out of ['/proc/nope', '/proc']) {
    it.skipIf(process.platform !== 'linux')(`--out ${out} (cannot be made): one line naming --out, exit 2, at once`, { timeout: 60_000 }, async () => {
      const t = join(tmp.dir, `tmp-out-proc${out.length}`);
      const r = await demo({ tmpdir: t, killAfterMs: 30_000 }, '--steps', '2', '--threads', '1', '--out', out);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`--out ${out}`);
      expect(lines[0]).toContain('[ERR_ARGUMENT]');
      expect(demoDirs(t)).toEqual([]);
    });
  }

  it('--out under a file: one line naming --out, exit 2, nothing made', { timeout: 60_000 }, async () => {
    const file = join(tmp.dir, 'a-file');
    writeFileSync(file, 'x\n');
    const r = await demo({ tmpdir: join(tmp.dir, 'tmp-out-file'), killAfterMs: 30_000 }, '--steps', '2', '--out', join(file, 'a', 'b'));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`--out ${join(file, 'a', 'b')}`);
  });
});

describe("dpzo demo --device auto without a CUDA device", () => {
  it.skipIf((nativeAddon().cudaDevices?.() ?? 0) > 0)(
    'runs the two fine-tunings side by side on the CPU, each with its own dataset ledger (it ran them one after the other, on one shared ledger)',
    { timeout: 120_000 },
    async () => {
      const out = join(tmp.dir, 'auto-out');
      const r = await demo({ tmpdir: join(tmp.dir, 'tmp-auto') }, '--device', 'auto', '--steps', '2', '--out', out, '--json');
      expect(r.status, r.stderr).toBe(0);
      // side by side: each run on half the cores (one after the other, each took --threads' default, all of them)
      const threads = (run: string) => (JSON.parse(readFileSync(join(out, run, 'run.json'), 'utf8')) as { meta: { config: { threads?: number } } }).meta.config.threads;
      expect(threads('dpzo-eps8')).toBe(Math.max(1, Math.ceil(availableParallelism() / 2)));
      expect(threads('zo-not-private')).toBe(Math.max(1, Math.floor(availableParallelism() / 2)));
      expect(existsSync(join(out, 'dpzo-home-not-private'))).toBe(true);
    },
  );
});

describe('dpzo demo without a usable temporary folder', () => {
  it('TMPDIR missing: one line naming TMPDIR and --out, exit 2', { timeout: 60_000 }, async () => {
    const missing = join(tmp.dir, 'no-such-tmp');
    const c = spawn(process.execPath, [CLI_MAIN, 'demo', '--steps', '1'], { cwd: ROOT, env: { ...process.env, TMPDIR: missing }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const status = await new Promise<number | null>((res) => c.on('close', res));
    expect(status).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`TMPDIR`);
    expect(lines[0]).toContain(missing);
    expect(lines[0]).toContain('--out');
  });
});

describe('dpzo demo --help', () => {
  it('gives a duration that holds on 2 CPU cores (80-120 s in the README\'s runs), not "about 1½ minutes"', async () => {
    const r = await demo({ tmpdir: join(tmp.dir, 'tmp-help') }, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('about 1–2 minutes on 2 CPU cores');
    expect(r.stdout).toContain('at most 100000');
  });
});

describe('dpzo demo: a device that is not there', () => {
  it.skipIf((nativeAddon().cudaDevices?.() ?? 0) > 0)('--device cuda without one: one line, exit 2, no setup text', { timeout: 60_000 }, async () => {
    const t = join(tmp.dir, 'tmp-cuda');
    const r = await demo({ tmpdir: t }, '--device', 'cuda', '--steps', '1');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('[ERR_DEVICE]');
    expect(demoDirs(t)).toEqual([]);
  });
});

describe('dpzo demo: signals', () => {
  // SIGTERM only: SIGINT takes the same path (lib/cli/interrupt.ts, tested with train and export), and each run here costs ~10 s
  for (const [signal, code] of [['SIGTERM', 143]] as const) {
    it(`${signal} mid-run: both runs stop, the temporary directory is removed, exit ${code}`, { timeout: 120_000 }, async () => {
      const t = join(tmp.dir, `tmp-${signal}`);
      const r = await demo({ tmpdir: t, kill: signal }, '--steps', '3000', '--threads', '1');
      expect(r.signal).toBeNull();
      expect(r.status).toBe(code);
      expect(demoDirs(t)).toEqual([]);
      const last = r.stderr.trim().split('\n').at(-1)!;
      expect(last).toBe(`dpzo: demo stopped by ${signal}`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      // no results of a cut-short run
      expect(r.stdout).not.toContain('ε spent');
    });
  }
});

describe('dpzo demo from another directory', () => {
  it('the replay command it prints reproduces both runs from there', { timeout: 120_000 }, async () => {
    const cwd = join(tmp.dir, 'elsewhere');
    mkdirSync(cwd, { recursive: true });
    const r = await demo({ cwd, tmpdir: join(tmp.dir, 'tmp-cwd') }, '--steps', '8', '--threads', '1', '--out', 'out', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim()) as {
      dpzoAccuracy: number;
      nonPrivateAccuracy: number;
      seeds: { directions: string };
      runs: { dpzo: string; nonPrivate: string };
    };
    const data = /--data (\S+) replays/.exec(j.seeds.directions)?.[1];
    expect(data).toBeDefined();
    for (const [run, accuracy] of [
      [j.runs.dpzo, j.dpzoAccuracy],
      [j.runs.nonPrivate, j.nonPrivateAccuracy],
    ] as const) {
      const c = spawn(process.execPath, [CLI_MAIN, 'eval', '--run', run, '--data', data!, '--threads', '1', '--json'], {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const status = await new Promise<number | null>((res) => c.on('close', res));
      expect(status, stderr).toBe(0);
      expect((JSON.parse(stdout.trim()) as { accuracy: number }).accuracy).toBe(accuracy);
    }
  });
});

describe('dpzo demo text output', () => {
  it('prints the replay command for its run, and that command gives the printed accuracy', { timeout: 120_000 }, async () => {
    const out = join(tmp.dir, 'text-out');
    const r = await demo({ tmpdir: join(tmp.dir, 'tmp-text') }, '--steps', '2', '--threads', '1', '--no-baseline', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    // the text output named the run directories but not that (or how) they replay: only --json said it
    const replay = /^replay\s+dpzo (eval --run \S+ --data \S+)/m.exec(r.stdout)?.[1];
    expect(replay, r.stdout).toBeDefined();
    expect(replay).toContain(`--run ${join(out, 'dpzo-eps8')} `);
    const printed = /^DP-ZO ε = 8\s+(\d+\.\d)%/m.exec(r.stdout)?.[1];
    expect(printed).toBeDefined();
    const e = await dpzo(...replay!.split(' '), '--threads', '1', '--json');
    expect(e.status, e.stderr).toBe(0);
    expect((100 * (JSON.parse(e.stdout.trim()) as { accuracy: number }).accuracy).toFixed(1)).toBe(printed);
  });
});
