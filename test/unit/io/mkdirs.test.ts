// makeDirectories: `mkdir -p` one mkdir at a time. Node's recursive mkdirSync never returns where mkdir fails with
// ENOENT under a parent that exists (procfs), so `--out /proc/nope` hung `dpzo train` and `dpzo demo`.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeDirectories } from '../../../lib/io/mkdirs.js';
import { PrivacyLedger } from '../../../lib/privacy/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { ROOT } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-mkdirs-test-');
afterAll(() => tmp.cleanup());

describe('makeDirectories', () => {
  it('makes the missing parents and says which it made', () => {
    const d = join(tmp.dir, 'a', 'b', 'c');
    expect(makeDirectories(d)).toEqual([join(tmp.dir, 'a'), join(tmp.dir, 'a', 'b'), d]);
    expect(statSync(d).isDirectory()).toBe(true);
    expect(makeDirectories(d)).toEqual([]);
  });

  it('a file on the way: ENOTDIR', () => {
    const f = join(tmp.dir, 'file');
    writeFileSync(f, 'x');
    expect(() => makeDirectories(join(f, 'x', 'y'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }) as Error);
  });

  it('a failure part-way removes the parents this call made (they were left behind, empty)', () => {
    const top = join(tmp.dir, 'partial');
    // 'partial' and 'partial/a' are made, then the 300-character name fails
    expect(() => makeDirectories(join(top, 'a', 'x'.repeat(300)))).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }) as Error);
    expect(existsSync(top)).toBe(false);
    // what was there before stays
    mkdirSync(top);
    expect(() => makeDirectories(join(top, 'a', 'x'.repeat(300)))).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }) as Error);
    expect(readdirSync(top)).toEqual([]);
  });

  it('an existing directory is fine', () => {
    mkdirSync(join(tmp.dir, 'there'));
    expect(makeDirectories(join(tmp.dir, 'there'))).toEqual([]);
  });

  it.skipIf(process.platform !== 'linux')('under procfs: ENOENT at once (recursive mkdirSync loops forever there)', () => {
    expect(() => makeDirectories('/proc/nope/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
    expect(() => makeDirectories('/proc/nope')).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
  });

  it.skipIf(process.platform !== 'linux')('a ledger under procfs (a DPZO_HOME of /proc/x): ERR_IO at once (its recursive mkdir never settled)', async () => {
    await expect(PrivacyLedger.open('/proc/nope/ledger.jsonl', { accountant: 'rdp' })).rejects.toMatchObject({ code: 'ERR_IO' });
  });

  it("no code under lib/ calls Node's recursive mkdir (each of them hung under procfs)", () => {
    const lib = join(ROOT, 'lib');
    const files = readdirSync(lib, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const recursive = files.filter((f) => /mkdir(Sync)?\([^)]*recursive:\s*true/.test(readFileSync(join(lib, f), 'utf8')));
    expect(recursive).toEqual([]);
  });
});
