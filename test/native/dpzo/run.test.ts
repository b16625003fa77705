// Trajectory checkpoints on the real native model: export replay is bit-identical
// to the trained weights; training lowers held-out loss at ε = 8; a run refuses a
// second start and resumes; bad input fails before any release.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { DPZOTrainer, exportRun, readTrajectory } from '../../../lib/dpzo/index.js';
import { prepareRun } from '../../../lib/dpzo/session.js';
import { loadDataset, loadModel } from '../../../lib/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-run-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 300, 1);
writeCyclesJsonl(p.eval, 60, 2);

const base = { model: p.model, data: p.train, eval: p.eval, evalPublic: true, task: 'tokens' as const, epsilon: 8, delta: 1e-5, threads: 2 };

describe('trajectory checkpoints', () => {
  it('export replays the trajectory bit for bit (2 directions, cosine schedule, Laplace)', async () => {
    const out = join(tmp.dir, 'run-export');
    const cfg = parseRunConfig({ ...base, eval: undefined, out, steps: 8, batchSize: 20, directions: 2, schedule: 'cosine', warmupSteps: 2, lr: 1e-3, clip: 2, mechanism: 'laplace', accountant: 'rdp' }, 'test');
    const { model, trainer } = await prepareRun(cfg);
    const report = await trainer.train();
    const trained = await model.weightsHash();
    const initial = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).model.weightsHash as string;
    model.dispose();
    expect(report.steps).toBe(8);
    expect(trained).not.toBe(initial);
    expect(readTrajectory(out).lines).toHaveLength(8);
    expect(readFileSync(join(out, 'ledger.jsonl'), 'utf8').trim().split('\n')).toHaveLength(9); // header + 8

    const fresh = await loadModel(p.model, { threads: 1 });
    const exported = join(tmp.dir, 'exported');
    const r = await exportRun(fresh, out, exported);
    fresh.dispose();
    expect(r.steps).toBe(8);
    expect(r.weightsHash).toBe(trained);
    const reloaded = await loadModel(exported, { threads: 2 });
    expect(await reloaded.weightsHash()).toBe(trained);
    reloaded.dispose();
    // readable by others as any new directory is (it used to be mkdtemp's 0700)
    const probe = join(tmp.dir, 'umask-probe');
    mkdirSync(probe);
    expect(statSync(exported).mode & 0o777).toBe(statSync(probe).mode & 0o777);
    expect(statSync(exported).mode & 0o044).not.toBe(0);
  });

  it('export replays weight decay bit for bit', async () => {
    const out = join(tmp.dir, 'run-decay');
    const cfg = parseRunConfig({ ...base, eval: undefined, out, steps: 5, batchSize: 20, lr: 1e-2, weightDecay: 0.5, accountant: 'rdp' }, 'test');
    const { model, trainer } = await prepareRun(cfg);
    await trainer.train();
    const trained = await model.weightsHash();
    model.dispose();
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).plan.weightDecay).toBe(0.5);
    const fresh = await loadModel(p.model, { threads: 1 });
    const r = await exportRun(fresh, out, join(tmp.dir, 'exported-decay'));
    fresh.dispose();
    expect(r.weightsHash).toBe(trained);
  });

  it('a resumed weight-decay run replays with decay: export equals the resumed weights', async () => {
    const out = join(tmp.dir, 'run-decay-resume');
    const cfg = parseRunConfig({ ...base, eval: undefined, out, steps: 4, batchSize: 20, lr: 1e-2, weightDecay: 0.5, accountant: 'rdp' }, 'test');
    const first = await prepareRun(cfg);
    const ac = new AbortController();
    await first.trainer.train({ signal: ac.signal, onStep: (s) => void (s.step === 1 && ac.abort()) });
    first.model.dispose();
    expect(readTrajectory(out).lines).toHaveLength(2);
    const second = await prepareRun(parseRunConfig({ ...base, eval: undefined, out, steps: 4, batchSize: 20, lr: 1e-2, weightDecay: 0.5, accountant: 'rdp' }, 'test'), { resume: true });
    const report = await second.trainer.train();
    const resumed = await second.model.weightsHash();
    second.model.dispose();
    expect(report.steps).toBe(4);
    const fresh = await loadModel(p.model, { threads: 1 });
    const r = await exportRun(fresh, out, join(tmp.dir, 'exported-decay-resume'));
    fresh.dispose();
    expect(r.weightsHash).toBe(resumed);
  });

  it("a resumed run's first evaluation (of the base weights, before the replay) is reported at step 0, not at the resume step", async () => {
    const out = join(tmp.dir, 'run-eval-resume');
    const cfg = () => parseRunConfig({ ...base, out, steps: 6, batchSize: 20, lr: 0.5, zoEps: 1e-2, clip: 5, trainable: 'lm_head,norm', evalEvery: 2, accountant: 'rdp' }, 'test');
    const first = await prepareRun(cfg());
    const ac = new AbortController();
    const before: { step: number; loss: number }[] = [];
    await first.trainer.train({ signal: ac.signal, onStep: (s) => void (s.step === 2 && ac.abort()), onEval: (e) => void before.push({ step: e.step, loss: e.result.loss }) });
    first.model.dispose();
    // (no evaluation after the cancelled training: a cancelled run is not evaluated again)
    expect(before.map((e) => e.step)).toEqual([0, 2]);
    const second = await prepareRun(cfg(), { resume: true });
    const after: { step: number; loss: number }[] = [];
    const r = await second.trainer.train({ onEval: (e) => void after.push({ step: e.step, loss: e.result.loss }) });
    second.model.dispose();
    // the base model's loss again, at step 0 (it was reported at step 3, where the run's weights had the step-3 loss)
    expect(after[0]).toEqual(before[0]);
    expect(after.map((e) => e.step)).toEqual([0, 4, 6]);
    expect(r.evalBefore!.loss).toBe(before[0]!.loss);
    expect(after[0]!.loss).not.toBe(before[1]!.loss); // the trained weights' loss differs: the equality above says something
  });

  it('training lowers the held-out loss at ε = 8', async () => {
    const out = join(tmp.dir, 'run-learn');
    const cfg = parseRunConfig({ ...base, out, steps: 150, batchSize: 30, lr: 2e-2, zoEps: 1e-2, clip: 5, trainable: 'lm_head,norm' }, 'test');
    const { model, trainer } = await prepareRun(cfg);
    let lastEpsilon = Number.NaN;
    const report = await trainer.train({ onStep: (s) => void (lastEpsilon = s.epsilon) });
    // the progress ε at the last step is the PLD ε of the report
    expect(lastEpsilon).toBeCloseTo(report.epsilon.pld, 9);
    model.dispose();
    expect(report.private).toBe(true);
    expect(report.epsilon.pld).toBeLessThanOrEqual(8);
    expect(report.evalBefore!.metric).toBe('loss');
    expect(report.evalAfter!.loss).toBeLessThan(report.evalBefore!.loss - 0.1);
  });

  it('refuses to start over an existing run, and resumes a finished one without a release', async () => {
    const out = join(tmp.dir, 'run-export');
    const cfg = parseRunConfig({ ...base, eval: undefined, out, steps: 8, batchSize: 20, directions: 2, schedule: 'cosine', warmupSteps: 2, lr: 1e-3, clip: 2, mechanism: 'laplace', accountant: 'rdp' }, 'test');
    const a = await prepareRun(cfg);
    await expect(a.trainer.train()).rejects.toThrow(/not empty: resume it/);
    a.model.dispose();
    const b = await prepareRun(cfg, { resume: true });
    const r = await b.trainer.train();
    b.model.dispose();
    expect(r.steps).toBe(8);
    expect(readTrajectory(out).lines).toHaveLength(8);
  });

  it('--resume with another fixed sample rate q (σ given) is refused naming sampleRate, with releases in the ledger or none', async () => {
    // with --sample-rate and an explicit σ nothing else in the plan depends on q: it was the one choice resume did not compare
    const fixed = { ...base, eval: undefined, steps: 4, batchSize: 20, sampleRate: 0.05, noiseMultiplier: 1, lr: 1e-3, accountant: 'rdp' as const };
    for (const [name, cancelled] of [
      ['fixed-q-empty', true],
      ['fixed-q-released', false],
    ] as const) {
      const out = join(tmp.dir, name);
      const a = await prepareRun(parseRunConfig({ ...fixed, out }, 'test'));
      const stop = new AbortController();
      await a.trainer.train({ signal: stop.signal, onStep: () => stop.abort(), ...(cancelled ? { onOpen: () => stop.abort() } : {}) });
      a.model.dispose();
      expect(readTrajectory(out).lines).toHaveLength(cancelled ? 0 : 1);
      const b = await prepareRun(parseRunConfig({ ...fixed, sampleRate: 0.1, out }, 'test'), { resume: true });
      await expect(b.trainer.train()).rejects.toMatchObject({ code: 'ERR_RUN_MISMATCH', message: expect.stringMatching(/sampleRate is 0\.1, the run has 0\.05/) });
      b.model.dispose();
      expect(readTrajectory(out).lines).toHaveLength(cancelled ? 0 : 1);
    }
  });

  it("--resume on a base whose weights changed: the hash mismatch names the model directory loaded", async () => {
    const out = join(tmp.dir, 'run-changed-base');
    const edited = join(tmp.dir, 'edited-base');
    cpSync(p.model, edited, { recursive: true });
    const cfg = { ...base, eval: undefined, model: edited, steps: 2, batchSize: 20, lr: 1e-3, accountant: 'rdp' as const, out };
    const a = await prepareRun(parseRunConfig(cfg, 'test'));
    await a.trainer.train();
    a.model.dispose();
    const file = join(edited, 'model.safetensors');
    const bytes = readFileSync(file);
    bytes[8 + Number(bytes.readBigUInt64LE(0)) + 5] ^= 0x01;
    writeFileSync(file, bytes);
    const b = await prepareRun(parseRunConfig(cfg, 'test'), { resume: true });
    try {
      await expect(b.trainer.train()).rejects.toMatchObject({ code: 'ERR_RUN_MISMATCH', message: expect.stringContaining(`(${edited})`) });
    } finally {
      b.model.dispose();
    }
  });

  it('--resume of a run without privacy whose NOT_PRIVATE marker a crash cut off (between run.json and it) writes the marker', async () => {
    const out = join(tmp.dir, 'run-not-private-marker');
    const cfg = parseRunConfig({ ...base, eval: undefined, epsilon: Infinity, steps: 2, batchSize: 20, lr: 1e-3, out }, 'test');
    const a = await prepareRun(cfg);
    await a.trainer.train();
    a.model.dispose();
    const marker = join(out, 'NOT_PRIVATE');
    const text = readFileSync(marker, 'utf8');
    rmSync(marker);
    const b = await prepareRun(cfg, { resume: true });
    try {
      await b.trainer.train();
    } finally {
      b.model.dispose();
    }
    expect(readFileSync(marker, 'utf8')).toBe(text);
  });

  it('a model loaded with trainable patterns and trained without TrainOptions.trainable exports (run.json records no patterns)', async () => {
    const out = join(tmp.dir, 'run-patterns-on-model');
    const model = await loadModel(p.model, { threads: 2, trainable: ['layernorm', 'norm.weight'] });
    const names = model.trainableNames();
    expect(names.length).toBeLessThan(model.tensors().length);
    const train = loadDataset(p.train, { task: { kind: 'tokens' }, modelDir: p.model, config: model.config });
    const trainer = new DPZOTrainer(model, { train, epsilon: 8, delta: 1e-5, steps: 4, batchSize: 20, runDir: out });
    await trainer.train();
    const trained = await model.weightsHash();
    model.dispose();
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).model).toMatchObject({ trainable: null, trainableNames: names });
    // the CLI loaded the base with every tensor trainable and refused the replay as a mismatch, the budget spent
    const exported = join(tmp.dir, 'exported-patterns-on-model');
    const r = await dpzo('export', '--run', out, '--out', exported, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).weightsHash).toBe(trained);
  });

  it("run.json's temporary file left by a process killed while creating it does not block a new run there", async () => {
    const out = join(tmp.dir, 'run-leftover');
    mkdirSync(out);
    const leftover = join(out, 'run.json.4242.0123456789ab.tmp');
    writeFileSync(leftover, '{"format"');
    // a young one may be another process's creation under way: the directory is not empty
    const young = await prepareRun(parseRunConfig({ ...base, eval: undefined, out, steps: 2, batchSize: 20 }, 'test'));
    await expect(young.trainer.train()).rejects.toMatchObject({ code: 'ERR_RUN_EXISTS' });
    young.model.dispose();
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(leftover, old, old);
    const { model, trainer } = await prepareRun(parseRunConfig({ ...base, eval: undefined, out, steps: 2, batchSize: 20 }, 'test'));
    const report = await trainer.train();
    model.dispose();
    expect(report.steps).toBe(2);
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(join(out, 'run.json'))).toBe(true);
  });

  it('bad input fails before any release', async () => {
    const bad = async (patch: Record<string, unknown>, re: RegExp) => {
      const out = join(tmp.dir, `bad-${Math.random().toString(36).slice(2)}`);
      await expect((async () => {
        const { model, trainer } = await prepareRun(parseRunConfig({ ...base, out, steps: 5, ...patch }, 'test'));
        try {
          await trainer.train();
        } finally {
          model.dispose();
        }
      })()).rejects.toThrow(re);
      expect(existsSync(join(out, 'ledger.jsonl'))).toBe(false);
    };
    const empty = join(tmp.dir, 'empty.jsonl');
    writeFileSync(empty, '\n');
    await bad({ data: empty }, /no examples/);
    await bad({ task: 'classification' }, /no tokenizer\.json/);
    await bad({ task: 'lm' }, /no tokenizer\.json/);
    await bad({ task: 'classification', template: 'It was' }, /no \{sentence\} placeholder/);
    await bad({ epsilon: 1e-6, steps: 100000, batchSize: 100, accountant: 'rdp' }, /no noise level reaches/);
    await bad({ trainable: 'no-such-tensor' }, /trainable|no-such-tensor/);
  });
});
