// Runs a module script in a child Node process with the SIMD path forced by
// DPZO_ISA (read once per process by the core), and parses its JSON output.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function runWithIsa<T>(isa: string, script: string): T {
  return JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, DPZO_ISA: isa },
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    }),
  ) as T;
}
