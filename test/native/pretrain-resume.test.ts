// `dpzo pretrain --resume`: a pretraining run interrupted (Ctrl-C, a crash, a reboot) started again from zero; its
// checkpoints held the weights only. Now a checkpoint holds what a continuation needs (trainer_state.json: the step,
// the settings, the data's and the base's hashes; checkpoint.bin: θ and Adam's m, v, t) and a resumed run ends with the
// same weights, bit for bit, as the run never interrupted; a resume with other settings, data or model, or from a
// checkpoint without (or with a damaged) state, is refused in one line.
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadDataset, loadModel } from '../../lib/index.js';
import type { Model } from '../../lib/model/types.js';
import { resumeCommand } from '../../lib/cli/pretrain-resume.js';
import { pretrain, type PretrainOptions } from '../../lib/pretrain/pretrain.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { type CliResult, dpzo, expectOneLineFailure } from '../helpers/cli.js';
import { writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-pretrain-resume-');
afterAll(() => tmp.cleanup());
const MODEL = writeTinyModel(join(tmp.dir, 'model'));
const OTHER_MODEL = writeTinyModel(join(tmp.dir, 'other-model'), 8);
// 22 examples in batches of 4: each epoch ends with a short batch, and the runs cross epochs (a new shuffle)
const TRAIN = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 22, 1);
const EVAL = writeCyclesJsonl(join(tmp.dir, 'eval.jsonl'), 6, 2);

async function open() {
  const model = await loadModel(MODEL, { threads: 1, dtype: 'float32' });
  const data = (f: string) => loadDataset(f, { task: { kind: 'tokens' }, modelDir: MODEL, config: model.config });
  return { model, train: data(TRAIN), eval: data(EVAL) };
}

/** The trained weights' bytes. */
async function weights(model: Model): Promise<Buffer> {
  const t = await model.getTrainable!();
  return Buffer.from(t.buffer, t.byteOffset, t.byteLength);
}

const SETTINGS = { steps: 14, batchSize: 4, lr: 3e-2, warmupSteps: 2, seed: 5 } satisfies Partial<PretrainOptions>;

/** pretrain on a fresh copy of the tiny model: the final weights and the report. */
async function run(o: Partial<PretrainOptions>) {
  const m = await open();
  try {
    const report = await pretrain(m.model, { train: m.train, eval: m.eval, ...SETTINGS, ...o });
    return { report, weights: await weights(m.model), hash: await m.model.weightsHash() };
  } finally {
    m.model.dispose();
  }
}

describe('pretrain resume (library)', () => {
  it('k steps, then a resume from checkpoint-k, ends with the weights of the run never interrupted, bit for bit', async () => {
    const whole = await run({ outDir: join(tmp.dir, 'lib-whole'), checkpointEvery: 6 });
    expect(whole.report.checkpoints).toEqual([join(tmp.dir, 'lib-whole', 'checkpoint-6'), join(tmp.dir, 'lib-whole', 'checkpoint-12')]);
    for (const f of ['trainer_state.json', 'checkpoint.bin', 'model.safetensors', 'config.json'])
      expect(existsSync(join(tmp.dir, 'lib-whole', 'checkpoint-6', f)), f).toBe(true);
    // from the out directory (its latest checkpoint, 12) and from checkpoint-6 itself
    const latest = await run({ resume: join(tmp.dir, 'lib-whole'), evalEvery: 5 });
    const six = await run({ resume: join(tmp.dir, 'lib-whole', 'checkpoint-6'), outDir: join(tmp.dir, 'lib-six'), checkpointEvery: 6 });
    for (const r of [latest, six]) {
      expect(r.report).toMatchObject({ stopReason: 'completed', steps: 14 });
      expect(r.weights.equals(whole.weights)).toBe(true);
      expect(r.hash).toBe(whole.hash);
      expect(r.report.trainLoss).toEqual(whole.report.trainLoss);
      expect(r.report.evalBefore).toEqual(whole.report.evalBefore);
      expect(r.report.evalAfter).toEqual(whole.report.evalAfter);
    }
    expect(latest.report.resumedFrom).toBe(12);
    expect(six.report.resumedFrom).toBe(6);
    // the checkpoint the resumed run saved is the uninterrupted run's, byte for byte
    for (const f of ['model.safetensors', 'checkpoint.bin'])
      expect(readFileSync(join(tmp.dir, 'lib-six', 'checkpoint-12', f)).equals(readFileSync(join(tmp.dir, 'lib-whole', 'checkpoint-12', f))), f).toBe(true);
    // resumed in place from checkpoint-6: checkpoint-12, there from the first run, is written again (replaced whole)
    const before = readFileSync(join(tmp.dir, 'lib-whole', 'checkpoint-12', 'model.safetensors'));
    const inPlace = await run({ resume: join(tmp.dir, 'lib-whole', 'checkpoint-6'), outDir: join(tmp.dir, 'lib-whole'), checkpointEvery: 6 });
    expect(inPlace.report.checkpoints).toEqual([join(tmp.dir, 'lib-whole', 'checkpoint-12')]);
    expect(inPlace.weights.equals(whole.weights)).toBe(true);
    expect(readFileSync(join(tmp.dir, 'lib-whole', 'checkpoint-12', 'model.safetensors')).equals(before)).toBe(true);
    expect(readdirSync(join(tmp.dir, 'lib-whole')).sort()).toEqual(['checkpoint-12', 'checkpoint-6']);
    // and the resume is not a no-op: the weights of checkpoint-6 are not the final ones
    expect(six.weights.equals((await run({ steps: 6, outDir: join(tmp.dir, 'lib-6-only') })).weights)).toBe(false);
  });

  it('a cancelled run saves a checkpoint at the step it stopped, and resuming it ends as the uninterrupted run', async () => {
    const whole = await run({});
    const controller = new AbortController();
    const out = join(tmp.dir, 'lib-cancelled');
    const cut = await run({
      outDir: out,
      signal: controller.signal,
      onStep: (s) => {
        if (s.step === 8) controller.abort(); // after 9 steps
      },
    });
    expect(cut.report).toMatchObject({ stopReason: 'cancelled', steps: 9, checkpoints: [join(out, 'checkpoint-9')] });
    expect(cut.weights.equals(whole.weights)).toBe(false);
    const resumed = await run({ resume: out });
    expect(resumed.report).toMatchObject({ stopReason: 'completed', steps: 14, resumedFrom: 9 });
    expect(resumed.weights.equals(whole.weights)).toBe(true);
  });
});

