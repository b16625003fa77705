// `--steps` of account and calibrate: a refusal shows the text typed. It was checked after float64 rounding, so
// `--steps 9007199254740993` was refused as "got 9007199254740992", a number the user never typed.
import { describe, expect, it } from 'vitest';
import { dpzo } from '../../helpers/cli.js';

const calibrate = ['calibrate', '--epsilon', '3', '--delta', '1e-5', '--sample-rate', '0.01', '--accountant', 'rdp'];
const account = ['account', '--sample-rate', '0.01', '--noise-multiplier', '1', '--delta', '1e-5', '--accountant', 'rdp'];

describe('--steps beyond 2^53 is refused naming what was typed', () => {
  it.each([
    ['calibrate', '9007199254740993', 'a positive integer'],
    ['calibrate', '0', 'a positive integer'],
    ['account', '9007199254740993', 'a non-negative integer'],
    ['account', '2.50', 'a non-negative integer'],
  ] as const)('%s --steps %s', async (command, steps, expected) => {
    const r = await dpzo(...(command === 'calibrate' ? calibrate : account), '--steps', steps);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`dpzo: --steps must be ${expected}, got ${steps} [ERR_ARGUMENT]\n`);
  });
  it('an exponent form (1e3) is still a number of steps', async () => {
    const r = await dpzo(...account, '--steps', '1e3', '--json');
    expect(r.status).toBe(0);
  });
});
