// A release the accountants refuse (σ below 1e-150, where 1/σ² overflows; a Laplace b with C/b infinite) passed the
// ledger's own check, so PrivacyLedger.append wrote its line to the file and only then threw, from the accountant: the
// file kept a line that no later open could read (its error named neither the file nor the line), and the next append
// chained to the line before it (a broken hash chain). The line is now refused before anything is written.
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { GENESIS, sealLine } from '../../../lib/privacy/ledger-format.js';
import { PrivacyLedger } from '../../../lib/privacy/index.js';
import { dpzo } from '../../helpers/cli.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dpzo-unaccountable-'));
});
afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

describe('a release the accountants cannot represent', () => {
  it.each([
    [
      'gaussian σ = 1e-200',
      { mechanism: 'gaussian' as const, sampleRate: 0.5, noiseMultiplier: 1e-200, clip: 1 },
      /release\.noiseMultiplier must be at least 1e-150/,
    ],
    ['laplace b = 1e-310', { mechanism: 'laplace' as const, sampleRate: 0.5, laplaceScale: 1e-310, clip: 1 }, /release\.laplaceScale must be large enough/],
  ])('%s: refused before it is written; the ledger stays whole', async (_name, release, re) => {
    const file = path.join(dir, 'ledger.jsonl');
    const l = await PrivacyLedger.open(file, { create: true });
    const before = readFileSync(file, 'utf8');
    try {
      await expect(l.append(release)).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(re) });
      expect(readFileSync(file, 'utf8')).toBe(before);
      await l.append({ mechanism: 'gaussian', sampleRate: 0.5, noiseMultiplier: 1, clip: 1 });
    } finally {
      await l.close();
    }
    const again = await PrivacyLedger.open(file, { readOnly: true });
    expect(again.length).toBe(1);
    await again.close();
  });

  it('a ledger file holding such a line: ERR_LEDGER_CORRUPT naming the file and the line; account --ledger says so in one line, exit 2', async () => {
    const file = path.join(dir, 'ledger.jsonl');
    const header = sealLine({ type: 'header', version: 1, created: new Date(0).toISOString(), accountant: 'pld', budget: null, prevHash: GENESIS });
    const { createHash } = await import('node:crypto');
    const prev = createHash('sha256').update(header.line, 'utf8').digest('hex');
    const release = sealLine({
      type: 'release',
      step: 0,
      mechanism: 'gaussian',
      sampleRate: 0.5,
      noiseMultiplier: 1e-200,
      clip: 1,
      directions: 1,
      prevHash: prev,
    });
    await fsp.writeFile(file, `${header.line}\n${release.line}\n`);
    await expect(PrivacyLedger.open(file, { readOnly: true })).rejects.toMatchObject({
      code: 'ERR_LEDGER_CORRUPT',
      message: expect.stringMatching(
        new RegExp(`^privacy ledger ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line 2: release\\.noiseMultiplier must be at least 1e-150`),
      ),
    });
    const r = await dpzo('account', '--ledger', file, '--delta', '1e-5');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/line 2/);
  });
});
