// 'prv' (Opacus' name for its privacy random variable accountant, the PLD composition dpzo runs) through the library:
// `dpzo calibrate --accountant prv` mapped it in the CLI, while calibrateNoise and maxSteps refused it, accountHistory ran
// no accountant (answering [] in silence), epsilonOfSteps answered the looser RDP ε and createAccountant refused it.
// Now one mapping (privacy/accountant-name.ts) serves the library, and the CLI calls it.
import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  PldAccountant,
  accountHistory,
  calibrateNoise,
  createAccountant,
  epsilonOfSteps,
  maxSteps,
  type AccountantChoice,
  type AccountantName,
  type CalibrationAccountantName,
} from '../../../lib/privacy/index.js';
import { runPrivacyCli } from './in-process-cli.js';

afterEach(() => vi.restoreAllMocks());

/** `dpzo calibrate …` in-process: its --json object. */
async function cli(args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(await runPrivacyCli(['calibrate', ...args, '--json'])) as Record<string, unknown>;
}

const prv = 'prv' as CalibrationAccountantName;
const TARGET = { epsilon: 2, delta: 1e-5, sampleRate: 0.02, steps: 300 };
const MECH = { kind: 'gaussian', sampleRate: 0.02, noiseMultiplier: 1.1 } as const;

describe("the 'prv' accountant name in the library", () => {
  it('calibrateNoise takes prv as pld, with the answer `dpzo calibrate --accountant prv` prints', async () => {
    const lib = calibrateNoise({ ...TARGET, accountant: prv });
    const pld = calibrateNoise({ ...TARGET, accountant: 'pld' });
    const rdp = calibrateNoise({ ...TARGET, accountant: 'rdp' });
    expect(lib).toEqual(pld);
    expect(lib.accountant).toBe('pld');
    // the PLD's σ, not the RDP's (which is larger here): the alias is the tight accountant
    expect(rdp.noiseMultiplier!).toBeGreaterThan(lib.noiseMultiplier!);
    const printed = await cli(['--epsilon', '2', '--delta', '1e-5', '--sample-rate', '0.02', '--steps', '300', '--accountant', 'prv']);
    expect(printed.noiseMultiplier).toBe(lib.noiseMultiplier);
    expect(printed.epsilon).toBe(lib.epsilon);
    expect(printed.accountant).toBe('pld');
  });

  it('maxSteps takes prv as pld, with the answer `dpzo calibrate --accountant prv --noise-multiplier` prints', async () => {
    const o = { epsilon: 1, delta: 1e-5, sampleRate: 0.02, noiseMultiplier: 1.1 };
    const lib = maxSteps({ ...o, accountant: prv });
    expect(lib).toEqual(maxSteps({ ...o, accountant: 'pld' }));
    expect(lib.steps).toBeGreaterThan(maxSteps({ ...o, accountant: 'rdp' }).steps);
    const printed = await cli(['--epsilon', '1', '--delta', '1e-5', '--sample-rate', '0.02', '--noise-multiplier', '1.1', '--accountant', 'prv']);
    expect(printed).toMatchObject({ steps: lib.steps, epsilon: lib.epsilon, accountant: 'pld' });
  });

  it('accountHistory, epsilonOfSteps and createAccountant take prv as pld', () => {
    const history = [{ mechanism: MECH, times: 300 }];
    const pld = accountHistory(history, 1e-5, 'pld');
    expect(pld).toHaveLength(1);
    expect(accountHistory(history, 1e-5, 'prv' as AccountantChoice)).toEqual(pld);
    const e = epsilonOfSteps(MECH, 300, 1e-5, 'prv' as AccountantName);
    expect(e).toBe(epsilonOfSteps(MECH, 300, 1e-5, 'pld'));
    expect(e).toBeLessThan(epsilonOfSteps(MECH, 300, 1e-5, 'rdp'));
    const acc = createAccountant('prv' as AccountantName);
    expect(acc).toBeInstanceOf(PldAccountant);
  });

  it('another name is refused, naming the option and the accepted names', () => {
    expect(() => calibrateNoise({ ...TARGET, accountant: 'prx' as CalibrationAccountantName })).toThrow(
      /^accountant must be 'pld' \(or 'prv'\), 'rdp' or 'pure', got prx$/,
    );
    expect(() => maxSteps({ epsilon: 1, delta: 1e-5, sampleRate: 0.02, noiseMultiplier: 1, accountant: 'PLD' as CalibrationAccountantName })).toThrow(
      /^accountant must be 'pld' \(or 'prv'\), 'rdp' or 'pure', got PLD$/,
    );
    // a misspelt choice ran no accountant: accountHistory answered [] (ε unreported, not refused)
    expect(() => accountHistory([{ mechanism: MECH, times: 3 }], 1e-5, 'PLD' as AccountantChoice)).toThrow(
      /^accountant must be 'pld' \(or 'prv'\), 'rdp' or 'all'/,
    );
    expect(() => epsilonOfSteps(MECH, 3, 1e-5, 'Pld' as AccountantName)).toThrow(/^accountant must be 'pld' \(or 'prv'\) or 'rdp', got Pld$/);
  });
});
