// `dpzo account`: what an ε = ∞ is called. A noisy release whose ε overflows float64 (Laplace ε0 = C/b = 1.7e308 over
// 10 steps) was labelled "a release without noise: NOT PRIVATE"; that label is for a ledger holding a noiseless release.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PrivacyLedger } from '../../../lib/privacy/index.js';
import { dpzo } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'dpzo-account-inf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('account: ε = ∞', () => {
  it('of a noisy Laplace release whose ε overflows is not called a release without noise', async () => {
    const r = await dpzo(
      ...['account', '--mechanism', 'laplace', '--clip', '1.7e308', '--laplace-scale', '1', '--sample-rate', '0.5', '--steps', '10'],
      ...['--delta', '1e-5', '--accountant', 'all'],
    );
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('epsilon '));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatch(/Infinity \(beyond the float64 range: the noise is far too small for its sensitivity; NOT PRIVATE\)$/);
      expect(row).not.toMatch(/without noise/);
    }
  });

  it('of a ledger holding a release without noise still says so', async () => {
    const file = join(dir, 'none.jsonl');
    const l = await PrivacyLedger.open(file);
    await l.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1, clip: 1 });
    await l.append({ mechanism: 'none', sampleRate: 0.01, clip: 1 });
    await l.close();
    const r = await dpzo('account', '--ledger', file, '--delta', '1e-5', '--accountant', 'rdp');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^epsilon rdp +Infinity \(a release without noise: NOT PRIVATE\)$/m);
  });
});
