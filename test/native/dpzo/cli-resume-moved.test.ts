// `dpzo train --resume` of a run whose base model directory or training file was moved or renamed: run.json records their
// paths and --resume refused --model and --data, so the run could not be continued. They are taken when verifiably the run's
// own (the model by the weights hash run.json records, the training file by its dataset key; the file's plain SHA-256 is
// written nowhere), anything else refused in one line; run.json then records the new paths for the next resume.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { fileSha256 } from '../../../lib/data/fingerprint.js';
import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { readTrajectory } from '../../../lib/dpzo/index.js';
import { prepareRun } from '../../../lib/dpzo/session.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzoWithEnv, expectOneLineFailure } from '../../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-cli-resume-moved-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 40, 1);
const home = join(tmp.dir, 'home');
const env = { DPZO_HOME: home };

interface RunJson {
  model: { dir: string };
  meta: { config: { model: string; data: string } };
  dataset: { key: string; ledger: string };
}
const runJson = (out: string) => JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunJson;

/** A run of 4 steps stopped after 2 (cancelled), as a user's interrupted run is. */
async function interruptedRun(out: string): Promise<void> {
  const cfg = { model: p.model, data: p.train, task: 'tokens', epsilon: 8, delta: 1e-5, accountant: 'rdp', sampleRate: 0.25, batchSize: 5, limit: 20, steps: 4, lr: 1e-3, out, threads: 1 };
  const first = await prepareRun(parseRunConfig(cfg, 'test'), { dpzoHome: home });
  const ac = new AbortController();
  await first.trainer.train({ signal: ac.signal, onStep: (s) => void (s.step === 1 && ac.abort()) });
  first.model.dispose();
  expect(readTrajectory(out).lines).toHaveLength(2);
}

describe('dpzo train --resume after the model directory and the training file moved', () => {
  it('takes --model and --data that are the run’s own, refuses others in one line, and records the new paths', async () => {
    const out = p.run;
    await interruptedRun(out);
    const before = runJson(out);
    const movedModel = join(tmp.dir, 'model-moved');
    const movedData = join(tmp.dir, 'renamed.jsonl');
    renameSync(p.model, movedModel);
    renameSync(p.train, movedData);
    writeFileSync(join(tmp.dir, 'train-copy.jsonl'), readFileSync(movedData));

    // the recorded paths are gone: named, with the flag that gives them
    expectOneLineFailure(await dpzoWithEnv(env, 'train', '--resume', '--out', out), /run\.json: the run's base model .* is not there \(moved or deleted\): give it with --model/);
    expectOneLineFailure(
      await dpzoWithEnv(env, 'train', '--resume', '--out', out, '--model', movedModel),
      /run\.json: the run's training file .* is not there \(moved or deleted\): give it with --data/,
    );
    // another base model (other weights, same shapes): refused by its weights hash
    const other = writeTinyModel(join(tmp.dir, 'other-model'), 8);
    expectOneLineFailure(
      await dpzoWithEnv(env, 'train', '--resume', '--out', out, '--model', other, '--data', movedData),
      /cannot resume .* with --model .*other-model: its weights hash [0-9a-f]{12}… is not the run's base model's [0-9a-f]{12}…/,
    );
    // another training file (other examples, same format): refused by the dataset key
    const otherData = writeCyclesJsonl(join(tmp.dir, 'other.jsonl'), 40, 2);
    expectOneLineFailure(
      await dpzoWithEnv(env, 'train', '--resume', '--out', out, '--model', movedModel, '--data', otherData),
      /cannot resume .* with --data .*other\.jsonl: it is not the run's training file/,
    );
    // the refusals changed nothing
    expect(readTrajectory(out).lines).toHaveLength(2);
    expect(runJson(out)).toEqual(before);

    const r = await dpzoWithEnv(env, 'train', '--resume', '--out', out, '--model', movedModel, '--data', movedData, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ stopReason: 'completed', steps: 4 });
    expect(readTrajectory(out).lines).toHaveLength(4);
    const after = runJson(out);
    expect(after.model.dir).toBe(movedModel);
    expect(after.meta.config).toMatchObject({ model: movedModel, data: movedData });
    // the same dataset ledger, by the same key; the file's plain hash is nowhere in run.json
    expect(after.dataset).toEqual(before.dataset);
    expect(readFileSync(join(out, 'run.json'), 'utf8')).not.toContain(fileSha256(movedData));
    const ledger = readFileSync(before.dataset.ledger, 'utf8').trim().split('\n').slice(1);
    expect(ledger).toHaveLength(4);
    // everything else in run.json is as it was
    expect({ ...after, model: { ...after.model, dir: before.model.dir }, meta: { ...after.meta, config: before.meta.config } }).toEqual(before);

    // the next resume finds them without the flags (the run is complete: its recorded report)
    const again = await dpzoWithEnv(env, 'train', '--resume', '--out', out);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/is complete \(all 4 planned steps\)/);
    // a changed training file under the recorded name is still refused by its key
    writeFileSync(movedData, readFileSync(otherData));
    const changed = await dpzoWithEnv(env, 'train', '--resume', '--out', out, '--data', movedData);
    expectOneLineFailure(changed, /with --data .*: it is not the run's training file/);

    // the base model moved again after the run finished: a resume of the finished run checks and records it too (it kept
    // the old path, so export and eval --run still looked there)
    const movedAgain = join(tmp.dir, 'model-moved-again');
    renameSync(movedModel, movedAgain);
    writeFileSync(movedData, readFileSync(join(tmp.dir, 'train-copy.jsonl')));
    const rec = await dpzoWithEnv(env, 'train', '--resume', '--out', out, '--model', movedAgain);
    expect(rec.status, rec.stderr).toBe(0);
    expect(rec.stderr).toMatch(/is complete \(all 4 planned steps\)/);
    expect(runJson(out).model.dir).toBe(movedAgain);
    expect(runJson(out).meta.config.model).toBe(movedAgain);
    const exported = await dpzoWithEnv(env, 'export', '--run', out, '--out', join(tmp.dir, 'exported'));
    expect(exported.status, exported.stderr).toBe(0);
  }, 240_000);

  it('refuses a --data it cannot check: the dpzo home whose secret made the run’s dataset key is not on this machine', async () => {
    writeTinyModel(p.model);
    writeCyclesJsonl(p.train, 40, 1);
    const out = join(tmp.dir, 'run-2');
    await interruptedRun(out);
    const movedData = join(tmp.dir, 'renamed-2.jsonl');
    renameSync(p.train, movedData);
    renameSync(home, join(tmp.dir, 'home-elsewhere'));
    const r = await dpzoWithEnv({ DPZO_HOME: join(tmp.dir, 'home-new') }, 'train', '--resume', '--out', out, '--data', movedData);
    expectOneLineFailure(r, /with --data .*renamed-2\.jsonl: the run's dataset key was made under the dpzo home .*home, which is not on this machine/);
    expect(readTrajectory(out).lines).toHaveLength(2);
    expect(runJson(out).meta.config.data).toBe(p.train);
  }, 120_000);
});
