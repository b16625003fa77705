// `dpzo eval` and `dpzo export` as a user runs them, on a private run of the
// byte-level Llama (classification, weight decay on): eval prints what
// evaluate() computes; eval --run equals eval of the export and differs from
// the base; the export loads with the run's weights hash; a changed base model,
// a non-empty --out and bad arguments fail with one line, exit 2, and no output.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadDataset } from '../../../lib/data/load.js';
import { loadTokenizer } from '../../../lib/data/tokenizer.js';
import { type EvalResult, evaluate } from '../../../lib/dpzo/evaluate.js';
import type { RunRecord } from '../../../lib/dpzo/run-record.js';
import { loadModel } from '../../../lib/index.js';
import { type LedgerEntry, PldAccountant, RdpAccountant, releaseMechanism } from '../../../lib/privacy/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { type CliResult, CLI_MAIN, ROOT, dpzo, dpzoWithEnv, expectOneLineFailure } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-cli-eval-');
afterAll(() => tmp.cleanup());
const MODEL = join(tmp.dir, 'model');
cpSync(join(ROOT, 'data', 'models', 'byte-llama'), MODEL, { recursive: true });
const RUN = join(tmp.dir, 'run');
const TRAIN = join(tmp.dir, 'train.tsv');
const DEV = join(tmp.dir, 'dev.tsv');

const POS = ['a gripping, beautiful film', 'I loved every minute of it', 'charming and warm', 'one of the best of the year', 'a delight', 'funny and smart', 'wonderful acting', 'a moving story'];
const NEG = ['dull and far too long', 'the plot makes no sense', 'a waste of time', 'flat and lifeless', 'boring', 'badly acted', 'an ugly mess', 'tedious'];
const tsv = (rows: [string, number][]) => 'sentence\tlabel\n' + rows.map(([s, l]) => `${s}\t${l}`).join('\n') + '\n';
writeFileSync(TRAIN, tsv([...POS.map((s): [string, number] => [s, 1]), ...NEG.map((s): [string, number] => [s, 0])]));
writeFileSync(DEV, tsv([['a fine film', 1], ['not good at all', 0], ['great fun', 1], ['a bore', 0], ['lovely', 1], ['awful', 0]]));

const TASK = ['--task', 'classification', '--template', '{sentence} It was ', '--label-words', 'terrible,great'];
const json = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
const metricsOf = (r: Record<string, unknown>) => ({ metric: r.metric, value: r.value, examples: r.examples, loss: r.loss, accuracy: r.accuracy });
/** A failure as the CLI must report it: exit 2 and exactly one line on stderr. */
let report: Record<string, unknown>;
beforeAll(async () => {
  const r = await dpzo('train', '--model', MODEL, '--data', TRAIN, ...TASK, '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp',
    '--steps', '4', '--batch-size', '8', '--lr', '2e-2', '--zo-eps', '1e-2', '--weight-decay', '0.5', '--threads', '2', '--out', RUN, '--json');
  expect(r.status, r.stderr).toBe(0);
  report = json(r);
  expect(report.steps).toBe(4);
});

