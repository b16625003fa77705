// spent() of a ledger with no releases answered rdp: { order: NaN } (RDP's minimum over no conversion; null in JSON) and
// pld: { interval: undefined }, which read as "no loss grid could hold the history". Nothing released is ε 0 by every
// accountant, with no order nor interval named, and no pure ε.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { DatasetLedger } from '../../../lib/privacy/dataset-ledger.js';
import { PrivacyLedger } from '../../../lib/privacy/ledger.js';
import { RdpAccountant } from '../../../lib/privacy/accountant.js';

const dir = mkdtempSync(join(tmpdir(), 'dpzo-empty-spent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const budget = { epsilon: 3, delta: 1e-5 };

describe('spent() of a ledger with no releases', () => {
  for (const accountant of ['pld', 'rdp'] as const) {
    it(`${accountant}: ε 0 by each accountant, no order, interval nor pure ε`, async () => {
      const want = { epsilon: 0, delta: 1e-5, accountant, pld: { epsilon: 0 }, rdp: { epsilon: 0 } };
      const memory = PrivacyLedger.inMemory({ budget, accountant });
      expect(memory.spent()).toStrictEqual(want);
      expect(memory.spent(1e-3)).toStrictEqual({ ...want, delta: 1e-3 });
      // as the JSON readers (account, report, the model card) see it: no null from a NaN order
      expect(JSON.stringify(memory.spent())).toBe(`{"epsilon":0,"delta":0.00001,"accountant":"${accountant}","pld":{"epsilon":0},"rdp":{"epsilon":0}}`);
      const file = await PrivacyLedger.open(join(dir, `${accountant}.jsonl`), { budget, accountant });
      try {
        expect(file.spent()).toStrictEqual(want);
      } finally {
        await file.close();
      }
    });
  }

  it('the dataset ledger of a file never trained on says the same', async () => {
    const d = await DatasetLedger.openFile(join(dir, 'dataset.jsonl'), { budget });
    try {
      expect(d.spent(1e-5)).toStrictEqual({ epsilon: 0, delta: 1e-5, accountant: 'pld', pld: { epsilon: 0 }, rdp: { epsilon: 0 } });
    } finally {
      await d.close();
    }
  });

  it('one release names its RDP order and its PLD interval again', async () => {
    const l = PrivacyLedger.inMemory({ budget, accountant: 'pld' });
    await l.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1, clip: 1 });
    const s = l.spent();
    expect(s.epsilon).toBeGreaterThan(0);
    expect(Number.isFinite(s.rdp!.order)).toBe(true);
    expect(s.pld!.interval).toBeGreaterThan(0);
  });
});

describe('an accountant with no releases', () => {
  it('RDP: ε 0 and δ 0 with no order (it answered order NaN, null in JSON)', () => {
    const rdp = new RdpAccountant();
    expect(rdp.getEpsilon(1e-5)).toStrictEqual({ epsilon: 0 });
    expect(rdp.getDelta(1)).toStrictEqual({ delta: 0 });
    expect(JSON.stringify(rdp.getEpsilon(1e-5))).toBe('{"epsilon":0}');
    // one release names its order again
    expect(rdp.step({ kind: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1 }).getEpsilon(1e-5).order).toBeGreaterThan(1);
  });
});
