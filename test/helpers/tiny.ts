// A tiny random Llama checkpoint and a learnable tokens dataset for trainer
// tests on the real native model.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { writeRandomCheckpoint } from './checkpoints.js';

export function writeTinyModel(dir: string, seed = 7): string {
  writeRandomCheckpoint(dir, { family: 'llama', seed, vocabSize: 32, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 64 });
  return dir;
}

/** Sequences that cycle through a few tokens: a random model predicts them badly, a trained one well. */
export function writeCyclesJsonl(path: string, n: number, seed: number): string {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const start = Math.floor(rnd() * 4);
    const ids = Array.from({ length: 12 }, (_, j) => 1 + ((start + j) % 4));
    lines.push(JSON.stringify({ input_ids: ids }));
  }
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

export const tinyPaths = (dir: string) => ({
  model: join(dir, 'model'),
  train: join(dir, 'train.jsonl'),
  eval: join(dir, 'eval.jsonl'),
  run: join(dir, 'run'),
});
