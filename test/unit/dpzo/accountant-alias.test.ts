// `--accountant prv` (issue 16): Opacus calls its PLD-style accountant "prv"; dpzo accepts the name for
// the same composition, in the API, the run configuration and `dpzo account`.
import { describe, expect, it } from 'vitest';

import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { makePlan } from '../../../lib/dpzo/index.js';
import { dpzo } from '../../helpers/cli.js';
import { tokenDataset } from '../../helpers/fake-model.js';

const train = tokenDataset(Array.from({ length: 200 }, (_, i) => 3 + (i % 40)));
const base = { train, epsilon: 3, delta: 1e-5, batchSize: 10, steps: 300 };

describe('the prv accountant name', () => {
  it('plans exactly as pld', () => {
    const prv = makePlan({ ...base, accountant: 'prv' });
    const pld = makePlan({ ...base, accountant: 'pld' });
    expect(prv.accountant).toBe('pld');
    expect(prv.noiseMultiplier).toBe(pld.noiseMultiplier);
    expect(prv.predictedEpsilon).toBe(pld.predictedEpsilon);
    expect(parseRunConfig({ model: 'm', data: 'd', task: 'tokens', epsilon: 1, delta: 1e-5, accountant: 'prv' }, 'test').accountant).toBe('prv');
    expect(() => parseRunConfig({ model: 'm', data: 'd', task: 'tokens', epsilon: 1, delta: 1e-5, accountant: 'moments' }, 'test')).toThrow(/accountant/);
  });

  it('dpzo account --accountant prv reports the pld ε', async () => {
    const args = ['account', '--mechanism', 'gaussian', '--sample-rate', '0.01', '--noise-multiplier', '1.1', '--steps', '1000', '--delta', '1e-5', '--json'];
    const [prv, pld] = await Promise.all([dpzo(...args, '--accountant', 'prv'), dpzo(...args, '--accountant', 'pld')]);
    expect(prv.status, prv.stderr).toBe(0);
    expect(JSON.parse(prv.stdout)).toEqual(JSON.parse(pld.stdout));
  });
});