interface Out {
  steps: number;
  weightsHash: string;
  stopReason: string;
  resumedFrom: number;
  resume?: string;
}
const json = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Out;

/** Every file under `dir` (relative name → its bytes and mtime): what a command wrote there shows as a difference. */
function snapshot(dir: string): Record<string, { bytes: string; mtimeMs: number }> {
  const files: Record<string, { bytes: string; mtimeMs: number }> = {};
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const p = join(dir, f);
    if (statSync(p).isFile()) files[f] = { bytes: readFileSync(p).toString('base64'), mtimeMs: statSync(p).mtimeMs };
  }
  files['.'] = { bytes: readdirSync(dir).sort().join('/'), mtimeMs: statSync(dir).mtimeMs };
  return files;
}
const ARGS = ['--model', MODEL, '--data', TRAIN, '--task', 'tokens', '--eval', EVAL, '--eval-every', '3', '--batch-size', '4', '--lr', '0.03'];
const cli = (...extra: string[]) => dpzo('pretrain', ...ARGS, '--seed', '5', '--threads', '1', '--json', ...extra);

/** An --out whose run was killed after its checkpoint-4 (the lines of later steps in its metrics, no final model). */
async function crashedAfter4(name: string): Promise<string> {
  const out = join(tmp.dir, name);
  const r = await cli('--steps', '12', '--checkpoint-every', '4', '--out', out);
  expect(r.status, r.stderr).toBe(0);
  for (const f of readdirSync(out)) if (f !== 'checkpoint-4' && f !== 'pretrain-metrics.jsonl') rmSync(join(out, f), { recursive: true });
  // a kill in the middle of a metrics line
  writeFileSync(join(out, 'pretrain-metrics.jsonl'), readFileSync(join(out, 'pretrain-metrics.jsonl'), 'utf8') + '{"type":"step","st');
  return out;
}

