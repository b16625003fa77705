// defines: randomBatch — the fixed pseudo-random token batch every speed and memory
// measurement runs on (bench/*.ts, `dpzo bench memory`), so their numbers are on the
// same input: a 32-bit LCG from a fixed state, token = state mod vocab.
import type { LossBatch } from '../model/types.js';

/** `batch` sequences of `seq` token ids in [0, vocab), the same every call. */
export function randomBatch(vocab: number, batch: number, seq: number): LossBatch & { inputIds: number[][] } {
  let x = 12345;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0), x % vocab);
  return { inputIds: Array.from({ length: batch }, () => Array.from({ length: seq }, next)) };
}
