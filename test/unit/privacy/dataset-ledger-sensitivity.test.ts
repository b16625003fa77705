// The dataset ledger's `trueSensitivity` mark: an older dpzo set the noise of constant-time runs with K = N slots for
// Δ = C where the release had Δ = 2C, and its dataset-ledger lines do not say which runs those were. run.json's
// releaseSensitivity refuses such a run's own ledger; `dpzo account --dataset` summed its lines at face value and said nothing.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSha256 } from '../../../lib/data/fingerprint.js';
import { DatasetLedger, PrivacyLedger, datasetLedgerFile } from '../../../lib/privacy/index.js';
import { dpzoWithEnv } from '../../helpers/cli.js';

const OLD_RUN = '11111111-1111-4111-8111-111111111111';
const NEW_RUN = '22222222-2222-4222-8222-222222222222';
const HASH = 'a'.repeat(64);

let dir: string;
let home: string;
let data: string;
let sha: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dpzo-dsens-'));
  home = path.join(dir, 'home');
  data = path.join(dir, 'train.jsonl');
  await fsp.writeFile(data, '{"input_ids":[1,2]}\n');
  sha = fileSha256(data);
});
afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

/** A dataset ledger as an older dpzo wrote it (named by the plain hash): `old` unmarked Gaussian lines of OLD_RUN (σ 2, q 0.01). */
async function olderLedger(old: number): Promise<void> {
  const file = path.join(home, 'datasets', sha, 'ledger.jsonl');
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const l = await PrivacyLedger.open(file, { create: true, accountant: 'pld', budget: { epsilon: 100, delta: 1e-5 } });
  for (let i = 0; i < old; i++) await l.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 2, clip: 1, origin: { run: OLD_RUN, hash: HASH } });
  await l.close();
}

async function accountJson(...extra: string[]): Promise<Record<string, unknown>> {
  const r = await dpzoWithEnv({ DPZO_HOME: home }, 'account', '--dataset', data, '--json', ...extra);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('dataset ledger: releases of an older dpzo (no trueSensitivity mark)', () => {
  it('record marks its lines; an older ledger still opens, verifies its chain and keeps its unmarked lines unmarked', async () => {
    await olderLedger(3);
    const d = await DatasetLedger.open(sha, { home });
    try {
      expect(d.ledger.entries.every((e) => e.trueSensitivity === undefined)).toBe(true);
      const run = PrivacyLedger.inMemory({ accountant: 'pld' });
      const e = await run.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 2, clip: 1 });
      await d.record(NEW_RUN, e);
    } finally {
      await d.close();
    }
    const again = await DatasetLedger.open(sha, { home, readOnly: true });
    try {
      expect(again.ledger.entries.map((x) => x.trueSensitivity)).toEqual([undefined, undefined, undefined, true]);
      const u = again.unmarked();
      expect(u.releases).toBe(3);
      expect(u.runs).toEqual([OLD_RUN]);
    } finally {
      await again.close();
    }
    const text = await fsp.readFile(datasetLedgerFile(home, sha)!, 'utf8');
    expect(text.trim().split('\n').at(-1)).toMatch(/"trueSensitivity":true/);
  });

  it('a mark other than true is a corrupt line', async () => {
    const file = path.join(home, 'datasets', sha, 'ledger.jsonl');
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const l = await PrivacyLedger.open(file, { create: true, accountant: 'pld' });
    await expect(
      l.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 2, clip: 1, trueSensitivity: false as unknown as true }),
    ).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/release\.trueSensitivity/) });
    await l.close();
  });

  it('account --dataset --json names the older releases and their runs and bounds ε with each at Δ = 2C', async () => {
    await olderLedger(50);
    const d = await DatasetLedger.open(sha, { home });
    try {
      const run = PrivacyLedger.inMemory({ accountant: 'pld' });
      for (let i = 0; i < 50; i++) await d.record(NEW_RUN, await run.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 2, clip: 1 }));
    } finally {
      await d.close();
    }
    const j = await accountJson('--accountant', 'rdp');
    const older = j.olderReleases as { releases: number; runs: string[]; epsilonUpperBound: number; note: string };
    expect(older).toBeDefined();
    expect(older.releases).toBe(50);
    expect(older.runs).toEqual([OLD_RUN]);
    expect(older.note).toMatch(/older dpzo/);
    expect(older.note).toContain(OLD_RUN);
    expect(older.note).toMatch(/understated/);
    // the bound is the ε of the same history with the older lines at σ/2: 50 releases at σ 1 and 50 at σ 2
    const ref = PrivacyLedger.inMemory({ accountant: 'rdp' });
    for (let i = 0; i < 50; i++) await ref.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1, clip: 1 });
    for (let i = 0; i < 50; i++) await ref.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 2, clip: 1 });
    expect(older.epsilonUpperBound).toBeCloseTo(ref.spent(1e-5).epsilon, 10);
    expect(older.epsilonUpperBound).toBeGreaterThan(j.epsilon as number);

    const r = await dpzoWithEnv({ DPZO_HOME: home }, 'account', '--dataset', data);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^warning +50 release\(s\) of run\(s\) 11111111-1111-4111-8111-111111111111 were written by an older dpzo.*understated/m);
  });

  it('account --ledger on the dataset ledger file warns as --dataset does', async () => {
    await olderLedger(2);
    const file = datasetLedgerFile(home, sha)!;
    const r = await dpzoWithEnv({ DPZO_HOME: home }, 'account', '--ledger', file, '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { olderReleases?: { releases: number; runs: string[] } };
    expect(j.olderReleases).toMatchObject({ releases: 2, runs: [OLD_RUN] });
  });

  it('a ledger whose lines are all marked says nothing of older releases', async () => {
    const d = await DatasetLedger.open(sha, { home, budget: { epsilon: 100, delta: 1e-5 } });
    try {
      const run = PrivacyLedger.inMemory({ accountant: 'pld' });
      await d.record(NEW_RUN, await run.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 2, clip: 1 }));
    } finally {
      await d.close();
    }
    const j = await accountJson();
    expect(j.olderReleases).toBeUndefined();
    const r = await dpzoWithEnv({ DPZO_HOME: home }, 'account', '--dataset', data);
    expect(r.stdout).not.toMatch(/older dpzo/);
  });
});
