// `dpzo bench memory`: peak memory and step time of inference, DP-ZO (1 and 4
// directions) and DP-SGD on one model and batch, each measured in its own process; a table,
// a JSON file and an SVG bar chart, and the extrapolation to the OPT family.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirectories } from '../../io/mkdirs.js';
import { type Command, InvalidArgumentError } from 'commander';

import { type MemoryReport, GPU_CARDS, benchMemory, formatBytes } from '../../bench/memory.js';
import { MEMORY_METHODS } from '../../bench/memory-types.js';
import { SHAPE_NAMES, shapeConfigDir } from '../../bench/shape-config.js';
import { DpzoError, isCoded } from '../../errors.js';
import { resolveModelDir } from '../../model/hf-cache.js';
import type { Device, WeightDType } from '../../model/types.js';
import { stackedBars } from '../../plot/svg-bars.js';
import { parseDevice, parseThreads, printTable } from '../format.js';
import { listenForInterrupt } from '../interrupt.js';
import { parsePositiveInteger } from '../numbers.js';

function parseSeedFlag(v: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`must be a non-negative integer seed (got '${v.slice(0, 40)}')`);
  return n;
}

function chart(r: MemoryReport): string {
  return stackedBars({
    title: `Peak memory per step: ${r.batch} × ${r.seq} tokens (measured)`,
    format: formatBytes,
    bars: r.rows.map((row) => ({
      label: row.method,
      segments: [
        { name: 'weights', value: row.components.weights, color: '#1f77b4' },
        { name: 'activations', value: row.components.activations, color: '#ff7f0e' },
        { name: 'gradients', value: row.components.gradients, color: '#2ca02c' },
        { name: 'optimizer state', value: row.components.optimizerState, color: '#9467bd' },
        { name: 'per-example', value: row.components.perExample, color: '#d62728' },
      ],
      note: `${formatBytes(row.peakBytes)}, ${row.stepSeconds.toFixed(3)} s/step`,
    })),
  });
}