describe('dpzo pretrain --resume', () => {
  it('continues a crashed run to the weights, metrics and checkpoints of the uninterrupted one', { timeout: 60_000 }, async () => {
    const whole = join(tmp.dir, 'cli-whole');
    const [w, out] = await Promise.all([cli('--steps', '12', '--checkpoint-every', '4', '--out', whole), crashedAfter4('cli-crashed')]);
    expect(w.status, w.stderr).toBe(0);
    const r = await cli('--steps', '12', '--checkpoint-every', '4', '--resume', out);
    expect(r.status, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ steps: 12, stopReason: 'completed', resumedFrom: 4, weightsHash: json(w).weightsHash });
    // (checkpoint.bin is tied to its run by a random runId: the two runs' differ there)
    for (const f of ['model.safetensors', 'checkpoint-8/model.safetensors'])
      expect(readFileSync(join(out, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
    // every step and evaluation once, as the uninterrupted run wrote them (the crashed run's later lines are gone)
    expect(readFileSync(join(out, 'pretrain-metrics.jsonl'), 'utf8')).toBe(readFileSync(join(whole, 'pretrain-metrics.jsonl'), 'utf8'));
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe(readFileSync(join(whole, 'README.md'), 'utf8'));
  });

  it('Ctrl-C leaves a checkpoint at the step it stopped and prints the command that resumes it', { timeout: 60_000 }, async () => {
    const out = join(tmp.dir, 'cli-interrupted');
    const { spawn } = await import('node:child_process');
    const { CLI_MAIN, ROOT } = await import('../helpers/cli.js');
    const args = ['pretrain', ...ARGS, '--seed', '5', '--threads', '1', '--json', '--steps', '100000', '--out', out];
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const metrics = join(out, 'pretrain-metrics.jsonl');
    const timer = setInterval(() => {
      if (existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 6) {
        clearInterval(timer);
        child.kill('SIGINT');
      }
    }, 20);
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(timer);
    expect(status).toBe(130);
    const o = JSON.parse(stdout.trim().split('\n').pop()!) as Out & { checkpoints: string[] };
    expect(o.stopReason).toBe('cancelled');
    expect(o.checkpoints).toEqual([join(out, `checkpoint-${o.steps}`)]);
    expect(o.resume).toBe(`dpzo ${args.join(' ')} --resume ${out}`);
    // what the printed command does: a resume with --steps 100000 would take long, so its state is checked instead
    const state = JSON.parse(readFileSync(join(out, `checkpoint-${o.steps}`, 'trainer_state.json'), 'utf8')) as { step: number; steps: number };
    expect(state).toMatchObject({ step: o.steps, steps: 100000 });
    const refused = await cli('--steps', '99999', '--resume', out);
    expectOneLineFailure(refused, /--steps 100000, not 99999/);
  });

  it('a finished run is not trained again: --resume OUT (or OUT/checkpoint-N) prints its recorded result and writes nothing', { timeout: 90_000 }, async () => {
    const out = join(tmp.dir, 'cli-finished');
    const bare = join(tmp.dir, 'cli-finished-no-checkpoints');
    const [done, doneBare] = await Promise.all([cli('--steps', '8', '--checkpoint-every', '4', '--out', out), cli('--steps', '8', '--out', bare)]);
    expect(done.status, done.stderr).toBe(0);
    expect(doneBare.status, doneBare.stderr).toBe(0);
    const before = snapshot(out);
    const beforeBare = snapshot(bare);
    for (const [dir, run] of [
      [out, done],
      [join(out, 'checkpoint-4'), done],
      [bare, doneBare], // (no checkpoint at all: it was refused as one with nothing to resume from)
    ] as const) {
      const again = await cli('--steps', '8', '--checkpoint-every', '4', '--resume', dir);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/is complete \(all 8 steps\): nothing to resume/);
      // the very object the run printed (its seconds, its resumedFrom 0: nothing was taken again)
      expect(again.stdout).toBe(run.stdout);
    }
    const table = await dpzo('pretrain', ...ARGS, '--seed', '5', '--threads', '1', '--steps', '8', '--resume', out);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/completed: 8 of 8 steps/);
    expect(snapshot(out)).toEqual(before);
    expect(snapshot(bare)).toEqual(beforeBare);
    // the checks of a resume come first: a finished run resumed with other settings is refused as an unfinished one
    expectOneLineFailure(await cli('--steps', '9', '--resume', out), /--steps 8, not 9/);
    expectOneLineFailure(await cli('--steps', '8', '--resume', out, '--out', bare), /--out .*: a resumed run continues in its own directory/);
  });

  it('a checkpoint copied out of its run (another name) needs --out: the final model is not written into it', { timeout: 90_000 }, async () => {
    const [src, whole] = await Promise.all([crashedAfter4('cli-copied-src'), cli('--steps', '12', '--checkpoint-every', '4', '--out', join(tmp.dir, 'cli-copied-whole'))]);
    expect(whole.status, whole.stderr).toBe(0);
    const copy = join(tmp.dir, 'my-copy');
    cpSync(join(src, 'checkpoint-4'), copy, { recursive: true });
    const kept = snapshot(copy);
    expectOneLineFailure(
      await cli('--steps', '12', '--checkpoint-every', '4', '--resume', copy),
      /^dpzo: --resume .*my-copy: a checkpoint outside its run's directory \(not named checkpoint-<step>\): give --out/,
    );
    const dest = join(tmp.dir, 'my-copy-continued');
    const r = await cli('--steps', '12', '--checkpoint-every', '4', '--resume', copy, '--out', dest);
    expect(r.status, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ steps: 12, stopReason: 'completed', resumedFrom: 4, weightsHash: json(whole).weightsHash });
    expect(readFileSync(join(dest, 'model.safetensors')).equals(readFileSync(join(tmp.dir, 'cli-copied-whole', 'model.safetensors')))).toBe(true);
    expect(existsSync(join(dest, 'checkpoint-8', 'checkpoint.bin'))).toBe(true);
    expect(snapshot(copy)).toEqual(kept);
    // a second time into the same --out: it is a run of its own now, not empty
    expectOneLineFailure(await cli('--steps', '12', '--resume', copy, '--out', dest), /my-copy-continued is not empty: choose a new --out directory/);
  });

  it('the printed command is the run\'s own, quoted for the shell, with one --resume', () => {
    const args = ['pretrain', '--data', "my file's.jsonl", '--resume', 'old', '--resume=older', '--lr', '0.03'];
    expect(resumeCommand(args, '/runs/a b')).toBe(`dpzo pretrain --data 'my file'\\''s.jsonl' --lr 0.03 --resume '/runs/a b'`);
  });

  describe('refuses a resume it cannot continue exactly, in one line (exit 2)', () => {
    let out = '';
    beforeAll(async () => {
      out = await crashedAfter4('cli-refusals');
    }, 30_000);
    const resume = (...extra: string[]) =>
cli('--steps', '12', '--checkpoint-every', '4', '--resume', out, ...extra);

    it.each([
      ['--steps', ['--steps', '13'], /--steps 12, not 13/],
      ['--batch-size', ['--batch-size', '5'], /--batch-size 4, not 5/],
      ['--lr', ['--lr', '0.02'], /--lr 0\.03, not 0\.02/],
      ['--seed', ['--seed', '6'], /--seed 5, not 6/],
      ['--warmup-steps', ['--warmup-steps', '3'], /--warmup-steps 0, not 3/],
      ['--weight-decay', ['--weight-decay', '0'], /--weight-decay 0\.01, not 0/],
    ])('a different %s', { timeout: 30_000 }, async (_, extra, pattern) => {
      // (the later flag wins in commander)
      expectOneLineFailure(await resume(...extra), pattern);
    });

    it('different --data content, a different --model, another --out', { timeout: 30_000 }, async () => {
      const data = join(tmp.dir, 'other-train.jsonl');
      writeCyclesJsonl(data, 22, 3);
      expectOneLineFailure(await resume('--data', data), /training data is not the run's/);
      expectOneLineFailure(await resume('--model', OTHER_MODEL), /--model is not the run's starting model/);
      expectOneLineFailure(await resume('--out', join(tmp.dir, 'elsewhere')), /--out .*elsewhere: a resumed run continues in its own directory/);
      expectOneLineFailure(await cli('--resume', join(tmp.dir, 'nowhere')), /--resume .*nowhere: no such directory/);
    });

    it('a checkpoint without optimizer state, or with a damaged one', { timeout: 30_000 }, async () => {
      const damaged = (name: string, damage: (ckpt: string) => void) => {
        const copy = join(tmp.dir, name);
        cpSync(out, copy, { recursive: true });
        damage(join(copy, 'checkpoint-4'));
        return cli('--steps', '12', '--resume', copy);
      };
      const state = (ckpt: string) => join(ckpt, 'trainer_state.json');
      const edit = (ckpt: string, f: (s: Record<string, unknown>) => void) => {
        const s = JSON.parse(readFileSync(state(ckpt), 'utf8')) as Record<string, unknown>;
        f(s);
        writeFileSync(state(ckpt), JSON.stringify(s));
      };
      const cases: [string, (ckpt: string) => void, RegExp][] = [
        ['no-bin', (c) => rmSync(join(c, 'checkpoint.bin')), /checkpoint\.bin: missing: .* no optimizer state/],
        ['no-state', (c) => rmSync(state(c)), /trainer_state\.json: missing/],
        ['torn-bin', (c) => truncateSync(join(c, 'checkpoint.bin'), 200), /checkpoint\.bin: .*(SHA-256|not a dpzo checkpoint)/],
        ['bad-json', (c) => writeFileSync(state(c), '{"format":'), /trainer_state\.json: not valid JSON/],
        ['short-loss', (c) => edit(c, (s) => (s.trainLoss = (s.trainLoss as number[]).slice(1))), /trainLoss is not 4 finite numbers/],
        ['step', (c) => edit(c, (s) => ((s.step = 5), (s.trainLoss = [...(s.trainLoss as number[]), 1]))), /checkpoint\.bin: holds step 4, trainer_state\.json step 5/],
        ['size', (c) => edit(c, (s) => (s.numTrainable = 7)), /trained 7 parameters, this --model has \d+/],
        ['run-id', (c) => edit(c, (s) => (s.runId = 'another')), /checkpoint\.bin: it belongs to another run/],
      ];
      for (const [name, damage, pattern] of cases) expectOneLineFailure(await damaged(`damaged-${name}`, damage), pattern);
    });
  });
});
