// Small shared helpers of the CLI: option parsers and a two-column table.
import { InvalidArgumentError } from 'commander';
import { MAX_THREADS } from '../model/model.js';
import type { Device } from '../model/types.js';

export function parseDevice(v: string): Device {
  if (v !== 'cpu' && v !== 'cuda' && v !== 'auto') throw new InvalidArgumentError('must be cpu, cuda or auto');
  return v;
}

export function parseThreads(v: string): number {
  // decimal digits only: Number() would also read '0x10', '1e3' and ' 4 '
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new InvalidArgumentError(`must be an integer in [1, ${MAX_THREADS}]`);
  return n;
}

export function printTable(rows: [string, string][], out: NodeJS.WritableStream = process.stdout): void {
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) out.write(`${k.padEnd(w)}  ${v}\n`);
}