describe('dpzo eval', () => {
  it('lists and accepts only the options it reads: a training option is a usage error, not ignored', async () => {
    const help = await dpzo('eval', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--eval-max/);
    for (const flag of ['--epsilon', '--limit', '--lr', '--steps', '--out']) expect(help.stdout).not.toMatch(new RegExp(`${flag}\\b`));
    for (const [flag, value] of [
      ['--epsilon', '3'],
      ['--limit', '5'],
    ]) {
      const r = await dpzo('eval', '--model', 'm', '--data', 'd.jsonl', '--task', 'tokens', flag!, value!);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`unknown option '${flag}'`));
    }
  });

  it('prints the metrics evaluate() computes on the model (table, and one object with --json)', async () => {
    const model = await loadModel(MODEL, { threads: 2 });
    let want: EvalResult;
    try {
      const ds = loadDataset(DEV, { task: { kind: 'classification', template: '{sentence} It was ', labelWords: ['terrible', 'great'] }, modelDir: MODEL, config: model.config, tokenizer: loadTokenizer(MODEL) });
      want = await evaluate(model, ds);
    } finally {
      model.dispose();
    }
    const [asJson, asText] = await Promise.all([
      dpzo('eval', '--model', MODEL, '--data', DEV, ...TASK, '--threads', '1', '--json'),
      dpzo('eval', '--model', MODEL, '--data', DEV, ...TASK, '--threads', '1'),
    ]);
    expect(asJson.status, asJson.stderr).toBe(0);
    const got = json(asJson);
    expect(got.metric).toBe('accuracy');
    expect(got.examples).toBe(6);
    expect(got.stepsReplayed).toBe(0);
    expect(got.accuracy).toBe(want.accuracy);
    expect(got.loss as number).toBeCloseTo(want.loss, 6);
    expect(asText.status, asText.stderr).toBe(0);
    expect(asText.stdout).toMatch(new RegExp(`^accuracy\\s+${want.accuracy!.toPrecision(4).replace('.', '\\.')}$`, 'm'));
    expect(asText.stdout).toMatch(new RegExp(`^loss\\s+${want.loss.toPrecision(5).replace('.', '\\.')}$`, 'm'));
  });

  it('--run evaluates the replayed model: equal to evaluating the export, different from the base', async () => {
    const OUT = join(tmp.dir, 'exported');
    const [base, replayed, exported] = await Promise.all([
      dpzo('eval', '--model', MODEL, '--data', DEV, ...TASK, '--threads', '1', '--json'),
      dpzo('eval', '--run', RUN, '--data', DEV, '--threads', '1', '--json'), // the task comes from run.json
      dpzo('export', '--run', RUN, '--out', OUT, '--threads', '1', '--json'),
    ]);
    for (const r of [base, replayed, exported]) expect(r.status, r.stderr).toBe(0);
    const rep = json(replayed);
    expect(rep.stepsReplayed).toBe(4);
    const ex = json(exported);
    expect(ex.steps).toBe(4);
    expect(ex.weightsHash).toBe(report.weightsHash);

    // the exported directory: config, weights and the base's tokenizer files; it loads with the trained weights
    expect(readdirSync(OUT).sort()).toEqual(['README.md', 'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readFileSync(join(OUT, 'tokenizer.json'))).toEqual(readFileSync(join(MODEL, 'tokenizer.json')));
    const m = await loadModel(OUT, { threads: 1 });
    try {
      expect(await m.weightsHash()).toBe(report.weightsHash);
    } finally {
      m.dispose();
    }
    expect(readdirSync(tmp.dir).filter((f) => f.includes('partial'))).toEqual([]);

    const fromExport = await dpzo('eval', '--model', OUT, '--data', DEV, ...TASK, '--threads', '2', '--json');
    expect(fromExport.status, fromExport.stderr).toBe(0);
    expect(metricsOf(rep)).toEqual(metricsOf(json(fromExport)));
    expect(rep.loss).not.toBe(json(base).loss);
  });
});

describe('dpzo eval --run without --data', () => {
  it("is refused naming --data: it evaluated the run's private training file and printed its loss and size N", async () => {
    const [text, asJson] = await Promise.all([dpzo('eval', '--run', RUN, '--threads', '1'), dpzo('eval', '--run', RUN, '--threads', '1', '--json')]);
    for (const r of [text, asJson]) {
      expectOneLineFailure(r, /^dpzo: eval --run needs --data: .*\[ERR_TRAIN_OPTION\]$/);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toContain('train.tsv');
    }
  });
});

describe('dpzo eval --run and the run\'s --eval-max', () => {
  it("the run's --eval-max (its own held-out evaluations) does not cut this evaluation; --eval-max given here does", async () => {
    const run = join(tmp.dir, 'run-eval-max');
    // its own DPZO_HOME: the dataset ledger of this test's training file stays in the temporary directory
    const t = await dpzoWithEnv({ DPZO_HOME: join(tmp.dir, 'home') }, 'train', '--model', MODEL, '--data', TRAIN, ...TASK, '--eval', DEV, '--eval-public', '--eval-max', '2', '--epsilon', '8',
      '--delta', '1e-5', '--steps', '1', '--batch-size', '8', '--threads', '1', '--out', run, '--json');
    expect(t.status, t.stderr).toBe(0);
    const [all, two] = await Promise.all([
      dpzo('eval', '--run', run, '--data', DEV, '--threads', '1', '--json'),
      dpzo('eval', '--run', run, '--data', DEV, '--threads', '1', '--eval-max', '3', '--json'),
    ]);
    expect(all.status, all.stderr).toBe(0);
    expect(json(all).examples).toBe(6);
    expect(two.status, two.stderr).toBe(0);
    expect(json(two).examples).toBe(3);
  });
});