export function register(program: Command): void {
  const bench = program.command('bench').description('measurements on your own model and batch');
  bench
    .command('memory')
    .description(
      'peak memory and step time of inference, DP-ZO (1 and 4 directions) and DP-SGD (per-example and ghost clipping, Adam), each in its own process on float32 weights; extrapolated to OPT 125M-66B in BF16',
    )
    .requiredOption('--model <dir>', 'Hugging Face model directory (or a cached org/name)')
    // counts of sequences and tokens, not of threads (parseThreads capped them at 1024: --seq 2048 was refused)
    .option('--batch <b>', 'sequences per step', parsePositiveInteger, 8)
    .option('--seq <t>', 'tokens per sequence', parsePositiveInteger, 64)
    .option('--max-batch-tokens <n>', 'most tokens per native call, as dpzo train (DP-ZO: half, two points per call)', parsePositiveInteger, 16384)
    .option('--micro-batch <m>', 'DP-SGD per-example: gradients held at once (default: the whole batch, as Opacus)', parsePositiveInteger)
    .option('--device <device>', 'cpu | cuda | cuda:N | auto', parseDevice, 'cpu')
    .option('--threads <n>', 'native worker threads', parseThreads)
    .option('--out <dir>', 'where memory.json and memory.svg are written', 'dpzo-bench-memory')
    .option('--json', 'print the report as one JSON object')
    .option(
      '--random-init [seed]',
      `build the model from config.json alone with seeded random weights (no weights file read); --model may then also be a shape name: ${SHAPE_NAMES.join(', ')}`,
      parseSeedFlag,
    )
    .action(
      async (o: {
        model: string;
        batch: number;
        seq: number;
        maxBatchTokens: number;
        microBatch?: number;
        device: Device;
        threads?: number;
        out: string;
        json?: boolean;
        dtype?: WeightDType;
        randomInit?: number | true;
      }) => {
        if (!(o.batch > 0) || !(o.seq > 1)) throw new DpzoError('ERR_ARGUMENT', '--batch must be ≥ 1 and --seq ≥ 2');
        const seed = o.randomInit === undefined ? undefined : o.randomInit === true ? 0 : o.randomInit;
        const shapeDir = seed !== undefined && !existsSync(o.model) ? shapeConfigDir(o.model) : undefined;
        if (!shapeDir && !existsSync(o.model)) {
          // not a directory nor a cached model: say what a shape name needs, or which shape names there are
          try {
            resolveModelDir(o.model);
          } catch (e) {
            if (!(e instanceof DpzoError)) throw e;
            const hint =
              seed === undefined
                ? SHAPE_NAMES.includes(o.model)
                  ? ` (${o.model} is a shape name: measure it with --random-init)`
                  : ''
                : ` (nor a shape name: ${SHAPE_NAMES.join(', ')})`;
            throw new DpzoError(e.code, e.message + hint);
          }
        }
        let report: MemoryReport;
        // Ctrl-C / SIGTERM: the measuring process is stopped and the shape directory removed (the default handler
        // left both), nothing is written, and the exit status is the signal's (130 / 143)
        const interrupt = listenForInterrupt();
        try {
          report = await benchMemory({
            model: shapeDir ?? o.model,
            name: o.model,
            batch: o.batch,
            seq: o.seq,
            maxBatchTokens: o.maxBatchTokens,
            ...(o.microBatch === undefined ? {} : { microBatch: o.microBatch }),
            device: o.device,
            threads: o.threads,
            ...(seed === undefined ? {} : { randomInit: seed }),
            onMethod: o.json ? undefined : (m) => process.stderr.write(`measuring ${m} …\n`),
            signal: interrupt.signal,
          });
        } catch (e) {
          if (!interrupt.received) throw e;
          process.stderr.write(`dpzo: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}${isCoded(e) ? ` [${e.code}]` : ''}\n`);
          process.exitCode = interrupt.exitCode;
          return;
        } finally {
          interrupt.end();
          if (shapeDir) rmSync(shapeDir, { recursive: true, force: true });
        }
        if (shapeDir) report = { ...report, model: o.model };
        makeDirectories(o.out);
        writeFileSync(join(o.out, 'memory.json'), JSON.stringify(report, null, 2) + '\n');
        writeFileSync(join(o.out, 'memory.svg'), chart(report));
        if (o.json) {
          process.stdout.write(JSON.stringify(report) + '\n');
          return;
        }
        const base = report.rows.find((r) => r.method === 'inference')!.peakBytes;
        // where the bytes are: --device auto on a machine without a GPU ran on the CPU, in host memory
        process.stdout.write(
          `device ${report.device}${report.deviceRequested === report.device ? '' : ` (--device ${report.deviceRequested})`}: weights and peaks in ${report.memory} memory\n\n`,
        );
        printTable([
          ['method', 'peak (backend + step buffers) | peak RSS | × inference | s/step'],
          ...report.rows.map((r): [string, string] => [
            r.method,
            `${formatBytes(r.peakBytes)} | ${formatBytes(r.rssPeakBytes)} | ${(r.peakBytes / base).toFixed(3)} | ${r.stepSeconds.toFixed(3)}`,
          ]),
        ]);
        const measured = MEMORY_METHODS.filter((m) => report.rows.some((r) => r.method === m));
        process.stdout.write(
          `\nextrapolated to OPT in BF16 at this batch (fits on a ${GPU_CARDS.map((c) => `${c.name} (${formatBytes(c.bytes)})`).join(' / ')} card):\n`,
        );
        printTable(
          report.extrapolation.map((e): [string, string] => [
            e.model,
            measured.map((m) => `${m} ${formatBytes(e.peakBytes[m]!)} ${GPU_CARDS.map((c) => (e.fits[c.name]![m] ? '✓' : '✗')).join('')}`).join('  '),
          ]),
        );
        for (const n of report.notMeasured) process.stdout.write(`\nnot measured: ${n}\n`);
        process.stdout.write(`\n${join(o.out, 'memory.json')}\n${join(o.out, 'memory.svg')}\n`);
      },
    );
}
