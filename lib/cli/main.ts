// The `dpzo` command line: a commander program whose subcommands live one per
// file in ./commands (each exports `register(program)`). Any error thrown by a
// command becomes one line on stderr and exit code 2.
import { Command, CommanderError } from 'commander';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isCoded } from '../errors.js';
import { packageVersion } from '../package-info.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * No commander output on stderr: its errors (outputError) and the help it prints to stderr when a command is
 * missing (writeErr; `dpzo`, `dpzo bench`), which ended in the line 'dpzo: (outputHelp) …'. --help writes to stdout.
 */
const QUIET_ERRORS = { outputError: () => {}, writeErr: () => {} };

export async function buildProgram(): Promise<Command> {
  const program = new Command('dpzo')
    .description('Differentially private zeroth-order fine-tuning (DP-ZO) of transformer language models')
    .version(packageVersion())
    .exitOverride()
    // commander's own error output is two lines without a code: main() prints the project's one line instead
    .configureOutput(QUIET_ERRORS);
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
  program.commands.forEach((c) => c.exitOverride().configureOutput(QUIET_ERRORS));
  return program;
}

export function formatError(e: unknown): string {
  if (isCoded(e)) return `dpzo: ${e.message} [${e.code}]`;
  if (e instanceof Error) return `dpzo: ${e.message}`;
  return `dpzo: ${String(e)}`;
}

/** commander's "error: unknown option '--x'" as `dpzo: unknown option '--x' (see dpzo train --help) [ERR_ARGUMENT]`. */
export function usageError(e: CommanderError, argv: string[]): string {
  // a command with subcommands given none: commander's message is its internal '(outputHelp)'
  const what = e.code === 'commander.help' ? 'a command is needed' : e.message.replace(/^error: /, '').split('\n')[0];
  const sub = argv.slice(2).find((a) => !a.startsWith('-'));
  const help = sub && e.code !== 'commander.unknownCommand' ? `dpzo ${sub} --help` : 'dpzo --help';
  return `dpzo: ${what} (see ${help}) [ERR_ARGUMENT]`;
}

/**
 * Node prints a process warning as two lines; the CLI prints each as one line, and dpzo's own notices (code
 * DPZO_*, e.g. device 'auto' falling back to the CPU) only to a terminal: a script reading stderr sees exactly
 * the one-line error contract, and `dpzo info` reports the backend chosen either way.
 */
function oneLineWarnings(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code?.startsWith('DPZO_') && !process.stderr.isTTY) return;
    process.stderr.write(`dpzo: ${w.name === 'Warning' ? 'notice' : w.name}: ${w.message.split('\n')[0]}\n`);
  });
}

/**
 * A reader that closes its end early (`dpzo report RUN | head -1`) fails the next write to stdout with EPIPE, which
 * Node raised as an unhandled 'error' event: a stack trace on stderr and exit 1. The reader has what it wanted: the
 * rest of the output is dropped and the command runs to its end (a training run is not cut between a release and
 * its update). Any other failure of stdout is one line and exit 2, as every error.
 */
function tolerateClosedStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
    process.stderr.write(`dpzo: cannot write the output (${e.code ?? e.message}) [ERR_IO]\n`);
    process.exitCode = 2;
  });
}

export async function main(argv: string[]): Promise<void> {
  oneLineWarnings();
  tolerateClosedStdout();
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help / version exit 0; a usage error is one line with a code, as every other error
      if (e.exitCode !== 0) process.stderr.write(usageError(e, argv) + '\n');
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
