// Runs the `dpzo` command as a user runs it: a child process of the compiled CLI,
// `node dist/cli/main.js ...` as bin/dpzo.js runs it (DPZO_ADDON passes through).
// test/helpers/build-dist.ts (vitest's globalSetup) compiles lib/ first when dist/
// is older than it; a tsx child cost ~0.5 s more at each of the suite's hundreds of runs.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The compiled CLI's entry: spawn `process.execPath` with it and the command's arguments. */
export const CLI_MAIN = join(ROOT, 'dist', 'cli', 'main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function dpzo(...args: string[]): Promise<CliResult> {
  return dpzoWithEnv({}, ...args);
}

/** {@link dpzo} with variables added to (or replacing) the test process's environment. */
export function dpzoWithEnv(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A refusal as the CLI promises it: exit 2, one line on stderr, matching `pattern`. */
export function expectOneLineFailure(r: CliResult, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}
