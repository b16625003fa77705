// defines: keepMetricsUpTo, resumeCommand — the CLI's side of `dpzo pretrain --resume`: the metrics file of the
// interrupted run cut back to its checkpoint, and the command a user runs to continue an interrupted run.
import { existsSync, readFileSync } from 'node:fs';

import { writeTextAtomic } from '../io/json-file.js';

/**
 * Rewrites pretrain-metrics.jsonl `path` (whole: a temporary file renamed over it) with its lines up to checkpoint step
 * `step`: the step lines of steps 0 … step−1 and the evaluations at steps ≤ step. The lines after it were the
 * interrupted run's, for steps the resumed run takes again (they would be there twice), and a line cut short by a kill
 * is dropped. Returns the kept evaluations as [step, loss] (the chart's held-out series).
 */
export function keepMetricsUpTo(path: string, step: number): [number, number][] {
  if (!existsSync(path)) return [];
  const kept: string[] = [];
  const evals: [number, number][] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    let r: { type?: unknown; step?: unknown; loss?: unknown };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      continue;
    }
    if (typeof r !== 'object' || r === null || typeof r.step !== 'number') continue;
    if (r.type === 'step' && r.step < step) kept.push(line);
    if (r.type === 'eval' && r.step <= step) {
      kept.push(line);
      evals.push([r.step, typeof r.loss === 'number' ? r.loss : NaN]);
    }
  }
  writeTextAtomic(path, kept.map((l) => l + '\n').join(''));
  return evals;
}

/** `arg` as a POSIX shell reads it back: unchanged when it is plain, else single-quoted. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command that continues the run of `args` (the CLI's arguments, from the command name on) saved in `out`. */
export function resumeCommand(args: readonly string[], out: string): string {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--resume') i++;
    else if (!args[i]!.startsWith('--resume=')) kept.push(args[i]!);
  }
  return ['dpzo', ...kept, '--resume', out].map(shellQuote).join(' ');
}
