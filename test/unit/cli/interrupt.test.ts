// listenForInterrupt: the first SIGINT/SIGTERM aborts the command's signal and leaves the process running (it stops
// where it can); a second one ends the process by that signal, after the command's `onRepeat` clean-up (the demo's
// temporary directory, which a second Ctrl-C left behind while the runs were stopping).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { ROOT } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-interrupt-test-');
afterAll(() => tmp.cleanup());

const INTERRUPT = pathToFileURL(join(ROOT, 'dist/cli/interrupt.js')).href;

/** A child holding an Interrupt (with an onRepeat that writes `marker` when given); sends `signal` twice, the second after the first aborted. */
function twice(signal: NodeJS.Signals, marker?: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  const script = `
    import { writeFileSync } from 'node:fs';
    import { listenForInterrupt } from ${JSON.stringify(INTERRUPT)};
    const marker = process.env.MARKER;
    const i = listenForInterrupt(marker ? { onRepeat: () => writeFileSync(marker, 'cleaned') } : {});
    i.signal.addEventListener('abort', () => process.stdout.write('aborted ' + i.received + ' ' + i.exitCode + '\\n'));
    setInterval(() => undefined, 1000);
    process.stdout.write('ready\\n');`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...(marker ? { MARKER: marker } : {}) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (d.includes('ready')) c.kill(signal);
      if (d.includes('aborted')) c.kill(signal);
    });
    c.on('error', reject);
    c.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, out });
    });
  });
}

describe('listenForInterrupt', () => {
  for (const [signal, exitCode] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} twice: the first aborts (exit code ${exitCode} kept for later), the second runs onRepeat and ends the process by ${signal}`, async () => {
      const marker = join(tmp.dir, `marker-${signal}`);
      const r = await twice(signal, marker);
      expect(r.out).toContain(`aborted ${signal} ${exitCode}`);
      expect(r.signal).toBe(signal);
      expect(existsSync(marker)).toBe(true);
    });
  }

  it('without onRepeat a second signal still ends the process by that signal', async () => {
    const r = await twice('SIGTERM');
    expect(r.out).toContain('aborted SIGTERM 143');
    expect(r.signal).toBe('SIGTERM');
  });
});
