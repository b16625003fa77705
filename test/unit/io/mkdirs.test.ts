// makeDirectories: `mkdir -p` one mkdir at a time. Node's recursive mkdirSync never returns where mkdir fails with
// ENOENT under a parent that exists (procfs), so `--out /proc/nope` hung `dpzo train` and `dpzo demo`.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeDirectories } from '../../../lib/io/mkdirs.js';
import { makeTempDir } from '../../helpers/checkpoints.js';

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

  it('an existing directory is fine', () => {
    mkdirSync(join(tmp.dir, 'there'));
    expect(makeDirectories(join(tmp.dir, 'there'))).toEqual([]);
  });

  it.skipIf(process.platform !== 'linux')('under procfs: ENOENT at once (recursive mkdirSync loops forever there)', () => {
    expect(() => makeDirectories('/proc/nope/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
    expect(() => makeDirectories('/proc/nope')).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
  });
});
