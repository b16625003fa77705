// defines: opt, str and flag — the benches' command-line options (`--name value` and `--name`), read from
// this process's arguments. No validation: a bench is run by hand, and a bad number shows as NaN in its table.
const args = process.argv.slice(2);

/** The word after `--name`, or undefined when `--name` is absent. */
export function str(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The number after `--name`, or `dflt` when `--name` is absent. */
export function opt(name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

/** Whether the switch `--name` is given. */
export function flag(name: string): boolean {
  return args.includes(`--${name}`);
}
