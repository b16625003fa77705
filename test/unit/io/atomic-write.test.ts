// writeFileAtomic / writeTextAtomic: the file is replaced by the concatenation of the parts, whole, and a failed
// write leaves neither a partial target nor the temporary file (named by the caller or of the call's own).
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { writeFileAtomic, writeTextAtomic } from '../../../lib/io/json-file.js';
import { makeTempDir } from '../../helpers/checkpoints.js';

const tmp = makeTempDir('dpzo-atomic-');
afterAll(() => tmp.cleanup());

describe('atomic file replacement', () => {
  it('writes the parts in order over the old file, through the named temporary file', () => {
    const dir = join(tmp.dir, 'a');
    mkdirSync(dir);
    const path = join(dir, 'x.bin');
    writeFileSync(path, 'old contents, longer than the new ones');
    writeFileAtomic(path, [Buffer.from('ab'), new Uint8Array([0, 255]), Buffer.alloc(0), Buffer.from('z')], join(dir, '.x.bin.mine.tmp'));
    expect([...readFileSync(path)]).toEqual([97, 98, 0, 255, 122]);
    expect(readdirSync(dir)).toEqual(['x.bin']);
    writeTextAtomic(path, 'héllo');
    expect(readFileSync(path, 'utf8')).toBe('héllo');
    expect(readdirSync(dir)).toEqual(['x.bin']);
  });

  it('a write that cannot be renamed into place throws and leaves no temporary file', () => {
    const dir = join(tmp.dir, 'b');
    mkdirSync(join(dir, 'target'), { recursive: true }); // a directory where the file goes
    expect(() => writeFileAtomic(join(dir, 'target'), [Buffer.from('data')], join(dir, 'mine.tmp'))).toThrow(/EISDIR|ENOTDIR|EEXIST|ENOTEMPTY/);
    expect(() => writeTextAtomic(join(dir, 'target'), 'data')).toThrow();
    expect(readdirSync(dir)).toEqual(['target']);
  });
});
