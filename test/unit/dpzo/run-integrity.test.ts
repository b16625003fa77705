// Issue 10, items 7-9: repairs are all or nothing; a run's ledger is checked against its run.json
// and against the training file's dataset ledger (which also composes every run on that file and
// can carry a budget of its own); a run directory is claimed by creating run.json exclusively.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { register as registerAccount } from '../../../lib/cli/commands/account.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { exportRun } from '../../../lib/dpzo/replay.js';
import { RunDirectory } from '../../../lib/dpzo/run-directory.js';
import { openCheckedRunLedger } from '../../../lib/dpzo/run-integrity.js';
import { readRunJson } from '../../../lib/dpzo/run-record.js';
import { DatasetLedger, PrivacyLedger, accountHistory, releaseMechanism } from '../../../lib/privacy/index.js';
import { sealLine } from '../../../lib/privacy/ledger-format.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-integrity-');
afterAll(() => tmp.cleanup());
let counter = 0;

/** A training file on disk (its bytes key the dataset ledger) and the dataset read from it. */
function trainFile(tag: string) {
  const file = join(tmp.dir, `train-${tag}.txt`);
  writeFileSync(file, `private rows ${tag}\n`);
  return { ...tokenDataset(Array.from({ length: 40 }, (_, i) => 3 + (i % 50))), source: file };
}

function options(train: ReturnType<typeof trainFile>, home: string, extra: Record<string, unknown> = {}) {
  return { train, epsilon: 4, delta: 1e-5, accountant: 'rdp' as const, batchSize: 4, steps: 6, lr: 0.01, clip: 1, zoEps: 1e-2, dpzoHome: home, ...extra };
}

/** A trained run directory: 6 releases in its ledger, its trajectory and its dataset ledger. */
async function trainedRun(extra: Record<string, unknown> = {}) {
  const id = counter++;
  const home = join(tmp.dir, `home-${id}`);
  const out = join(tmp.dir, `run-${id}`);
  const train = trainFile(String(id));
  const o = options(train, home, { runDir: out, ...extra });
  const report = await new DPZOTrainer(new FakeModel(8), o).train();
  expect(report.steps).toBe(o.steps);
  return { home, out, train, o, report };
}

async function resume(o: Record<string, unknown>) {
  return new DPZOTrainer(new FakeModel(8), { ...(o as ReturnType<typeof options>), resume: true }).train();
}

/** Rewrites ledger lines with `edit` and seals the chain again (each prevHash the SHA-256 of the line before): what a careful tamperer would do. */
function reseal(file: string, edit: (obj: Record<string, unknown>, index: number) => void): void {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  let prevLine = '0'.repeat(64);
  const out = lines.map((text, i) => {
    const obj = JSON.parse(text) as Record<string, unknown>;
    delete obj.hash;
    obj.prevHash = prevLine;
    edit(obj, i);
    const { line } = sealLine(obj);
    prevLine = createHash('sha256').update(line, 'utf8').digest('hex');
    return line;
  });
  writeFileSync(file, out.join('\n') + '\n');
}

describe('all-or-nothing repairs (10.7)', () => {
  it('a torn ledger tail with a trajectory that cannot be reconciled: refused, and no file changed', async () => {
    const { out, o } = await trainedRun();
    const ledgerFile = join(out, 'ledger.jsonl');
    const full = readFileSync(ledgerFile);
    // the last release torn (6 → 5 complete lines), the trajectory still has 6 steps
    writeFileSync(ledgerFile, full.subarray(0, full.length - 20));
    const before = { ledger: readFileSync(ledgerFile), trajectory: readFileSync(join(out, 'trajectory.jsonl')) };
    await expect(resume(o)).rejects.toMatchObject({ code: 'ERR_RUN_CORRUPT' });
    expect(readFileSync(ledgerFile).equals(before.ledger)).toBe(true);
    expect(readFileSync(join(out, 'trajectory.jsonl')).equals(before.trajectory)).toBe(true);
  });
});