describe('dpzo eval --run and the run\'s --max-length', () => {
  it("the run's --max-length does not cut this evaluation: eval --run equals eval of the export with the same flags", async () => {
    const run = join(tmp.dir, 'run-max-length');
    const out = join(tmp.dir, 'exported-max-length');
    // 16 bytes: every DEV prompt ('{sentence} It was ') is cut to it
    const t = await dpzoWithEnv({ DPZO_HOME: join(tmp.dir, 'home') }, 'train', '--model', MODEL, '--data', TRAIN, ...TASK, '--max-length', '16', '--epsilon', '8',
      '--delta', '1e-5', '--steps', '1', '--batch-size', '8', '--threads', '1', '--out', run, '--json');
    expect(t.status, t.stderr).toBe(0);
    const e = await dpzo('export', '--run', run, '--out', out, '--threads', '1');
    expect(e.status, e.stderr).toBe(0);
    const [replayed, exported, replayedCut, exportedCut] = await Promise.all([
      dpzo('eval', '--run', run, '--data', DEV, '--threads', '1', '--json'),
      dpzo('eval', '--model', out, '--data', DEV, ...TASK, '--threads', '1', '--json'),
      dpzo('eval', '--run', run, '--data', DEV, '--threads', '1', '--max-length', '16', '--json'),
      dpzo('eval', '--model', out, '--data', DEV, ...TASK, '--threads', '1', '--max-length', '16', '--json'),
    ]);
    for (const r of [replayed, exported, replayedCut, exportedCut]) expect(r.status, r.stderr).toBe(0);
    expect(metricsOf(json(replayed))).toEqual(metricsOf(json(exported)));
    expect(metricsOf(json(replayedCut))).toEqual(metricsOf(json(exportedCut)));
    expect(json(replayedCut).loss).not.toBe(json(replayed).loss);
  });
});

describe('dpzo eval --run --dtype', () => {
  it("another dtype than the run's is refused naming --dtype (it was ignored: the float32 replay was printed); the run's own is fine", async () => {
    const [other, same] = await Promise.all([
      dpzo('eval', '--run', RUN, '--data', DEV, '--threads', '1', '--dtype', 'bfloat16', '--json'),
      dpzo('eval', '--run', RUN, '--data', DEV, '--threads', '1', '--dtype', 'float32', '--json'),
    ]);
    expectOneLineFailure(other, /^dpzo: --dtype bfloat16: eval --run replays the run in its dtype float32 .*\[ERR_TRAIN_OPTION\]$/);
    expect(other.stdout).toBe('');
    expect(same.status, same.stderr).toBe(0);
    expect(json(same).stepsReplayed).toBe(4);
  });
});

describe('dpzo eval --run on a damaged run', () => {
  it('a trajectory lost or emptied (the ledger holds 4 releases) is refused as export refuses it: it evaluated the base model as the run', async () => {
    const lost = join(tmp.dir, 'run-lost-trajectory');
    const emptied = join(tmp.dir, 'run-emptied-trajectory');
    const noLedger = join(tmp.dir, 'run-no-ledger');
    for (const d of [lost, emptied, noLedger]) cpSync(RUN, d, { recursive: true });
    rmSync(join(lost, 'trajectory.jsonl'));
    writeFileSync(join(emptied, 'trajectory.jsonl'), '');
    rmSync(join(noLedger, 'ledger.jsonl'));
    const rs = await Promise.all([lost, emptied, noLedger].map((d) => dpzo('eval', '--run', d, '--data', DEV, '--threads', '1', '--json')));
    expectOneLineFailure(rs[0]!, /run-lost-trajectory: the ledger has 4 releases but the trajectory 0 steps.*\[ERR_RUN_CORRUPT\]/);
    expectOneLineFailure(rs[1]!, /run-emptied-trajectory: the ledger has 4 releases but the trajectory 0 steps.*\[ERR_RUN_CORRUPT\]/);
    expectOneLineFailure(rs[2]!, /run-no-ledger has no ledger\.jsonl.*\[ERR_RUN_CORRUPT\]/);
    for (const r of rs) expect(r.stdout).toBe('');
  });
});

/**
 * The README.md model card of an export (issue 16): ε by both accountants as the run's ledger gives it
 * (recomputed here from the ledger's lines), the hashes of base model and export, the mechanism's
 * parameters, and nothing of the private data (no file name, no sentence, not the training file's hash).
 */
