// Usage errors are the project's one line with a code and exit 2, like every other error
// (commander alone printed two lines with no code); numbers are decimal only.
import { describe, expect, it } from 'vitest';

import { decimal } from '../../../lib/cli/numbers.js';
import { dpzo } from '../../helpers/cli.js';

describe('usage errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown option', ['train', '--bogus'], /^dpzo: unknown option '--bogus' \(see dpzo train --help\) \[ERR_ARGUMENT\]$/],
    ['missing option value', ['account', '--steps'], /^dpzo: option '--steps <T>' argument missing .*\[ERR_ARGUMENT\]$/],
    ['unknown command', ['trian'], /^dpzo: unknown command 'trian'.*\(see dpzo --help\) \[ERR_ARGUMENT\]$/],
    // commander printed its help on stderr, then main the line 'dpzo: (outputHelp) (see dpzo --help)'
    ['no command', [], /^dpzo: a command is needed \(see dpzo --help\) \[ERR_ARGUMENT\]$/],
    ['a command without its subcommand', ['bench'], /^dpzo: a command is needed \(see dpzo bench --help\) \[ERR_ARGUMENT\]$/],
    [
      'hexadecimal ε',
      ['train', '--epsilon', '0x10'],
      /^dpzo: option '--epsilon <ε>' argument '0x10' is invalid\. must be a decimal number .*\[ERR_ARGUMENT\]$/,
    ],
    // account and calibrate read their privacy flags through one decimal reader (lib/cli/numbers.ts flagNumber)
    [
      'hexadecimal sample rate (account)',
      ['account', '--sample-rate', '0x10', '--noise-multiplier', '1', '--steps', '2', '--delta', '1e-5'],
      /^dpzo: --sample-rate must be a decimal number, got 0x10 \[ERR_ARGUMENT\]$/,
    ],
    [
      'blank δ (calibrate)',
      ['calibrate', '--epsilon', '8', '--delta', ' ', '--sample-rate', '0.01', '--steps', '10'],
      /^dpzo: --delta must be a decimal number, got {3}\[ERR_ARGUMENT\]$/,
    ],
    // issue 10.13: 1/σ² overflowed into ERR_INTERNAL from the PLD tails
    [
      'a noise multiplier too small to account',
      ['account', '--sample-rate', '0.3', '--noise-multiplier', '1e-300', '--steps', '2', '--delta', '1e-5'],
      /^dpzo: --noise-multiplier must be at least 1e-150 .*got 1e-300 \[ERR_ARGUMENT\]$/,
    ],
    [
      'a Laplace scale too small to account',
      ['account', '--mechanism', 'laplace', '--sample-rate', '0.3', '--laplace-scale', '1e-320', '--steps', '2', '--delta', '1e-5'],
      /^dpzo: --laplace-scale must be large enough that C\/b is finite .*\[ERR_ARGUMENT\]$/,
    ],
    // issue 10.13: a wrong --model was reported as a missing tokenizer.json
    [
      'a --model directory that does not exist',
      ['train', '--model', '/nonexistent-dpzo-model', '--data', 'x.jsonl', '--task', 'lm', '--epsilon', '8', '--delta', '1e-5', '--steps', '2'],
      /^dpzo: \/nonexistent-dpzo-model is not a model directory: no such directory \[ERR_CONFIG_MISSING\]$/,
    ],
    ['threads beyond the cap', ['export', 'run', 'out', '--threads', '4294967297'], /--threads.*must be an integer in \[1, 1024\].*\[ERR_ARGUMENT\]$/],
  ];
  for (const [title, args, line] of cases) {
    it(`${title}: one line, a code, exit 2`, async () => {
      const r = await dpzo(...args);
      expect(r.status).toBe(2);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(line);
      expect(r.stdout).toBe('');
    });
  }
});

describe('help', () => {
  it("dpzo eval --help describes eval's own --data and --device (it showed train's: 'training data', dpsgd and --resume)", async () => {
    const r = await dpzo('eval', '--help');
    expect(r.status).toBe(0);
    const line = (flag: string) => r.stdout.split('\n').find((l) => l.trimStart().startsWith(flag)) ?? '';
    expect(line('--data')).toMatch(/the data to evaluate on/);
    expect(line('--device')).toMatch(/^\s*--device <device>\s+cpu \| cuda \| cuda:N \| auto \(default cpu\)$/);
    expect(r.stdout).not.toMatch(/training data|dpsgd|--resume/);
  });
});

describe('decimal', () => {
  it('reads decimal literals only', () => {
    expect([decimal('1'), decimal('-2.5'), decimal('.5'), decimal('1e-6'), decimal('+3.')]).toEqual([1, -2.5, 0.5, 1e-6, 3]);
    for (const bad of ['0x10', '0b11', '0o7', '', ' ', '1_000', 'Infinity', 'NaN', '1e', '--1']) expect(decimal(bad), bad).toBeNaN();
  });
});
