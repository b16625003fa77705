// defines: printGpt2Run — the opening lines that the GPT-2-shaped backward and ghost benches print above
// their tables (bench/README.md quotes them as printed).
import { cpus } from 'node:os';

/** The model (GPT-2-124M shape with `layers` layers, F32), batch, threads and CPU, then the weights' size. */
export function printGpt2Run(run: { layers: number; params: number; batch: number; seq: number; threads: number; weightsMb: number }): void {
  console.log(
    `GPT-2-124M shape (${run.layers} layers, ${(run.params / 1e6).toFixed(1)}M parameters, F32), batch ${run.batch} x ${run.seq} tokens, ${run.threads} threads, ${cpus()[0]?.model ?? ''}`,
  );
  console.log(`weights: ${run.weightsMb.toFixed(0)} MiB`);
}
