// lib/io/jsonl.ts, the one append-only JSONL primitive under the ledger and the trajectory:
// whole lines, each fsynced before append returns; a torn tail reported and cut durably.
import { appendFileSync, fsyncSync, mkdtempSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { AppendLog, cutTornTail, readJsonl } from '../../../lib/io/jsonl.js';

const file = () => join(mkdtempSync(join(tmpdir(), 'dpzo-jsonl-')), 'log.jsonl');

describe('readJsonl', () => {
  it('a missing file has no lines and no torn tail', () => {
    expect(readJsonl(file())).toEqual({ lines: [], validBytes: 0, tornBytes: 0 });
  });

  it('a path it cannot read (a directory) is ERR_IO naming the path (it was a bare EISDIR naming nothing)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpzo-jsonl-'));
    expect(() => readJsonl(dir)).toThrow(expect.objectContaining({ code: 'ERR_IO', message: `${dir}: cannot read (EISDIR)` }));
  });

  it('returns the complete lines and reports the bytes after the last newline as a torn tail', () => {
    const path = file();
    writeFileSync(path, '{"a":1}\n{"b":"é"}\n{"c":');
    const r = readJsonl(path);
    expect(r.lines).toEqual(['{"a":1}', '{"b":"é"}']);
    expect(r.validBytes).toBe(Buffer.byteLength('{"a":1}\n{"b":"é"}\n'));
    expect(r.tornBytes).toBe(5);
  });

  it('a file that ends with its newline has no torn tail', () => {
    const path = file();
    writeFileSync(path, '1\n2\n');
    expect(readJsonl(path)).toEqual({ lines: ['1', '2'], validBytes: 4, tornBytes: 0 });
  });
});

describe('cutTornTail', () => {
  it('cuts exactly the torn bytes and leaves a file with no torn tail', () => {
    const path = file();
    writeFileSync(path, '{"a":1}\n{"b":2');
    cutTornTail(path, readJsonl(path));
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    expect(readJsonl(path).tornBytes).toBe(0);
  });

  it('leaves a file without a torn tail untouched', () => {
    const path = file();
    writeFileSync(path, 'x\n');
    cutTornTail(path, readJsonl(path));
    expect(readFileSync(path, 'utf8')).toBe('x\n');
  });
});

describe('AppendLog', () => {
  it('appends whole lines and fsyncs each one before append returns', () => {
    const path = file();
    const events: string[] = [];
    const log = new AppendLog(path, {
      write: (fd, b, o, l) => {
        events.push(`write ${l}`);
        return writeSync(fd, b, o, l);
      },
      sync: (fd) => {
        // the line is complete in the file when the sync is issued
        events.push(`sync ${statSync(path).size}`);
        fsyncSync(fd);
      },
    });
    log.append('{"step":0}');
    events.push('returned');
    log.append('{"step":1}');
    log.close();
    expect(events).toEqual(['write 11', 'sync 11', 'returned', 'write 11', 'sync 22']);
    expect(readJsonl(path).lines).toEqual(['{"step":0}', '{"step":1}']);
  });

  it('appends after existing content, and after a torn tail was cut', () => {
    const path = file();
    writeFileSync(path, 'a\nb');
    cutTornTail(path, readJsonl(path));
    const log = new AppendLog(path);
    log.append('c');
    log.close();
    expect(readFileSync(path, 'utf8')).toBe('a\nc\n');
  });

  it('a failed write is undone, not synced, and names the path; later appends still work', () => {
    const path = file();
    let fail = true;
    let syncs = 0;
    const log = new AppendLog(path, {
      write: (fd, b, o, l) => {
        if (fail) {
          writeSync(fd, b, o, 2);
          throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
        }
        return writeSync(fd, b, o, l);
      },
      sync: (fd) => {
        syncs++;
        fsyncSync(fd);
      },
    });
    expect(() => log.append('{"x":1}')).toThrow(expect.objectContaining({ code: 'ERR_IO', message: expect.stringContaining(path) }));
    expect(syncs).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('');
    fail = false;
    log.append('{"x":2}');
    log.close();
    expect(readJsonl(path)).toEqual({ lines: ['{"x":2}'], validBytes: 8, tornBytes: 0 });
  });

  it('a failed fsync after a complete write is ERR_IO naming the path, and the log takes no more lines (a retry appended the record twice)', () => {
    const path = file();
    let fail = true;
    const log = new AppendLog(path, {
      sync: (fd) => {
        if (fail) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        fsyncSync(fd);
      },
    });
    expect(() => log.append('{"x":1}')).toThrow(expect.objectContaining({ code: 'ERR_IO', message: expect.stringMatching(/fsync failed \(EIO\)/) }));
    fail = false;
    // the retry of the same record: refused, so the file holds it at most once
    expect(() => log.append('{"x":1}')).toThrow(expect.objectContaining({ code: 'ERR_IO', message: expect.stringContaining('reopen') }));
    log.close();
    expect(readJsonl(path).lines).toEqual(['{"x":1}']);
    // a new handle (a reopen) appends again
    const again = new AppendLog(path);
    again.append('{"x":2}');
    again.close();
    expect(readJsonl(path).lines).toEqual(['{"x":1}', '{"x":2}']);
  });

  it('append after close throws ERR_IO; close twice is harmless', () => {
    const log = new AppendLog(file());
    log.close();
    log.close();
    expect(() => log.append('1')).toThrow(expect.objectContaining({ code: 'ERR_IO' }));
  });

  it('a line written by another writer between appends is kept (the file is opened for append)', () => {
    const path = file();
    const log = new AppendLog(path);
    log.append('1');
    appendFileSync(path, '2\n');
    log.append('3');
    log.close();
    expect(readJsonl(path).lines).toEqual(['1', '2', '3']);
  });
});
