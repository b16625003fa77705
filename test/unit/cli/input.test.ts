import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { readTokenJsonl } from '../../../lib/cli/commands/loss.js';

describe('dpzo loss input', () => {
  it('a line that is not JSON is named by file and line, never quoted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpzo-loss-in-'));
    const file = join(dir, 'private.jsonl');
    writeFileSync(file, `{"input_ids":[1,2,3]}\nSECRET alice@example.com\n`);
    const err = await readTokenJsonl(file).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_DATA_FORMAT' });
    expect(err!.message).toMatch(/private\.jsonl:2: invalid JSON/);
    expect(err!.message).not.toMatch(/SECRET|alice/);
  });

  it('a line over the record limit is refused by line number (readline used to die with a RangeError stack)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpzo-loss-in-'));
    const file = join(dir, 'huge.jsonl');
    writeFileSync(file, `{"input_ids":[1,2,3]}\n{"input_ids":[1],"x":"${'SECRET '.repeat(400_000)}"}\n`);
    const err = await readTokenJsonl(file).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_DATA_FORMAT' });
    expect(err!.message).toMatch(/huge\.jsonl:2: a record exceeds the limit/);
    expect(err!.message).not.toMatch(/2800\d\d\d/); // the line's length (private) is not stated
    expect(err!.message).not.toMatch(/SECRET/);
  });
});

describe('--threads', () => {
  it('reads decimal integers in [1, 1024] only (no 0x10, 1e3, or a million threads)', async () => {
    const { parseThreads } = await import('../../../lib/cli/format.js');
    expect(parseThreads('4')).toBe(4);
    expect(parseThreads('1024')).toBe(1024);
    for (const bad of ['0x10', '1e3', '1000000', '0', '-1', '1.5', ' 4', '']) expect(() => parseThreads(bad), bad).toThrow(/\[1, 1024\]/);
  });
});