describe('the ledger against run.json (10.8)', () => {
  it('a release re-sealed with another σ is refused by --resume', async () => {
    const { out, o } = await trainedRun();
    reseal(join(out, 'ledger.jsonl'), (obj, i) => {
      if (i === 3) obj.noiseMultiplier = (obj.noiseMultiplier as number) * 2;
    });
    await expect(PrivacyLedger.open(join(out, 'ledger.jsonl'), { readOnly: true })).resolves.toBeTruthy(); // the chain itself is valid
    await expect(resume(o)).rejects.toMatchObject({ code: 'ERR_LEDGER_MISMATCH', message: expect.stringMatching(/release 3 .*noiseMultiplier/) });
  });

  it('a re-sealed header budget and renumbered steps are refused', async () => {
    const a = await trainedRun();
    reseal(join(a.out, 'ledger.jsonl'), (obj, i) => {
      if (i === 0) obj.budget = { epsilon: 40, delta: 1e-5 };
    });
    await expect(resume(a.o)).rejects.toMatchObject({ code: 'ERR_LEDGER_MISMATCH', message: expect.stringMatching(/header budget/) });
    const b = await trainedRun();
    reseal(join(b.out, 'ledger.jsonl'), (obj, i) => {
      if (i > 0) obj.step = (i - 1) * 2;
    });
    await expect(resume(b.o)).rejects.toMatchObject({ code: 'ERR_LEDGER_MISMATCH', message: expect.stringMatching(/numbered step/) });
  });
});

/** `dpzo account --ledger RUN --json` in process; its ε as printed. */
async function accountRun(runDir: string): Promise<number> {
  const program = new Command('dpzo').exitOverride();
  registerAccount(program);
  program.commands.forEach((c) => c.exitOverride());
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(['node', 'dpzo', 'account', '--ledger', runDir, '--json']);
  } finally {
    write.mockRestore();
  }
  return (JSON.parse(out) as { epsilon: number }).epsilon;
}

describe('a cut ledger is refused by `dpzo account` and `dpzo export`, as by --resume', () => {
  it('the last releases cut from the ledger, the trajectory intact, no dataset ledger: an error, not a smaller ε', async () => {
    // without a dataset ledger only the trajectory can tell: it has a line for each of the 6 releases
    const { out } = await trainedRun({ datasetLedger: false });
    const ledgerFile = join(out, 'ledger.jsonl');
    const lines = readFileSync(ledgerFile, 'utf8').split('\n');
    writeFileSync(ledgerFile, lines.slice(0, 3).join('\n') + '\n'); // header + 2 releases: the chain is still valid
    await expect(PrivacyLedger.open(ledgerFile, { readOnly: true })).resolves.toMatchObject({ length: 2 });
    await expect(accountRun(out)).rejects.toMatchObject({
      code: 'ERR_RUN_CORRUPT',
      message: expect.stringMatching(/ledger has 2 releases but the trajectory 6 steps/),
    });
    // the export's model card stated ε of 2 releases for weights that replayed 6
    const target = join(tmp.dir, `export-${counter++}`);
    await expect(exportRun(new FakeModel(8), out, target)).rejects.toMatchObject({ code: 'ERR_RUN_CORRUPT' });
    expect(existsSync(target)).toBe(false);
  });

  it('a release re-sealed with another σ: the export refuses to state its ε, as resume and account do', async () => {
    const { out } = await trainedRun({ datasetLedger: false });
    reseal(join(out, 'ledger.jsonl'), (obj, i) => {
      if (i === 3) obj.noiseMultiplier = (obj.noiseMultiplier as number) * 2;
    });
    await expect(exportRun(new FakeModel(8), out, join(tmp.dir, `export-${counter++}`))).rejects.toMatchObject({ code: 'ERR_LEDGER_MISMATCH' });
  });

  it('a run as it ended, and one whose last release never reached the trajectory (a crash), still export and account', async () => {
    const { out, report } = await trainedRun({ datasetLedger: false });
    expect(await accountRun(out)).toBeCloseTo(report.epsilon.rdp, 9);
    const trajectory = join(out, 'trajectory.jsonl');
    const lines = readFileSync(trajectory, 'utf8').split('\n');
    writeFileSync(trajectory, lines.slice(0, 5).join('\n') + '\n');
    expect(await accountRun(out)).toBeCloseTo(report.epsilon.rdp, 9);
    const r = await exportRun(new FakeModel(8), out, join(tmp.dir, `export-${counter++}`));
    expect(r.steps).toBe(5);
    expect(readFileSync(join(r.outDir, 'README.md'), 'utf8')).toMatch(/5 replayed, 6 released/);
  });
});

