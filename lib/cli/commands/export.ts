// `dpzo export`: replay a run's trajectory onto its base model and write a
// Hugging Face directory (bit-identical to the weights the run trained).
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { exportRun, runBaseDir } from '../../dpzo/replay.js';
import type { RunRecord } from '../../dpzo/trainer.js';
import { readRunJson, replayTrainable } from '../../dpzo/run-record.js';
import { isCoded } from '../../errors.js';
import { checkCreatable } from '../../io/staged-directory.js';
import { loadModel } from '../../model/model.js';
import type { Device, WeightDType } from '../../model/types.js';
import { parseDevice, parseThreads, printTable } from '../format.js';
import { listenForInterrupt } from '../interrupt.js';

/** Whether the nearest existing ancestor of `dir` is a directory. */
function underDirectory(dir: string): boolean {
  let p = dirname(resolve(dir));
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return existsSync(p) && statSync(p).isDirectory();
}

export function register(program: Command): void {
  program
    .command('export')
    .description('replay a run directory onto its base model and save the fine-tuned model (Hugging Face layout)')
    .requiredOption('--run <dir>', 'run directory (run.json, trajectory.jsonl)')
    .requiredOption('--out <dir>', 'output model directory')
    .option('--model <dir>', 'base model directory (default: the path in run.json)')
    .option('--threads <n>', 'native worker threads', parseThreads)
    .option(
      '--device <device>',
      'where the replay runs: cpu | cuda | cuda:N | auto (the same weights on either: the update is the same bits)',
      parseDevice,
      'cpu',
    )
    .option('--json', 'print one JSON object')
    .action(async (opts: { run: string; out: string; model?: string; threads?: number; device: Device; json?: boolean }) => {
      const run = readRunJson<RunRecord>(opts.run);
      // before the model is loaded and replayed: an --out that cannot be made (/proc/x, a read-only parent) failed after the
      // whole replay, naming the staging directory beside it
      // (an empty --out, or one under a file, is refused by exportRun before the replay, with its own message)
      if (opts.out.trim() !== '' && underDirectory(opts.out)) checkCreatable(opts.out, `--out ${opts.out}`);
      const model = await loadModel(runBaseDir(run, opts.run, opts.model), {
        threads: opts.threads,
        device: opts.device,
        trainable: replayTrainable(run),
        dtype: run.model.dtype as WeightDType,
      });
      // Ctrl-C / SIGTERM: the replay stops between steps and a save under way is not renamed into place; the staging
      // directory is removed, so --out is left as it was (the default handler killed the process and left the staging
      // directory beside --out), then exit 128 + signal (130 / 143)
      const interrupt = listenForInterrupt();
      try {
        const r = await exportRun(model, opts.run, opts.out, interrupt.signal);
        if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
        else
          printTable([
            ['model', r.outDir],
            ['steps replayed', String(r.steps)],
            ['weights hash', r.weightsHash],
          ]);
      } catch (e) {
        if (!interrupt.received) throw e;
        // cancelled by the signal: the one error line, and the signal's exit status rather than 2
        process.stderr.write(`dpzo: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}${isCoded(e) ? ` [${e.code}]` : ''}\n`);
      } finally {
        interrupt.end();
        model.dispose();
        if (interrupt.exitCode) process.exitCode = interrupt.exitCode;
      }
    });
}
