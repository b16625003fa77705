// pretrain() and `dpzo pretrain` share two things the CLI did alone. (1) A resume of a finished run (its completion record,
// OUT/pretrain-result.json): the CLI printed the recorded result, while pretrain() trained the tail after the last
// checkpoint again in memory, evaluated it and returned numbers computed again (the final model never written). Now
// pretrain() returns the recorded result, training and evaluating nothing, and the CLI calls it; the model holds the
// run's final weights (read from OUT/model.safetensors, checked against the recorded hash), as after train({ resume }). (2) The starting weights
// and the tokenised examples were hashed twice per `dpzo pretrain --out` run (the CLI's completion record, pretrain()'s
// checkpoints; ~1 s each on GPT-2-124M): pretrain() reports the settings it hashed and the CLI writes those.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

import { register as registerPretrain } from '../../lib/cli/commands/pretrain.js';
import { loadDataset } from '../../lib/data/load.js';
import { loadModel } from '../../lib/model/model.js';
import type { Model } from '../../lib/model/types.js';
import { pretrain } from '../../lib/pretrain/pretrain.js';
import { writePretrainResult } from '../../lib/pretrain/result.js';
import { saveModelInto } from '../../lib/pretrain/save.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';

/** Calls of the two hashes a run's settings hold, across the modules that compute them. */
const hashes = vi.hoisted(() => ({ examples: 0, weights: 0, trainSteps: 0 }));

vi.mock('../../lib/pretrain/resume.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../lib/pretrain/resume.js')>();
  return {
    ...m,
    examplesSha256: (...a: Parameters<typeof m.examplesSha256>) => {
      hashes.examples++;
      return m.examplesSha256(...a);
    },
  };
});

/** Counts a model's weightsHash() and lossAndGradient() calls (the CLI loads its own model: counted from loadModel). */
function counted(model: Model): Model {
  const hash = model.weightsHash.bind(model);
  vi.spyOn(model, 'weightsHash').mockImplementation(() => {
    hashes.weights++;
    return hash();
  });
  const step = model.lossAndGradient!.bind(model);
  vi.spyOn(model, 'lossAndGradient').mockImplementation((...a) => {
    hashes.trainSteps++;
    return step(...a);
  });
  return model;
}

vi.mock('../../lib/model/model.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../lib/model/model.js')>();
  return { ...m, loadModel: async (...a: Parameters<typeof m.loadModel>) => counted(await m.loadModel(...a)) };
});

const tmp = makeTempDir('dpzo-pretrain-recorded-');
afterAll(() => tmp.cleanup());
afterEach(() => {
  hashes.examples = hashes.weights = hashes.trainSteps = 0;
});
const MODEL = writeTinyModel(join(tmp.dir, 'model'));
const TRAIN = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 22, 1);
const EVAL = writeCyclesJsonl(join(tmp.dir, 'eval.jsonl'), 6, 2);
const SETTINGS = ['--steps', '8', '--batch-size', '4', '--lr', '0.03', '--seed', '5', '--threads', '1'];
const OUT = join(tmp.dir, 'out');

/** `dpzo pretrain …` in-process (so that the mocks above count its calls): what it printed on stdout. */
async function cli(args: string[]): Promise<string> {
  const program = new Command('dpzo').exitOverride();
  registerPretrain(program);
  program.commands.forEach((c) => c.exitOverride());
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'dpzo', 'pretrain', '--model', MODEL, '--data', TRAIN, '--task', 'tokens', '--eval', EVAL, ...SETTINGS, '--json', ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  return out;
}

function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const p = join(dir, f);
    if (statSync(p).isFile()) files[f] = `${readFileSync(p).toString('base64')} ${statSync(p).mtimeMs}`;
  }
  return files;
}