function expectModelCard(card: string, exportedHash: string): void {
  const run = JSON.parse(readFileSync(join(RUN, 'run.json'), 'utf8')) as RunRecord;
  const entries = readFileSync(join(RUN, 'ledger.jsonl'), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as LedgerEntry);
  expect(entries).toHaveLength(4);
  const pld = new PldAccountant();
  const rdp = new RdpAccountant();
  for (const e of entries) for (const a of [pld, rdp]) a.step(releaseMechanism(e));
  const four = (x: number) => Number(x.toPrecision(4)).toString();
  expect(card).toContain(`**ε = ${four(pld.getEpsilon(1e-5).epsilon)} at δ = 0.00001** by the PLD accountant`);
  expect(card).toContain(`ε = ${four(rdp.getEpsilon(1e-5).epsilon)} at δ = 0.00001 by the RDP accountant`);
  expect(card).not.toContain(createHash('sha256').update(readFileSync(TRAIN)).digest('hex'));
  expect(card).toContain(run.model.weightsHash);
  expect(card).toContain(exportedHash);
  expect(card).toContain(`noise multiplier σ = ${four(run.plan.noiseMultiplier!)}`);
  expect(card).toContain('rate q = 0.5');
  expect(card).toContain('C = 1 (L2');
  expect(card).toContain('4 replayed, 4 released (planned 4)');
  expect(card).toMatch(/unit of privacy: \*\*one example\*\*/);
  expect(card).not.toContain('train.tsv');
  for (const s of [...POS, ...NEG]) expect(card).not.toContain(s);
}