describe('the dataset ledger (10.8)', () => {
  it('ledger and trajectory both cut back: the run directory is behind its dataset ledger and refused', async () => {
    const { out, o } = await trainedRun();
    for (const f of ['ledger.jsonl', 'trajectory.jsonl']) {
      const lines = readFileSync(join(out, f), 'utf8').split('\n');
      // ledger: header + 2 releases; trajectory: 2 steps
      writeFileSync(join(out, f), lines.slice(0, f === 'ledger.jsonl' ? 3 : 2).join('\n') + '\n');
    }
    await expect(resume(o)).rejects.toMatchObject({ code: 'ERR_LEDGER_ROLLBACK', message: expect.stringMatching(/holds 2 releases .* recorded 6/) });
  });

  it('`dpzo account` on a rolled-back run under another $DPZO_HOME still checks the dataset ledger the run recorded in', async () => {
    const { out } = await trainedRun();
    for (const f of ['ledger.jsonl', 'trajectory.jsonl']) {
      const lines = readFileSync(join(out, f), 'utf8').split('\n');
      writeFileSync(join(out, f), lines.slice(0, f === 'ledger.jsonl' ? 3 : 2).join('\n') + '\n');
    }
    const saved = process.env.DPZO_HOME;
    process.env.DPZO_HOME = join(tmp.dir, 'home-elsewhere');
    try {
      await expect(accountRun(out)).rejects.toMatchObject({ code: 'ERR_LEDGER_ROLLBACK', message: expect.stringMatching(/holds 2 releases .* recorded 6/) });
    } finally {
      process.env.DPZO_HOME = saved;
    }
  });

  it('a ledger rewritten so that it still matches run.json (every line re-sealed) is caught by the dataset ledger', async () => {
    const { out, o } = await trainedRun();
    reseal(join(out, 'ledger.jsonl'), (obj, i) => {
      if (i > 0) obj.note = 'rewritten'; // every planned field unchanged; the lines (and hashes) are not the recorded ones
    });
    await expect(resume(o)).rejects.toMatchObject({ code: 'ERR_LEDGER_ROLLBACK', message: expect.stringMatching(/release 1 is not the one/) });
  });

  it('composes every run on the same training file; its ε is more than either run spent', async () => {
    const home = join(tmp.dir, 'home-compose');
    const train = trainFile('compose');
    const r1 = await new DPZOTrainer(new FakeModel(8), options(train, home, { runDir: join(tmp.dir, 'compose-1') })).train();
    const r2 = await new DPZOTrainer(new FakeModel(8), options(train, home, { runDir: join(tmp.dir, 'compose-2'), epsilon: 2 })).train();
    expect(r2.dataset?.runs).toBe(2);
    expect(r2.dataset?.releases).toBe(12);
    // the same composition computed independently from the two runs' ledgers
    const l1 = await PrivacyLedger.open(join(tmp.dir, 'compose-1', 'ledger.jsonl'), { readOnly: true });
    const l2 = await PrivacyLedger.open(join(tmp.dir, 'compose-2', 'ledger.jsonl'), { readOnly: true });
    const history = [...l1.entries, ...l2.entries].map((e) => ({ mechanism: releaseMechanism(e), times: 1 }));
    const [pld] = accountHistory(history, 1e-5, 'pld');
    expect(r2.dataset!.epsilon).toBeCloseTo(pld!.epsilon, 6);
    expect(r2.dataset!.epsilon).toBeGreaterThan(r1.epsilon.pld);
    expect(r2.dataset!.epsilon).toBeGreaterThan(r2.epsilon.pld);
    // another file has a ledger of its own
    const other = await new DPZOTrainer(new FakeModel(8), options(trainFile('other'), home, { runDir: join(tmp.dir, 'compose-3') })).train();
    expect(other.dataset?.runs).toBe(1);
  });

  it('a dataset budget stops the run that would exceed it, whichever run it is, and cannot be changed later', async () => {
    const home = join(tmp.dir, 'home-budget');
    const train = trainFile('budget');
    const first = await new DPZOTrainer(new FakeModel(8), options(train, home, { datasetBudget: 3.6 })).train();
    expect(first.stopReason).toBe('completed');
    expect(first.dataset?.budget).toEqual({ epsilon: 3.6, delta: 1e-5 });
    const second = await new DPZOTrainer(new FakeModel(8), options(train, home)).train();
    expect(second.stopReason).toBe('budget');
    expect(second.warnings.join('\n')).toMatch(/dataset budget ε = 3.6/);
    expect(second.steps).toBeLessThan(6);
    expect(second.dataset!.epsilon).toBeLessThanOrEqual(3.6);
    await expect(new DPZOTrainer(new FakeModel(8), options(train, home, { datasetBudget: 60 })).train()).rejects.toMatchObject({
      code: 'ERR_ARGUMENT',
      message: expect.stringMatching(/fixed/),
    });
  });

  it('a crash between the run ledger and the dataset ledger: resume adds the missing release (never under-counts)', async () => {
    const { out, o, home } = await trainedRun();
    // the dataset ledger without the run's last release: the state a crash between the two appends leaves
    const file = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { dataset: { ledger: string } }).dataset.ledger;
    expect(file.startsWith(join(home, 'datasets'))).toBe(true);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    writeFileSync(file, lines.slice(0, -1).join('\n') + '\n');
    const report = await resume(o);
    expect(report.warnings.join('\n')).toMatch(/lacked this run's last 1 release/);
    const d = await DatasetLedger.openFile(file, { readOnly: true });
    expect(d.ledger.length).toBe(6);
    expect(d.trace(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).runId).hashes).toHaveLength(6);
    await d.close();
  });

  it("--resume under another $DPZO_HOME is refused: the run's releases would be split between two dataset ledgers", async () => {
    const home = join(tmp.dir, 'home-first');
    const out = join(tmp.dir, 'run-other-home');
    const train = trainFile('other-home');
    const o = options(train, home, { runDir: out });
    const controller = new AbortController();
    const first = await new DPZOTrainer(new FakeModel(8), o).train({ signal: controller.signal, onStep: (s) => void (s.step === 2 && controller.abort()) });
    expect(first.steps).toBe(3);
    const ledgerFile = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { dataset: { ledger: string } }).dataset.ledger;
    await expect(resume({ ...o, dpzoHome: join(tmp.dir, 'home-second') })).rejects.toMatchObject({
      code: 'ERR_RUN_MISMATCH',
      message: expect.stringMatching(/dataset ledger/),
    });
    // the start's ledger still holds the run; resumed with its own home, the run completes there
    const report = await resume(o);
    expect(report.steps).toBe(6);
    const d = await DatasetLedger.openFile(ledgerFile, { readOnly: true });
    expect(d.ledger.length).toBe(6);
    await d.close();
  });

  it('--resume of a run whose recorded dataset ledger is gone (the directory copied elsewhere) writes the whole run into this home', async () => {
    const home = join(tmp.dir, 'home-gone');
    const out = join(tmp.dir, 'run-gone-home');
    const train = trainFile('gone-home');
    const o = options(train, home, { runDir: out });
    const controller = new AbortController();
    await new DPZOTrainer(new FakeModel(8), o).train({ signal: controller.signal, onStep: (s) => void (s.step === 2 && controller.abort()) });
    const rec = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { dataset: { ledger: string } };
    rmSync(rec.dataset.ledger);
    const other = join(tmp.dir, 'home-gone-second');
    const report = await resume({ ...o, dpzoHome: other });
    expect(report.steps).toBe(6);
    const sha = createHash('sha256').update(readFileSync(train.source)).digest('hex');
    const d = await DatasetLedger.open(sha, { home: other, readOnly: true });
    expect(d.ledger.length).toBe(6);
    await d.close();
  });

  it('a run without a directory whose dataset append failed: its next train() adds the missing release (never under-counts)', async () => {
    const home = join(tmp.dir, 'home-memory-gap');
    const train = trainFile('memory-gap');
    const trainer = new DPZOTrainer(new FakeModel(8), options(train, home, { steps: 6 }));
    // the third dataset append fails (a full disk under $DPZO_HOME): the run ledger (memory) already holds it
    const record = DatasetLedger.prototype.record;
    let calls = 0;
    const spy = vi.spyOn(DatasetLedger.prototype, 'record').mockImplementation(function (this: DatasetLedger, ...args) {
      if (++calls === 3) return Promise.reject(Object.assign(new Error('ENOSPC'), { code: 'ERR_IO' }));
      return record.apply(this, args);
    });
    await expect(trainer.train()).rejects.toMatchObject({ code: 'ERR_IO' });
    spy.mockRestore();
    const report = await trainer.train();
    expect(report.steps).toBe(6);
    expect(report.dataset?.releases).toBe(6);
    const sha = createHash('sha256').update(readFileSync(train.source)).digest('hex');
    const d = await DatasetLedger.open(sha, { home, readOnly: true });
    expect(d.ledger.length).toBe(6);
    await d.close();
  });
});

