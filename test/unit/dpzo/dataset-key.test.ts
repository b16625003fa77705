// The training file's plain SHA-256 is written nowhere: its dataset ledger goes by HMAC(home's secret, SHA-256)
// (lib/privacy/dataset-key.ts), run.json records that key and the ledger's path. The plain hash was in run.json and
// in the ledger's directory name, and anyone holding it and all examples but one can test guesses of the last.
// An older dpzo's plain-hash ledger is moved to its keyed name by the first writer, and its run.json still reads.
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { readRunJson, sameTrainingFile } from '../../../lib/dpzo/run-record.js';
import { DATASET_SECRET_FILE, KEYED_PREFIX, datasetKey } from '../../../lib/privacy/dataset-key.js';
import { DatasetLedger, PrivacyLedger, datasetLedgerFile } from '../../../lib/privacy/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-dataset-key-');
afterAll(() => tmp.cleanup());

function trainFile(tag: string) {
  const file = join(tmp.dir, `train-${tag}.txt`);
  writeFileSync(file, `private rows ${tag}\n`);
  return { ...tokenDataset(Array.from({ length: 40 }, (_, i) => 3 + (i % 50))), source: file };
}

const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function options(train: ReturnType<typeof trainFile>, home: string, runDir: string) {
  return { train, epsilon: 4, delta: 1e-5, accountant: 'rdp' as const, batchSize: 4, steps: 4, lr: 0.01, clip: 1, zoEps: 1e-2, dpzoHome: home, runDir };
}

/** Every path under `dir` and the text of every file. */
function everything(dir: string): string {
  const parts: string[] = [];
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const p = join(dir, name);
    parts.push(p);
    if (statSync(p).isFile()) parts.push(readFileSync(p, 'latin1'));
  }
  return parts.join('\n');
}

/** A ledger of an older dpzo: <home>/datasets/<plain sha256>/ledger.jsonl with `n` releases. */
async function legacyLedger(home: string, sha: string, n: number): Promise<string> {
  const file = join(home, 'datasets', sha, 'ledger.jsonl');
  const l = await PrivacyLedger.open(file, { create: true, accountant: 'pld' });
  for (let i = 0; i < n; i++)
    await l.append({
      mechanism: 'gaussian',
      sampleRate: 0.1,
      noiseMultiplier: 1,
      clip: 1,
      origin: { run: '0f8fad5b-d9cb-469f-a165-70867728950e', hash: 'a'.repeat(64) },
    });
  await l.close();
  return file;
}