describe('dpzo export', () => {
  it('refuses a non-empty --out and leaves it as it was; an existing empty directory is fine', async () => {
    const full = join(tmp.dir, 'occupied');
    mkdirSync(full);
    writeFileSync(join(full, 'config.json'), 'keep me');
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    const [refused, ok] = await Promise.all([dpzo('export', '--run', RUN, '--out', full, '--threads', '1'), dpzo('export', '--run', RUN, '--out', empty, '--threads', '1', '--json')]);
    expectOneLineFailure(refused, /not empty/);
    expect(readdirSync(full)).toEqual(['config.json']);
    expect(readFileSync(join(full, 'config.json'), 'utf8')).toBe('keep me');
    expect(ok.status, ok.stderr).toBe(0);
    expect(json(ok).weightsHash).toBe(report.weightsHash);
    expect(readdirSync(empty)).toContain('model.safetensors');
    expectModelCard(readFileSync(join(empty, 'README.md'), 'utf8'), json(ok).weightsHash as string);
  });

  it('--model: a base moved since the run exports with its tokenizer files (they were read from run.json\'s path: none)', async () => {
    const moved = join(tmp.dir, 'moved-base');
    cpSync(MODEL, moved, { recursive: true });
    const hidden = join(tmp.dir, 'model-hidden');
    renameSync(MODEL, hidden); // the base is no longer where run.json says
    let r: CliResult;
    const out = join(tmp.dir, 'exported-moved');
    try {
      r = await dpzo('export', '--run', RUN, '--out', out, '--model', moved, '--threads', '1', '--json');
    } finally {
      renameSync(hidden, MODEL);
    }
    expect(r.status, r.stderr).toBe(0);
    expect(json(r).weightsHash).toBe(report.weightsHash);
    expect(readdirSync(out).sort()).toEqual(['README.md', 'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readFileSync(join(out, 'tokenizer.json'))).toEqual(readFileSync(join(moved, 'tokenizer.json')));
  });

  it('a symbolic link as --out (to an empty directory, or dangling) is refused before the replay: it failed after it with a bare ENOTDIR', async () => {
    const target = join(tmp.dir, 'link-target');
    mkdirSync(target);
    const toEmpty = join(tmp.dir, 'link-to-empty');
    const dangling = join(tmp.dir, 'link-dangling');
    symlinkSync(target, toEmpty);
    symlinkSync(join(tmp.dir, 'nowhere'), dangling);
    const before = readdirSync(tmp.dir).sort();
    const rs = await Promise.all([toEmpty, dangling].map((out) => dpzo('export', '--run', RUN, '--out', out, '--threads', '1')));
    for (const [r, out] of [
      [rs[0]!, toEmpty],
      [rs[1]!, dangling],
    ] as const) {
      expectOneLineFailure(r, /is a symbolic link: give --out a new directory.*\[ERR_EXPORT_EXISTS\]$/);
      expect(r.stderr).toContain(out);
    }
    expect(readdirSync(tmp.dir).sort()).toEqual(before);
    expect(readdirSync(target)).toEqual([]);
  });

  it("the run's base gone from where run.json says: export and eval --run say so and name --model (it was '<dir>/config.json: not found')", async () => {
    const hidden = join(tmp.dir, 'model-hidden-2');
    renameSync(MODEL, hidden);
    let rs: CliResult[];
    try {
      rs = await Promise.all([dpzo('export', '--run', RUN, '--out', join(tmp.dir, 'never-2'), '--threads', '1'), dpzo('eval', '--run', RUN, '--data', DEV, '--threads', '1')]);
    } finally {
      renameSync(hidden, MODEL);
    }
    for (const r of rs) {
      expectOneLineFailure(r, /run\.json: the run's base model .* is not there \(moved or deleted\): give it with --model .*\[ERR_CONFIG_MISSING\]$/);
      expect(r.stderr).toContain(MODEL);
    }
    expect(existsSync(join(tmp.dir, 'never-2'))).toBe(false);
  });

  it('--out . in an empty working directory is refused before the replay (it failed after it with a bare EINVAL from rmdir)', async () => {
    const here = join(tmp.dir, 'empty-cwd');
    mkdirSync(here);
    const r = await new Promise<CliResult>((resolve, reject) => {
      const c = spawn(process.execPath, [CLI_MAIN, 'export', '--run', RUN, '--out', '.', '--threads', '1'], { cwd: here, env: process.env });
      let stdout = '';
      let stderr = '';
      c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      c.on('error', reject);
      c.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expectOneLineFailure(r, /^dpzo: \. is the working directory or holds it: give --out a new directory \[ERR_EXPORT_EXISTS\]$/);
    expect(readdirSync(here)).toEqual([]);
    expect(readdirSync(tmp.dir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('bad arguments: one line on stderr, exit 2', async () => {
    const missingRun = join(tmp.dir, 'no-such-run');
    const [exportNoRun, evalNoRun, evalNoData, evalNoTask, exportEmptyOut] = await Promise.all([
      dpzo('export', '--run', missingRun, '--out', join(tmp.dir, 'never')),
      dpzo('eval', '--run', missingRun, '--data', DEV),
      dpzo('eval', '--model', MODEL, '--data', join(tmp.dir, 'missing.tsv'), ...TASK, '--threads', '1'),
      dpzo('eval', '--model', MODEL, '--data', DEV, '--threads', '1'),
      dpzo('export', '--run', RUN, '--out', '', '--threads', '1'), // was a bare ENOENT naming a staging directory, after the replay
    ]);
    expectOneLineFailure(exportNoRun, /no-such-run.*not a dpzo run directory/);
    expect(existsSync(join(tmp.dir, 'never'))).toBe(false);
    expectOneLineFailure(evalNoRun, /not a dpzo run directory/);
    expectOneLineFailure(evalNoData, /missing\.tsv/);
    expectOneLineFailure(evalNoTask, /--task/);
    expectOneLineFailure(exportEmptyOut, /^dpzo: the export directory is an empty path: give --out a new directory \[ERR_ARGUMENT\]$/);
    expect(exportEmptyOut.stdout).toBe('');
  });

  it('--model whose weights differ from the run\'s base: the hash mismatch names that directory, not run.json\'s', async () => {
    const edited = join(tmp.dir, 'edited-base');
    cpSync(MODEL, edited, { recursive: true });
    const file = join(edited, 'model.safetensors');
    const bytes = readFileSync(file);
    bytes[8 + Number(bytes.readBigUInt64LE(0)) + 5] ^= 0x01;
    writeFileSync(file, bytes);
    const r = await dpzo('export', '--run', RUN, '--out', join(tmp.dir, 'exported-edited'), '--model', edited, '--threads', '1');
    expectOneLineFailure(r, /is not the run's initial .*\[ERR_RUN_MISMATCH\]$/);
    expect(r.stderr).toContain(`(${edited})`);
    expect(r.stderr).not.toContain(`(${MODEL})`);
  });

  // last: it edits the base model the run was trained from
  it('a base model whose weights changed since the run: hash mismatch, exit 2, no output directory', async () => {
    const file = join(MODEL, 'model.safetensors');
    const bytes = readFileSync(file);
    const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
    bytes[dataStart + 5] ^= 0x01; // one mantissa bit of one weight
    writeFileSync(file, bytes);
    const before = readdirSync(tmp.dir).sort();
    const out = join(tmp.dir, 'exported-after-edit');
    const [exp, ev] = await Promise.all([dpzo('export', '--run', RUN, '--out', out, '--threads', '1'), dpzo('eval', '--run', RUN, '--data', DEV, '--threads', '1')]);
    expectOneLineFailure(exp, /hash/);
    expectOneLineFailure(ev, /hash/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp.dir).sort()).toEqual(before);
  });
});
