// `dpzo demo --json` (issue 14): one JSON object at the end with the zero-shot, DP-ZO and
// non-private accuracies over the 872 SST-2 validation sentences, the ε spent at δ = 1e-5 within
// the budget, the steps and the seeds; a short --steps run so the test stays fast.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { KEYED_PREFIX, datasetKey } from '../../lib/privacy/dataset-key.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { ROOT, dpzo, dpzoWithEnv } from '../helpers/cli.js';

const tmp = makeTempDir('dpzo-demo-test-');
afterAll(() => tmp.cleanup());

interface DemoJson {
  zeroShotAccuracy: number;
  dpzoAccuracy: number;
  nonPrivateAccuracy?: number;
  epsilon: number;
  epsilonRdp: number;
  delta: number;
  steps: number;
  evalExamples: number;
  seeds: { modelInit: number; pretrainShuffle: number; thesaurusSample: number };
  runs: { dpzo: string; nonPrivate?: string };
  curves: { dpzo: string };
}

describe('dpzo demo --json', () => {
  it('prints the accuracies, ε, δ, steps and seeds as one JSON object', { timeout: 90_000 }, async () => {
    const out = join(tmp.dir, 'demo');
    const home = join(tmp.dir, 'home');
    const r = await dpzoWithEnv({ DPZO_HOME: home }, 'demo', '--steps', '12', '--threads', '2', '--out', out, '--json', '--no-baseline');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!) as DemoJson;
    for (const a of [j.zeroShotAccuracy, j.dpzoAccuracy]) {
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(1);
      // a fraction of the 872 sentences
      expect(Math.abs(a * 872 - Math.round(a * 872))).toBeLessThan(1e-6);
    }
    expect(j.nonPrivateAccuracy).toBeUndefined();
    expect(j.evalExamples).toBe(872);
    expect(j.steps).toBe(12);
    expect(j.delta).toBe(1e-5);
    // the noise is calibrated so all planned steps spend at most the budget (PLD), RDP a bit more
    expect(j.epsilon).toBeGreaterThan(0);
    expect(j.epsilon).toBeLessThanOrEqual(8 + 1e-6);
    expect(j.epsilonRdp).toBeGreaterThanOrEqual(j.epsilon);
    expect(j.seeds).toMatchObject({ modelInit: expect.any(Number), pretrainShuffle: expect.any(Number), thesaurusSample: expect.any(Number) });
    expect(j.runs.dpzo).toBe(join(out, 'dpzo-eps8'));
    for (const f of ['trajectory.jsonl', 'ledger.jsonl', 'metrics.jsonl', 'curves.svg']) expect(existsSync(join(j.runs.dpzo, f)), f).toBe(true);
    // the demo's dataset ledger stays next to its runs: a demonstration adds nothing to the user's $DPZO_HOME
    expect(readdirSync(join(out, 'dpzo-home', 'datasets')).length).toBe(1);
    expect(existsSync(home)).toBe(false);

    // the run is reproducible from what it printed: its directory's seeds and released ĝ replay to the same accuracy,
    // and eval / report draw its held-out accuracy and ε against the step in the terminal
    const ev = await dpzo('eval', '--run', j.runs.dpzo, '--data', join(ROOT, 'data/sst2/test.tsv'), '--threads', '2', '--json');
    expect(ev.status, ev.stderr).toBe(0);
    expect((JSON.parse(ev.stdout.trim()) as { accuracy: number }).accuracy).toBe(j.dpzoAccuracy);
    for (const cmd of [['eval', '--run', j.runs.dpzo, '--data', join(ROOT, 'data/sst2/test.tsv')], ['report', j.runs.dpzo]]) {
      const r = await dpzo(...cmd);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('held-out accuracy against the step');
      expect(r.stdout).toContain('ε spent (PLD) against the step');
      expect(r.stdout).toContain(join(j.runs.dpzo, 'curves.svg'));
    }
  });

  it('adds the non-private reference run, whose ε is infinite', { timeout: 90_000 }, async () => {
    const r = await dpzo('demo', '--steps', '6', '--threads', '2', '--out', join(tmp.dir, 'both'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim()) as DemoJson;
    expect(j.nonPrivateAccuracy).toBeGreaterThanOrEqual(0);
    expect(j.nonPrivateAccuracy).toBeLessThanOrEqual(1);
    expect(j.runs.nonPrivate).toBe(join(tmp.dir, 'both', 'zo-not-private'));
    expect(j.steps).toBe(6);
    // the two runs go side by side (one writer per dataset ledger): each home's ledger holds its own run's 6
    // releases only, so the private run's ledger shows its ε and not the reference's ∞
    const runsIn = (home: string) => {
      const [dataset] = readdirSync(join(tmp.dir, 'both', home, 'datasets'));
      const lines = readFileSync(join(tmp.dir, 'both', home, 'datasets', dataset!, 'ledger.jsonl'), 'utf8').trim().split('\n');
      const releases = lines.map((l) => JSON.parse(l) as { type: string; mechanism?: string; origin?: { run: string } }).filter((e) => e.type === 'release');
      return { releases: releases.length, runs: new Set(releases.map((e) => e.origin!.run)).size, mechanisms: new Set(releases.map((e) => e.mechanism)) };
    };
    expect(runsIn('dpzo-home')).toEqual({ releases: 6, runs: 1, mechanisms: new Set(['gaussian']) });
    expect(runsIn('dpzo-home-not-private')).toEqual({ releases: 6, runs: 1, mechanisms: new Set(['none']) });
    // the progress of both: the bar follows the private run, the reference's evaluations are noted alongside
    expect(r.stderr).toContain('ZO NOT PRIVATE alongside');
  });

  it('side by side, the first failure stops the other run and is the one reported', { timeout: 90_000 }, async () => {
    // the reference's dataset ledger held by a live process (this one): its run fails as it opens the ledger
    const out = join(tmp.dir, 'fails');
    const sha = createHash('sha256').update(readFileSync(join(ROOT, 'data/sst2/train.tsv'))).digest('hex');
    const home = join(out, 'dpzo-home-not-private');
    const ledgerDir = join(home, 'datasets', KEYED_PREFIX + datasetKey(home, sha)!);
    mkdirSync(ledgerDir, { recursive: true });
    writeFileSync(join(ledgerDir, 'ledger.jsonl.lock'), `${process.pid}\n`);
    const r = await dpzo('demo', '--steps', '3000', '--threads', '1', '--out', out, '--json');
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines.at(-1)).toContain('ERR_LEDGER_LOCKED');
    // the private run stopped long before its 3,000 steps: its ledger holds what it released until then
    const ledger = join(out, 'dpzo-eps8', 'ledger.jsonl');
    const released = existsSync(ledger) ? readFileSync(ledger, 'utf8').split('\n').filter((l) => l.includes('"release"')).length : 0;
    expect(released).toBeLessThan(3000);
  });
});