describe('a run directory is claimed by creating run.json exclusively (10.9)', () => {
  it('the loser of a race writes nothing: the winner run.json and ledger stay', async () => {
    const out = join(tmp.dir, 'race');
    const home = join(tmp.dir, 'home-race');
    const winner = { format: 'dpzo-run/1', plan: { budget: { epsilon: 8, delta: 1e-5 } }, winner: true };
    const record = {
      private: true,
      model: { dir: '/fake', weightsHash: 'x', dtype: 'float32', trainable: null, trainableNames: [], numTrainable: 8 },
      plan: { budget: { epsilon: 2, delta: 1e-5 }, accountant: 'rdp' } as never,
      meta: {},
    };
    // the other process creates the run while this one opens its dataset ledger (after the emptiness check)
    const open = async () => {
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'run.json'), JSON.stringify(winner));
      return DatasetLedger.open('a'.repeat(64), { home });
    };
    await expect(RunDirectory.create(out, record, open)).rejects.toMatchObject({ code: 'ERR_RUN_EXISTS' });
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toEqual(winner);
    expect(existsSync(join(out, 'ledger.jsonl'))).toBe(false);
  });
});

describe('an output directory that cannot be created (10.13)', () => {
  it('is one ERR_IO naming the run directory and the reason', async () => {
    const file = join(tmp.dir, 'a-file');
    writeFileSync(file, 'x');
    const out = join(file, 'run');
    await expect(new DPZOTrainer(new FakeModel(8), options(trainFile('ro'), join(tmp.dir, 'home-ro'), { runDir: out })).train()).rejects.toMatchObject({
      code: 'ERR_IO',
      message: `cannot create the run directory ${out} (ENOTDIR)`,
    });
  });
  // EACCES / EROFS read the same way; not reproducible here when the tests run as root (chmod is ignored)
});

