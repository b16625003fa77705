// `dpzo loss`: per-example loss of a JSONL file of token sequences
// ({"input_ids": [...], "labels"?: [...]}), in input order.
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { z } from 'zod';
import { readRecords } from '../../data/read.js';
import { DpzoError } from '../../errors.js';
import { loadModel } from '../../model/model.js';
import type { Device } from '../../model/types.js';
import { parseDevice, parseThreads } from '../format.js';
import { parsePositiveInteger } from '../numbers.js';

const TokenLine = z
  .object({
    input_ids: z.array(z.number().int()).min(1),
    labels: z.array(z.number().int()).optional(),
  })
  .refine((o) => o.labels === undefined || o.labels.length === o.input_ids.length, {
    message: 'labels must have the same length as input_ids',
    path: ['labels'],
  });

/** One line of the file, with its 1-based line number for error messages. */
export type TokenExample = z.infer<typeof TokenLine> & { line: number };

/** Reads a JSONL file of token sequences; errors name the file, line and field. */
export async function readTokenJsonl(file: string): Promise<TokenExample[]> {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) throw new DpzoError('ERR_IO', `${file}: no such file`);
  // a directory would fail later with an EISDIR that does not name the path
  if (st.isDirectory()) throw new DpzoError('ERR_IO', `${file}: is a directory, not a JSONL file`);
  // the shared reader bounds each line (MAX_RECORD_CHARS); readline buffered a 1 GB line until V8's string limit
  // and died with a RangeError stack trace (found by the fuzz pass, issue 10.14)
  const { rows, lines } = readRecords(file, 'jsonl');
  const out: TokenExample[] = [];
  rows.forEach((row, k) => {
    const r = TokenLine.safeParse(row);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new DpzoError('ERR_DATA', `${file}:${lines[k]}: field '${issue.path.join('.') || '(line)'}': ${issue.message}`);
    }
    out.push({ ...r.data, line: lines[k]! });
  });
  if (out.length === 0) throw new DpzoError('ERR_DATA', `${file}: no examples`);
  return out;
}

/** Checks ids against the model (vocabulary, positions) so errors name file:line, not a batch index; never an id, label or length of the data. */
export function checkTokenRange(file: string, examples: TokenExample[], vocabSize: number, maxPositions: number): void {
  const bad = (v: number) => v < 0 || v >= vocabSize;
  for (const e of examples) {
    if (e.input_ids.length > maxPositions) {
      throw new DpzoError('ERR_DATA', `${file}:${e.line}: field 'input_ids': more tokens than the model's max positions ${maxPositions}`);
    }
    const i = e.input_ids.findIndex(bad);
    if (i >= 0) {
      throw new DpzoError('ERR_DATA', `${file}:${e.line}: field 'input_ids.${i}': the token id is outside the vocabulary [0, ${vocabSize})`);
    }
    // labels[0] is never a target (position t is predicted from t-1), but the native batch check refuses it out of range
    // too (without the file and line): checked here with the rest
    const j = e.labels?.findIndex((v) => v !== -100 && bad(v)) ?? -1;
    if (j >= 0) {
      throw new DpzoError('ERR_DATA', `${file}:${e.line}: field 'labels.${j}': the label is outside the vocabulary [0, ${vocabSize}) and is not -100`);
    }
  }
}

export function register(program: Command): void {
  program
    .command('loss')
    .description(
      'per-example loss (mean NLL over targets) of token sequences in a JSONL file, one a line in input order; ' +
        'a sequence with no targets prints NaN, an infinite loss Infinity (both null with --json, where targets tells them apart)',
    )
    .requiredOption('--model <dir>', 'Hugging Face model directory')
    .requiredOption('--data <file>', 'JSONL, one {"input_ids": [...], "labels"?: [...]} a line (-100 = not a target)')
    // a count of sequences, not of threads: parseThreads capped it at MAX_THREADS (1024)
    .option('--batch-size <n>', 'sequences per forward pass', parsePositiveInteger, 32)
    .option('--device <device>', 'cpu | cuda | cuda:N | auto', parseDevice, 'auto')
    .option('--threads <n>', 'native worker threads', parseThreads)
    .option('--json', 'print {"loss": [...], "targets": [...]} instead of one loss a line')
    .action(async (opts: { model: string; data: string; batchSize: number; device: Device; threads?: number; json?: boolean }) => {
      const examples = await readTokenJsonl(opts.data);
      const model = await loadModel(opts.model, { device: opts.device, threads: opts.threads });
      try {
        checkTokenRange(opts.data, examples, model.config.vocabSize, model.config.maxPositions);
        // as computed: NaN (no targets) and Infinity apart; JSON has neither, so --json writes null for both
        const loss: number[] = [];
        const targets: number[] = [];
        for (let i = 0; i < examples.length; i += opts.batchSize) {
          const chunk = examples.slice(i, i + opts.batchSize);
          const hasLabels = chunk.some((e) => e.labels);
          const r = await model.perExampleLoss({
            inputIds: chunk.map((e) => e.input_ids),
            labels: hasLabels ? chunk.map((e) => e.labels ?? e.input_ids) : undefined,
          });
          r.loss.forEach((v) => loss.push(v));
          r.targets.forEach((v) => targets.push(v));
        }
        if (opts.json) {
          process.stdout.write(JSON.stringify({ loss: loss.map((v) => (Number.isFinite(v) ? v : null)), targets }) + '\n');
        } else {
          // an infinite loss printed NaN, what a sequence with no targets prints
          process.stdout.write(loss.map(String).join('\n') + '\n');
        }
      } finally {
        model.dispose();
      }
    });
}
