// scripts/make-demo-model.ts replaces --out (by default the shipped data/models/word-llama) only with a whole new
// model: it deleted --out first, so a run that then failed (a Debian package missing, npm pack failing, pretrain
// refusing '--steps abc') left no model at all.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ROOT } from '../../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'dpzo-make-demo-script-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function script(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'make-demo-model.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('error', reject);
    c.on('close', (status) => resolve({ status, stderr }));
  });
}

/** A directory standing for an existing model, and the check that it is still there, whole. */
function existingModel(name: string): { out: string; intact: () => void } {
  const parent = join(tmp, name);
  const out = join(parent, 'word-llama');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'model.safetensors'), 'the model before\n');
  return {
    out,
    intact: () => {
      expect(readFileSync(join(out, 'model.safetensors'), 'utf8')).toBe('the model before\n');
      // and no staging directory is left beside it
      expect(readdirSync(parent)).toEqual(['word-llama']);
    },
  };
}

describe('make-demo-model', () => {
  it('a run that fails before the model is made (the Bible program not on PATH) leaves --out as it was', { timeout: 60_000 }, async () => {
    const { out, intact } = existingModel('missing-package');
    const empty = join(tmp, 'empty-path');
    mkdirSync(empty, { recursive: true });
    // `bible` is not found on this PATH (and where ../shared/data/agnews is absent the run fails earlier, reading it)
    const r = await script({ PATH: empty }, '--out', out, '--work', join(tmp, 'work-1'), '--moby', join(tmp, 'no-such-words.txt'));
    expect(r.status).not.toBe(0);
    intact();
  });

  it('a --steps or --threads that is not a positive integer is refused in one line, exit 2, --out as it was', { timeout: 60_000 }, async () => {
    const { out, intact } = existingModel('bad-steps');
    for (const bad of [
      ['--steps', 'abc'],
      ['--steps', '0'],
      ['--threads', '1.5'],
    ]) {
      const r = await script({}, '--out', out, '--work', join(tmp, 'work-2'), ...bad);
      expect(r.status, bad.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), bad.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`${bad[0]} must be a positive integer`));
      intact();
    }
  });
});