describe('a model remembers its privacy history (11.6)', () => {
  it('a second trainer on a trained model object is refused; the first may continue; a fresh model is fine', async () => {
    const model = new FakeModel(8);
    const train = tokenDataset(Array.from({ length: 40 }, (_, i) => 3 + (i % 50)));
    const o = { train, epsilon: 4, delta: 1e-5, accountant: 'rdp' as const, batchSize: 4, steps: 3, lr: 0.01, clip: 1, zoEps: 1e-2 };
    const first = new DPZOTrainer(model, o);
    await first.train();
    await expect(new DPZOTrainer(model, { ...o, epsilon: 8 }).train()).rejects.toMatchObject({
      code: 'ERR_TRAIN_OPTION',
      message: expect.stringMatching(/already took 3 private update/),
    });
    await expect(new DPZOTrainer(model, { ...o, runDir: join(tmp.dir, 'history-run') }).train()).rejects.toMatchObject({ code: 'ERR_TRAIN_OPTION' });
    expect(existsSync(join(tmp.dir, 'history-run'))).toBe(false);
    // the first trainer continues its own ledger (nothing more to release: its steps are done)
    expect((await first.train()).steps).toBe(3);
    expect((await new DPZOTrainer(new FakeModel(8), o).train()).steps).toBe(3);
  });

  it('a second trainer cannot train the model while a first one is training it (each ledger would count only its own releases)', async () => {
    const model = new FakeModel(8);
    const train = tokenDataset(Array.from({ length: 40 }, (_, i) => 3 + (i % 50)));
    const o = { train, epsilon: 4, delta: 1e-5, accountant: 'rdp' as const, batchSize: 4, steps: 5, lr: 0.01, clip: 1, zoEps: 1e-2 };
    const first = new DPZOTrainer(model, o);
    const running = first.train();
    await expect(new DPZOTrainer(model, o).train()).rejects.toMatchObject({ code: 'ERR_TRAIN_BUSY' });
    expect((await running).steps).toBe(5);
    // θ took the first trainer's 5 updates and nothing else
    expect(model.log.filter((l) => l.startsWith('update')).length).toBe(5);
    // once it is done, the model is free for its own trainer again (and still refused to others: 11.6)
    expect((await first.train()).steps).toBe(5);
    await expect(new DPZOTrainer(model, o).train()).rejects.toMatchObject({ code: 'ERR_TRAIN_OPTION' });
  });

  it("a --resume whose replay stops part-way leaves the model carrying the run's releases: a new run on it is refused", async () => {
    const { o } = await trainedRun();
    const model = new FakeModel(8);
    // cancelled after the first replayed step (the signal is read before each trajectory line)
    let reads = 0;
    const signal = {
      get aborted() {
        return reads++ >= 1;
      },
    } as unknown as AbortSignal;
    await expect(new DPZOTrainer(model, { ...o, resume: true }).train({ signal })).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    expect(Array.from(model.theta).some((x) => x !== 0)).toBe(true); // one released update is in θ
    // a new run would record these weights as its start and begin ε at 0
    const other = join(tmp.dir, 'history-after-cancelled-replay');
    await expect(new DPZOTrainer(model, { ...o, runDir: other }).train()).rejects.toMatchObject({
      code: 'ERR_TRAIN_OPTION',
      message: expect.stringMatching(/already took 6 private update/),
    });
    expect(existsSync(other)).toBe(false);
  });
});

