// removeOldCheckpoints (`dpzo pretrain --save-total-limit N`): a checkpoint being deleted is first renamed to a hidden
// name, the rename made durable, and only then are its files removed. Deleted in place, a process killed part-way left
// a checkpoint-<step> without its checkpoint.bin (or model) that --resume took as the latest. The kill is simulated: the
// first removal deletes one file of what it is given, then throws.
import * as fs from 'node:fs';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { findPretrainCheckpoint } from '../../../lib/pretrain/resume.js';
import { removeOldCheckpoints } from '../../../lib/pretrain/save-limit.js';
import { makeTempDir } from '../../helpers/checkpoints.js';

const hooks = vi.hoisted(() => ({ killAtRemoval: false, removals: [] as string[] }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const rmSync = ((path: fs.PathLike, options?: fs.RmOptions) => {
    const p = String(path);
    hooks.removals.push(p);
    if (hooks.killAtRemoval) {
      hooks.killAtRemoval = false;
      // part of the directory is gone when the process dies
      real.rmSync(join(p, 'checkpoint.bin'), { force: true });
      throw new Error('killed');
    }
    real.rmSync(p, options);
  }) as typeof real.rmSync;
  return { ...real, rmSync, default: { ...real, rmSync } };
});

const tmp = makeTempDir('dpzo-save-limit-');
afterAll(() => tmp.cleanup());

/** A checkpoint of run `runId` at `step` in `out`, with the files a resume reads. */
function checkpoint(out: string, step: number, runId = 'run-a'): void {
  const dir = join(out, `checkpoint-${step}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ runId, step }));
  writeFileSync(join(dir, 'checkpoint.bin'), 'weights and Adam state');
  writeFileSync(join(dir, 'model.safetensors'), 'model');
}

beforeEach(() => {
  hooks.killAtRemoval = false;
  hooks.removals = [];
});

describe('removeOldCheckpoints', () => {
  it('keeps the one just saved and the newest others up to the limit, oldest removed first', () => {
    const out = join(tmp.dir, 'keep');
    for (const s of [2, 4, 6, 8, 10]) checkpoint(out, s);
    checkpoint(out, 3, 'run-b');
    // the one just saved (6: a resume from 4 takes the steps after it again) is kept though 8 and 10 are later
    expect(removeOldCheckpoints(out, 'run-a', 2, 6)).toEqual([2, 4, 8].map((s) => join(out, `checkpoint-${s}`)));
    expect(readdirSync(out).sort()).toEqual(['checkpoint-10', 'checkpoint-3', 'checkpoint-6']);
  });

  it('removes nothing under a checkpoint-<step> name: a kill while removing leaves the latest complete one for --resume', () => {
    const out = join(tmp.dir, 'killed');
    for (const s of [2, 4, 6]) checkpoint(out, s);
    hooks.killAtRemoval = true;
    expect(() => removeOldCheckpoints(out, 'run-a', 1, 6)).toThrow(/killed/);
    // what was being removed had been moved aside under a hidden name first
    expect(hooks.removals.length).toBeGreaterThan(0);
    for (const p of hooks.removals) expect(p).toMatch(/[/\\]\.checkpoint-\d+\.partial-/);
    for (const name of readdirSync(out).filter((f) => f.startsWith('checkpoint-')))
      expect(existsSync(join(out, name, 'checkpoint.bin')), `${name} is complete`).toBe(true);
    expect(findPretrainCheckpoint(out)).toBe(join(out, 'checkpoint-6'));
  });
});