describe('pretrain: the recorded result of a finished run, and each hash once', () => {
  let printed: Record<string, unknown> = {};

  it('dpzo pretrain --out hashes the starting weights and the examples once (the final weights once more)', { timeout: 60_000 }, async () => {
    printed = JSON.parse(await cli(['--checkpoint-every', '4', '--out', OUT])) as Record<string, unknown>;
    expect(printed).toMatchObject({ steps: 8, stopReason: 'completed' });
    expect(hashes.examples).toBe(1);
    // the starting model's (for the checkpoints and the completion record) and the final model's (printed)
    expect(hashes.weights).toBe(2);
    expect(hashes.trainSteps).toBe(8);
    // the completion record holds the hashes pretrain() computed: the base model's, not the final one's
    const record = JSON.parse(readFileSync(join(OUT, 'pretrain-result.json'), 'utf8')) as { settings: Record<string, unknown>; result: unknown };
    const base = await loadModel(MODEL, { threads: 1, dtype: 'float32' });
    try {
      expect(record.settings.baseWeightsHash).toBe(await base.weightsHash());
    } finally {
      base.dispose();
    }
    expect(record.settings.baseWeightsHash).not.toBe(printed.weightsHash);
    expect(record.result).toEqual(printed);
    expect(record.settings).not.toHaveProperty('recorded');
    expect(printed).not.toHaveProperty('settings');
  });

  it('pretrain({ resume }) of a finished run returns its recorded result, the model holding its final weights: nothing trained, evaluated or written', { timeout: 60_000 }, async () => {
    // the checkpoint the tail would be trained again from is damaged: any training would fail on it
    const bin = join(OUT, 'checkpoint-4', 'checkpoint.bin');
    writeFileSync(bin, Buffer.alloc(statSync(bin).size, 7));
    const before = snapshot(OUT);
    const evaluations = vi.fn();
    hashes.trainSteps = 0;
    for (const resume of [OUT, join(OUT, 'checkpoint-4')]) {
      // the run's starting model each time: once resumed, the model holds the final weights and is not the run's base
      const model = await loadModel(MODEL, { threads: 1, dtype: 'float32' });
      try {
        const data = (f: string) => loadDataset(f, { task: { kind: 'tokens' }, modelDir: MODEL, config: model.config });
        expect(await model.weightsHash()).not.toBe(printed.weightsHash);
        const r = await pretrain(model, { train: data(TRAIN), eval: data(EVAL), steps: 8, batchSize: 4, lr: 0.03, seed: 5, resume, onEval: evaluations });
        expect(r.recorded).toEqual(printed);
        expect(r).toMatchObject({ steps: 8, stopReason: 'completed', resumedFrom: 0, trainLoss: printed.trainLoss, evalAfter: printed.evalAfter });
        expect(r.seconds).toBe(printed.seconds);
        // as train({ resume }) of a finished run: the model holds the run's final weights (it kept the starting ones)
        expect(await model.weightsHash()).toBe(printed.weightsHash);
        // the checks of a resume still come first
        await expect(pretrain(model, { train: data(TRAIN), steps: 9, batchSize: 4, lr: 0.03, seed: 5, resume: OUT })).rejects.toThrow(/--steps 8, not 9/);
      } finally {
        model.dispose();
      }
    }
    expect(hashes.trainSteps).toBe(0);
    expect(evaluations).not.toHaveBeenCalled();
    expect(snapshot(OUT)).toEqual(before);
  });

  it('pretrain({ resume }) of a finished run whose final model is not the recorded one is refused, the model unchanged', { timeout: 60_000 }, async () => {
    const file = join(OUT, 'model.safetensors');
    const good = readFileSync(file);
    // one byte of the last weight changed (the data ends the file): the record's weightsHash no longer matches
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0x01;
    writeFileSync(file, bad);
    const model = await loadModel(MODEL, { threads: 1, dtype: 'float32' });
    try {
      const base = await model.weightsHash();
      const data = loadDataset(TRAIN, { task: { kind: 'tokens' }, modelDir: MODEL, config: model.config });
      const err = await pretrain(model, { train: data, steps: 8, batchSize: 4, lr: 0.03, seed: 5, resume: OUT }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_RUN_CORRUPT' });
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).not.toContain('\n');
      expect(await model.weightsHash()).toBe(base);
    } finally {
      model.dispose();
      writeFileSync(file, good);
    }
  });

  it('a final model the resumed model does not train alike is refused after the copy, the model given back its starting weights', { timeout: 60_000 }, async () => {
    // the run trains q_proj and v_proj of layer 0; the resume loads k_proj and v_proj (as many weights, the same base):
    // v_proj is copied, q_proj is not, and the model's hash is not the recorded one
    const dir = join(tmp.dir, 'out-qv');
    mkdirSync(dir);
    const load = (a: string) => loadModel(MODEL, { threads: 1, dtype: 'float32', trainable: [`layers.0.self_attn.${a}`, 'layers.0.self_attn.v_proj'] });
    const options = (m: Model) => ({
      train: loadDataset(TRAIN, { task: { kind: 'tokens' }, modelDir: MODEL, config: m.config }),
      steps: 2,
      batchSize: 4,
      lr: 0.03,
      seed: 5,
    });
    const qv = await load('q_proj');
    try {
      const { settings, recorded: _, ...r } = await pretrain(qv, { ...options(qv), outDir: dir });
      // as `dpzo pretrain` finishes a run: the final model, then its completion record
      await saveModelInto(qv, dir);
      writePretrainResult(dir, settings!, { ...r, out: dir, chart: join(dir, 'pretrain-curves.svg'), weightsHash: await qv.weightsHash(), private: false });
    } finally {
      qv.dispose();
    }
    const kv = await load('k_proj');
    try {
      const base = await kv.weightsHash();
      const err = await pretrain(kv, { ...options(kv), resume: dir }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_RUN_CORRUPT' });
      expect((err as Error).message).toMatch(/copied onto the model/);
      // v_proj was set to the run's final one before the check: it is the starting one again
      expect(await kv.weightsHash()).toBe(base);
    } finally {
      kv.dispose();
    }
  });
});
