// --device on every command that loads a model (issue 12), as a machine without a GPU sees it — with the
// addon built with CUDA (this machine, CI) or without: a malformed value is refused by the one parser;
// 'cuda' fails with ERR_DEVICE, one line, exit 2; DP-SGD and pretrain refuse a CUDA device before reading
// any file (their backward pass exists on the CPU only) and take 'auto' as the CPU; 'auto' and 'cpu' run;
// run.json records the device and --resume uses it unless --device is given.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { nativeAddon } from '../../lib/native.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { CLI_MAIN, ROOT, dpzo, type CliResult } from '../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-device-flag-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model, 5);
writeCyclesJsonl(p.train, 40, 1);
writeCyclesJsonl(p.eval, 8, 2);
const data = ['--data', p.train, '--task', 'tokens'];
const budget = ['--epsilon', '8', '--delta', '1e-5', '--batch-size', '8', '--threads', '1'];
const train = ['train', '--model', p.model, ...data, ...budget, '--steps', '2'];
const addon = nativeAddon();
const cudaBuilt = addon.backends.split(',').includes('cuda');
const noGpu = (addon.cudaDevices?.() ?? 0) === 0;

/** A one-line error on stderr, exit 2, with the given code. */
function expectOneLine(r: CliResult, code: string, ...parts: (string | RegExp)[]): void {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^dpzo: .*\\[${code}\\]$`));
  for (const s of parts) expect(lines[0]).toMatch(s);
}

function runJson(dir: string): { meta: { config: Record<string, unknown> } } {
  return JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { meta: { config: Record<string, unknown> } };
}

describe('--device on every command that loads a model', () => {
  const trained = join(tmp.dir, 'trained');
  // one run for eval and export to replay
  const made = dpzo(...train, '--out', trained);

  it('a malformed device is refused by the one parser: exit 2, one line naming the value', async () => {
    const commands = [
      train,
      [...train, '--method', 'dpsgd'],
      ['eval', '--model', p.model, ...data],
      ['export', '--run', trained, '--out', join(tmp.dir, 'never')],
      ['pretrain', '--model', p.model, ...data, '--out', join(tmp.dir, 'never')],
      ['audit', '--model', p.model, ...data, ...budget],
      ['demo'],
    ];
    for (const args of commands) {
      const r = await dpzo(...args, '--device', 'cuda:01');
      expectOneLine(r, 'ERR_ARGUMENT', /'cuda:01'/, /cpu, cuda, cuda:N/);
    }
  });

  it.skipIf(!noGpu)("'cuda' without a GPU: ERR_DEVICE, one line, exit 2, on train, eval, export, audit and demo", async () => {
    expect((await made).status).toBe(0);
    const reason = cudaBuilt ? /no CUDA device is visible/ : /has no CUDA backend/;
    const commands = [
      [...train, '--out', join(tmp.dir, 'cuda-run')],
      ['eval', '--model', p.model, ...data],
      ['eval', '--run', trained, ...data],
      ['export', '--run', trained, '--out', join(tmp.dir, 'cuda-export')],
      ['audit', '--model', p.model, ...data, ...budget, '--steps', '2', '--runs', '2'],
      ['demo', '--steps', '1', '--no-baseline', '--json', '--out', join(tmp.dir, 'cuda-demo')],
    ];
    for (const args of commands) expectOneLine(await dpzo(...args, '--device', 'cuda'), 'ERR_DEVICE', /device 'cuda'/, reason);
  });

  it('DP-SGD and pretrain refuse a CUDA device at option-check time (before the model is read), with the reason', async () => {
    const none = join(tmp.dir, 'no-such-model');
    const dpsgd = await dpzo('train', '--model', none, ...data, ...budget, '--steps', '2', '--method', 'dpsgd', '--device', 'cuda:1');
    expectOneLine(dpsgd, 'ERR_TRAIN_OPTION', /^dpzo: --device 'cuda:1' cannot run --method dpsgd/, /CPU only/);
    // the config file's field is checked the same way
    const config = join(tmp.dir, 'dpsgd-cuda.json');
    writeFileSync(config, JSON.stringify({ model: none, method: 'dpsgd', device: 'cuda' }));
    const fromFile = await dpzo('train', '--config', config, ...data, ...budget, '--steps', '2');
    expectOneLine(fromFile, 'ERR_TRAIN_OPTION', /^dpzo: --config .*dpsgd-cuda\.json: device 'cuda' cannot run method dpsgd/);
    const pretrain = await dpzo('pretrain', '--model', none, ...data, '--out', join(tmp.dir, 'never'), '--device', 'cuda');
    expectOneLine(pretrain, 'ERR_TRAIN_OPTION', /device 'cuda' cannot run pretrain/);
    const audit = await dpzo('audit', '--model', none, ...data, ...budget, '--method', 'dpsgd', '--device', 'cuda');
    expectOneLine(audit, 'ERR_TRAIN_OPTION', /^dpzo: --device 'cuda' cannot run --method dpsgd/);
  });

  it("a bad device in a config file names the file and the field", async () => {
    const config = join(tmp.dir, 'bad-device.json');
    writeFileSync(config, JSON.stringify({ device: 'gpu' }));
    const r = await dpzo(...train, '--config', config);
    expectOneLine(r, 'ERR_TRAIN_OPTION', new RegExp(`${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: device: must be 'cpu', 'cuda'`));
  });

  it.skipIf(!noGpu)("'auto' runs on the CPU (no notice on a pipe) for train, DP-SGD, pretrain, eval and export; run.json records the device", async () => {
    expect((await made).status).toBe(0);
    expect(runJson(trained).meta.config.device).toBe('cpu'); // the default, recorded
    const auto = join(tmp.dir, 'auto');
    const r = await dpzo(...train, '--out', auto, '--device', 'auto', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(runJson(auto).meta.config.device).toBe('auto');
    const sgd = join(tmp.dir, 'auto-dpsgd');
    const s = await dpzo(...train, '--method', 'dpsgd', '--out', sgd, '--device', 'auto', '--json');
    expect(s.status, s.stderr).toBe(0);
    expect(s.stderr).not.toMatch(/device|notice/); // (the progress lines are there)
    expect(runJson(sgd).meta.config.device).toBe('auto');
    const pre = await dpzo('pretrain', '--model', p.model, ...data, '--steps', '2', '--batch-size', '4', '--threads', '1', '--out', join(tmp.dir, 'pre'), '--device', 'auto', '--json');
    expect(pre.status, pre.stderr).toBe(0);
    expect(pre.stderr).not.toMatch(/device|notice/);
    const ev = await dpzo('eval', '--run', trained, ...data, '--device', 'auto', '--json');
    expect(ev.status, ev.stderr).toBe(0);
    expect(ev.stderr).toBe('');
    expect(JSON.parse(ev.stdout)).toMatchObject({ stepsReplayed: 2 });
    // export replays to the same weights on either choice
    const hashes: string[] = [];
    for (const d of ['cpu', 'auto']) {
      const x = await dpzo('export', '--run', trained, '--out', join(tmp.dir, `export-${d}`), '--device', d, '--json');
      expect(x.status, x.stderr).toBe(0);
      hashes.push((JSON.parse(x.stdout) as { weightsHash: string }).weightsHash);
    }
    expect(hashes[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(hashes[1]).toBe(hashes[0]);
  });

  it.skipIf(!noGpu)('--resume uses the device run.json recorded unless --device is given', async () => {
    const run = join(tmp.dir, 'resume');
    const first = await dpzo(...train, '--out', run, '--json');
    expect(first.status, first.stderr).toBe(0);
    // a run started on a GPU machine, resumed here: the recorded device is used, and fails here …
    const file = join(run, 'run.json');
    const record = JSON.parse(readFileSync(file, 'utf8')) as { meta: { config: Record<string, unknown> } };
    record.meta.config.device = 'cuda';
    writeFileSync(file, JSON.stringify(record));
    expectOneLine(await dpzo('train', '--resume', '--out', run), 'ERR_DEVICE', /device 'cuda'/);
    // … and --device moves it (not refused as a change of plan)
    const moved = await dpzo('train', '--resume', '--out', run, '--device', 'cpu', '--json');
    expect(moved.status, moved.stderr).toBe(0);
  });

  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!noGpu || !cudaBuilt || !hasScript)("on a terminal, 'auto' says once that it runs on the CPU; DP-SGD's 'auto' with no GPU says nothing", () => {
    const onTty = (args: string[]) => {
      const cmd = `${process.execPath} ${CLI_MAIN} ${args.join(' ')} 2>&1 >/dev/null`;
      const r = spawnSync('script', ['-qc', cmd, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      return r.stdout.split(/\r?\n/).filter((l) => l.startsWith('dpzo:')); // (not the progress bar)
    };
    expect(onTty(['eval', '--model', p.model, ...data, '--device', 'auto', '--json'])).toEqual([
      "dpzo: notice: device 'auto': this dpzo build has CUDA but no CUDA device is visible; running on the CPU",
    ]);
    // no CUDA device existed: DP-SGD would have run on the CPU anyway
    expect(onTty([...train, '--method', 'dpsgd', '--device', 'auto', '--json'])).toEqual([]);
  });
});