describe('dataset ledgers named by a keyed hash', () => {
  it('a run writes the training file SHA-256 nowhere: not in the run directory, not under DPZO_HOME', async () => {
    const home = join(tmp.dir, 'home-run');
    const out = join(tmp.dir, 'run');
    const train = trainFile('run');
    const report = await new DPZOTrainer(new FakeModel(8), options(train, home, out)).train();
    expect(report.steps).toBe(4);
    const sha = sha256Of(train.source);
    expect(everything(out)).not.toContain(sha);
    expect(everything(home)).not.toContain(sha);
    // what run.json records instead: the key, HMAC-SHA256(the home's 32-byte secret, sha), and the ledger's file
    const secret = readFileSync(join(home, DATASET_SECRET_FILE));
    expect(secret.length).toBe(32);
    expect(statSync(join(home, DATASET_SECRET_FILE)).mode & 0o077).toBe(0);
    const key = createHmac('sha256', secret).update(sha).digest('hex');
    const run = readRunJson(out);
    expect(run.dataset).toEqual({ key, ledger: join(home, 'datasets', KEYED_PREFIX + key, 'ledger.jsonl') });
    expect(sameTrainingFile(run.dataset!, sha)).toBe(true);
    expect(sameTrainingFile(run.dataset!, sha256Of(trainFile('other').source))).toBe(false);
    // the ledger holds the run's releases, found from the file's hash as before
    const d = await DatasetLedger.open(sha, { home, readOnly: true });
    expect(d.ledger.length).toBe(4);
    expect(d.key).toBe(key);
    await d.close();
  });

  it('two homes name the same file differently (each its own secret)', () => {
    const sha = 'ab'.repeat(32);
    const a = datasetKey(join(tmp.dir, 'home-a'), sha)!;
    const b = datasetKey(join(tmp.dir, 'home-b'), sha)!;
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(datasetKey(join(tmp.dir, 'home-a'), sha)).toBe(a);
    // asked not to create one, a home without a secret has no key
    expect(datasetKey(join(tmp.dir, 'home-none'), sha, false)).toBeUndefined();
    expect(existsSync(join(tmp.dir, 'home-none'))).toBe(false);
  });

  it("an older dpzo's plain-hash ledger: read where it is, moved to its keyed name by the first writer, its releases kept", async () => {
    const home = join(tmp.dir, 'home-legacy');
    const sha = 'cd'.repeat(32);
    const legacy = await legacyLedger(home, sha, 3);
    expect(datasetLedgerFile(home, sha)).toBe(legacy);
    const r = await DatasetLedger.open(sha, { home, readOnly: true });
    expect([r.ledger.length, r.key]).toEqual([3, undefined]);
    await r.close();
    const w = await DatasetLedger.open(sha, { home });
    expect(w.ledger.length).toBe(3);
    expect(w.path).toBe(join(home, 'datasets', KEYED_PREFIX + datasetKey(home, sha)!, 'ledger.jsonl'));
    await w.close();
    expect(existsSync(dirname(legacy))).toBe(false);
    expect(datasetLedgerFile(home, sha)).toBe(w.path);
  });

  it('a plain-hash ledger and a keyed one of the same file: refused (each would hold part of its releases)', async () => {
    const home = join(tmp.dir, 'home-both');
    const sha = 'ef'.repeat(32);
    await legacyLedger(home, sha, 2);
    const w = await DatasetLedger.open(sha, { home });
    await w.close();
    await legacyLedger(home, sha, 1);
    await expect(DatasetLedger.open(sha, { home })).rejects.toMatchObject({ code: 'ERR_LEDGER_CORRUPT', message: expect.stringContaining(sha) });
  });

  it('a lost secret with keyed ledgers still there: refused, not a new secret that would count from zero', async () => {
    const home = join(tmp.dir, 'home-lost');
    const sha = '12'.repeat(32);
    const w = await DatasetLedger.open(sha, { home });
    await w.close();
    rmSync(join(home, DATASET_SECRET_FILE));
    await expect(DatasetLedger.open(sha, { home })).rejects.toMatchObject({ code: 'ERR_LEDGER_CORRUPT', message: expect.stringMatching(/restore it/) });
    expect(existsSync(join(home, DATASET_SECRET_FILE))).toBe(false);
  });

  it("an older dpzo's run.json (plain sha256, plain-hash ledger) resumes: its ledger is moved and keeps counting", async () => {
    const home = join(tmp.dir, 'home-old-run');
    const out = join(tmp.dir, 'run-old');
    const train = trainFile('old-run');
    const o = options(train, home, out);
    const controller = new AbortController();
    await new DPZOTrainer(new FakeModel(8), o).train({ signal: controller.signal, onStep: (s) => void (s.step === 1 && controller.abort()) });
    // as an older dpzo left it: run.json with the plain hash, the ledger under it, no secret
    const sha = sha256Of(train.source);
    const runFile = join(out, 'run.json');
    const run = JSON.parse(readFileSync(runFile, 'utf8')) as { dataset: Record<string, string> };
    const legacyDir = join(home, 'datasets', sha);
    renameSync(dirname(run.dataset.ledger!), legacyDir);
    rmSync(join(home, DATASET_SECRET_FILE));
    run.dataset = { sha256: sha, ledger: join(legacyDir, 'ledger.jsonl') };
    writeFileSync(runFile, JSON.stringify(run));
    const report = await new DPZOTrainer(new FakeModel(8), { ...o, resume: true }).train();
    expect(report.steps).toBe(4);
    expect(existsSync(legacyDir)).toBe(false);
    const d = await DatasetLedger.open(sha, { home, readOnly: true });
    expect(d.ledger.length).toBe(4);
    await d.close();
  });

  it('resumed where the home it started under is gone (the run copied to another machine): a warning, not a refusal', async () => {
    const home = join(tmp.dir, 'home-gone');
    const out = join(tmp.dir, 'run-gone');
    const train = trainFile('gone');
    const o = options(train, home, out);
    const controller = new AbortController();
    await new DPZOTrainer(new FakeModel(8), o).train({ signal: controller.signal, onStep: (s) => void (s.step === 1 && controller.abort()) });
    rmSync(home, { recursive: true });
    const other = join(tmp.dir, 'home-gone-second');
    mkdirSync(other);
    const report = await new DPZOTrainer(new FakeModel(8), { ...o, dpzoHome: other, resume: true }).train();
    expect(report.steps).toBe(4);
    expect(report.warnings.join('\n')).toMatch(/cannot check that the training file is the one/);
  });
});