describe('a run still training, read by eval --run / report / export', () => {
  it('its trajectory ahead of the ledger read a moment before is "still training" (ERR_LEDGER_LOCKED), not a damaged run', async () => {
    const { out } = await trainedRun();
    const run = readRunJson(out);
    // the moment a reader sees: the writer appended a step's ledger line and then its trajectory line after the reader
    // read the ledger (here: the trajectory one line ahead of the ledger)
    const traj = join(out, 'trajectory.jsonl');
    const lines = readFileSync(traj, 'utf8').trimEnd().split('\n');
    writeFileSync(traj, [...lines, lines[lines.length - 1]!.replace(/"step":\d+/, `"step":${lines.length}`)].join('\n') + '\n');
    // no writer: a damaged run
    await expect(openCheckedRunLedger(out, run)).rejects.toMatchObject({ code: 'ERR_RUN_CORRUPT' });
    // a live writer (this process) holds the ledger's lock: the run is training
    const writer = await PrivacyLedger.open(join(out, 'ledger.jsonl'));
    try {
      await expect(openCheckedRunLedger(out, run)).rejects.toMatchObject({
        code: 'ERR_LEDGER_LOCKED',
        message: expect.stringMatching(/still training \(process \d+/),
      });
    } finally {
      await writer.close();
    }
  });
});
