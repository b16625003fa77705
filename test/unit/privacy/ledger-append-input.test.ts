// What PrivacyLedger.append takes: only the fields of a release (a misspelt one was ignored: { directons: 4 } recorded
// directions 1), and the step that comes next (a step that went back or jumped was written, leaving a run no resume accepts).
// A line read back stays tolerant of the fields an older dpzo wrote (its per-release `time`).
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS, headerLine, sealLine, sha256 } from '../../../lib/privacy/ledger-format.js';
import { PrivacyLedger, type ReleaseInput } from '../../../lib/privacy/index.js';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dpzo-ledger-input-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const base = { mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1, clip: 1 } as const;

describe('PrivacyLedger.append: fields', () => {
  it('refuses a field a release does not have, naming it, and writes nothing', async () => {
    const l = PrivacyLedger.inMemory();
    await expect(l.append({ ...base, directons: 4 } as unknown as ReleaseInput)).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/^release\.directons is not a field of a release/) }),
    );
    expect(l.length).toBe(0);
    // the same for the queries about a release
    expect(() => l.wouldExceed({ ...base, noiseMultipler: 2 } as unknown as ReleaseInput)).toThrow(/noiseMultipler/);
    expect(() => l.epsilonAfter({ ...base, sampleRat: 0.5 } as unknown as ReleaseInput, 1e-5)).toThrow(/sampleRat/);
    // the spelt field is taken; a field set to undefined is absent
    const e = await l.append({ ...base, directions: 4, laplaceScale: undefined });
    expect(e.directions).toBe(4);
  });

  it('a file ledger: the refusal leaves the file as it was', async () => {
    const file = path.join(dir, 'unknown.jsonl');
    const l = await PrivacyLedger.open(file);
    await l.append(base);
    const before = await fsp.readFile(file, 'utf8');
    await expect(l.append({ ...base, time: '2025-01-01T00:00:00Z' } as unknown as ReleaseInput)).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('release.time') }),
    );
    await l.close();
    expect(await fsp.readFile(file, 'utf8')).toBe(before);
  });

  it('reads back a line an older dpzo wrote with a `time` field (documented as ignored), and appends after it', async () => {
    const file = path.join(dir, 'old.jsonl');
    const header = headerLine('rdp', null);
    const { line } = sealLine({ type: 'release', step: 0, ...base, directions: 2, time: '2024-05-01T12:00:00.000Z', prevHash: sha256(header) });
    expect(sha256(header)).not.toBe(GENESIS);
    await fsp.writeFile(file, `${header}\n${line}\n`);
    const l = await PrivacyLedger.open(file);
    expect(l.length).toBe(1);
    expect(l.entries[0]).not.toHaveProperty('time');
    await l.append({ ...base, directions: 2 });
    await l.close();
    const again = await PrivacyLedger.open(file, { readOnly: true });
    expect(again.entries.map((e) => e.step)).toEqual([0, 1]);
    await again.close();
  });
});

describe('PrivacyLedger.append: the step', () => {
  it('is the number of releases before it: a step that goes back or jumps is refused, and nothing is written', async () => {
    const file = path.join(dir, 'steps.jsonl');
    const l = await PrivacyLedger.open(file);
    await l.append({ ...base, step: 0 });
    await l.append({ ...base, step: 1 });
    const before = await fsp.readFile(file, 'utf8');
    for (const step of [0, 1, 100]) {
      await expect(l.append({ ...base, step })).rejects.toThrow(
        expect.objectContaining({ code: 'ERR_ARGUMENT', message: `release.step must be 2, the number of releases before it (or absent), got ${step}` }),
      );
    }
    expect(await fsp.readFile(file, 'utf8')).toBe(before);
    // absent: numbered by the ledger
    expect((await l.append(base)).step).toBe(2);
    expect((await l.append({ ...base, step: 3 })).step).toBe(3);
    await l.close();
  });

  it('wouldExceed and epsilonAfter still take a release numbered elsewhere (the dataset ledger asks about a run’s release)', () => {
    const l = PrivacyLedger.inMemory({ budget: { epsilon: 10, delta: 1e-5 } });
    expect(l.wouldExceed({ ...base, step: 7 })).toBe(false);
    expect(l.epsilonAfter({ ...base, step: 7 }, 1e-5)).toBeGreaterThan(0);
  });
});
