// Issue 10.10: a full disk mid-line. The trajectory writer ignored writeSync's byte count, so a
// short write left a torn line and training went on; now a short write is continued and a failed
// one is undone and stops the run with the path named.
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { TrajectoryWriter, readTrajectory } from '../../../lib/dpzo/trajectory.js';
import { type WriteFn, appendLineSync } from '../../../lib/io/write-all.js';

const dir = () => mkdtempSync(join(tmpdir(), 'dpzo-write-all-'));

describe('appendLineSync', () => {
  it('continues short writes until the whole line is written', () => {
    const path = join(dir(), 'f');
    writeFileSync(path, 'first\n');
    const fd = openSync(path, 'a');
    let calls = 0;
    const threeBytes: WriteFn = (f, b, o, l) => (calls++, writeSync(f, b, o, Math.min(3, l)));
    appendLineSync(fd, 'a longer second line\n', path, threeBytes);
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe('first\na longer second line\n');
    expect(calls).toBe(7);
  });

  it('a failed write (ENOSPC after 5 bytes) is undone and thrown with the path', () => {
    const path = join(dir(), 'f');
    writeFileSync(path, 'first\n');
    const fd = openSync(path, 'a');
    let written = 0;
    const fullDisk: WriteFn = (f, b, o, l) => {
      if (written >= 5) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      const n = writeSync(f, b, o, Math.min(5, l));
      written += n;
      return n;
    };
    expect(() => appendLineSync(fd, 'second line\n', path, fullDisk)).toThrow(
      expect.objectContaining({ code: 'ERR_IO', message: expect.stringMatching(new RegExp(`${path}: write failed after 5 of 12 bytes \\(ENOSPC\\)`)) }),
    );
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe('first\n');
  });

  it('the trajectory writer stops at the failed line and the run stays readable (resumable)', () => {
    const run = dir();
    let fail = false;
    const w = new TrajectoryWriter(run, (f, b, o, l) => {
      if (fail) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      return writeSync(f, b, o, Math.min(7, l));
    });
    w.append({ step: 0, seeds: ['1'], g: [0.5], lr: 0.1 });
    fail = true;
    expect(() => w.append({ step: 1, seeds: ['2'], g: [0.25], lr: 0.1 })).toThrow(/trajectory\.jsonl: write failed/);
    w.close();
    const read = readTrajectory(run);
    expect(read.torn).toBe(false);
    expect(read.lines).toHaveLength(1);
  });
});
