// defines: runPrivacyCli — `dpzo account` / `dpzo calibrate` run in-process through commander (no child process), their
// stdout captured: the privacy CLI tests compare its numbers with the library's.
import { Command } from 'commander';
import { vi } from 'vitest';

import { register as registerAccount } from '../../../lib/cli/commands/account.js';
import { register as registerCalibrate } from '../../../lib/cli/commands/calibrate.js';

/** What `dpzo <args>` (account or calibrate) writes to stdout; a refusal throws as commander's exitOverride makes it. */
export async function runPrivacyCli(args: string[]): Promise<string> {
  const program = new Command('dpzo').exitOverride();
  registerAccount(program);
  registerCalibrate(program);
  program.commands.forEach((c) => c.exitOverride());
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(['node', 'dpzo', ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  return out;
}
