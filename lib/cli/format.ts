// Small shared helpers of the CLI: option parsers and a two-column table.
import { InvalidArgumentError } from 'commander';
import type { Device } from '../model/types.js';

export function parseDevice(v: string): Device {
  if (v !== 'cpu' && v !== 'cuda' && v !== 'auto') throw new InvalidArgumentError('must be cpu, cuda or auto');
  return v;
}

export function parseThreads(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function printTable(rows: [string, string][], out: NodeJS.WritableStream = process.stdout): void {
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) out.write(`${k.padEnd(w)}  ${v}\n`);
}
