// The `dpzo` command line: a commander program whose subcommands live one per
// file in ./commands (each exports `register(program)`). Any error thrown by a
// command becomes one line on stderr and exit code 2.
import { Command, CommanderError } from 'commander';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isCoded } from '../errors.js';

const here = dirname(fileURLToPath(import.meta.url));

export async function buildProgram(): Promise<Command> {
  const program = new Command('dpzo')
    .description('Differentially private zeroth-order fine-tuning (DP-ZO) of transformer language models')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const ext = fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js';
  const files = readdirSync(join(here, 'commands'))
    .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'))
    .sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, 'commands', f)).href)) as {
      register?: (p: Command) => void;
    };
    if (typeof mod.register === 'function') mod.register(program);
  }
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

export function formatError(e: unknown): string {
  if (isCoded(e)) return `dpzo: ${e.message} [${e.code}]`;
  if (e instanceof Error) return `dpzo: ${e.message}`;
  return `dpzo: ${String(e)}`;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help / version exit 0; usage errors were already printed by commander
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(formatError(e).split('\n')[0] + '\n');
    process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv);
}
