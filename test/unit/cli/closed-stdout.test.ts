// A reader that closes the pipe early (`dpzo … | head -1`): the CLI's next write to stdout fails with EPIPE, which
// was an unhandled 'error' event (a stack trace on stderr, exit 1) instead of the rest of the output dropped.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { CLI_MAIN, ROOT } from '../../helpers/cli.js';

function withClosedStdout(...args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first line is written
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe('stdout closed by its reader', () => {
  it('drops the output and exits as it would have: no stack trace, no EPIPE', async () => {
    for (const args of [
      ['calibrate', '--epsilon', '8', '--delta', '1e-5', '--sample-rate', '0.032', '--steps', '300'],
      ['calibrate', '--epsilon', '8', '--delta', '1e-5', '--sample-rate', '0.032', '--steps', '300', '--json'],
      ['--help'],
    ]) {
      const r = await withClosedStdout(...args);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.status, args.join(' ')).toBe(0);
    }
  });
});
