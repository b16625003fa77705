// Packs a batch of sequences (Hugging Face conventions) into the native
// layout: concatenated tokens, offsets, aligned labels.
import { DpzoError } from '../errors.js';
import { unknownKey } from '../unknown-key.js';
import type { NativeBatch } from '../native.js';
import type { LossBatch } from './types.js';

function toInt32(seq: ArrayLike<number>, what: string): Int32Array {
  if (seq instanceof Int32Array) return seq;
  // (a number read as an empty sequence, null as a TypeError)
  if (typeof seq !== 'object' || seq === null || typeof seq.length !== 'number') throw new DpzoError('ERR_BATCH', `${what} must be an array of token ids`);
  const out = new Int32Array(seq.length);
  for (let i = 0; i < seq.length; i++) {
    const v = seq[i];
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      // never the value: a batch is private data
      throw new DpzoError('ERR_BATCH', `${what}[${i}] is not an integer`);
    }
    out[i] = v;
  }
  return out;
}

export function packSequences(inputIds: ArrayLike<number>[], what = 'inputIds'): NativeBatch {
  if (!Array.isArray(inputIds)) throw new DpzoError('ERR_BATCH', `${what} must be an array of sequences`);
  const seqs = inputIds.map((s, i) => toInt32(s, `${what}[${i}]`));
  // the core refuses an empty sequence, but as "empty batch: no sequences" when every one is empty ({ inputIds: [[]] }
  // holds one) and by its packed offsets otherwise: named here as the caller wrote it
  const empty = seqs.findIndex((s) => s.length === 0);
  if (empty >= 0) throw new DpzoError('ERR_BATCH', `${what}[${empty}] is empty: a sequence needs at least one token`);
  const total = seqs.reduce((n, s) => n + s.length, 0);
  const tokens = new Int32Array(total);
  const offsets = new Int32Array(seqs.length + 1);
  let at = 0;
  seqs.forEach((s, i) => {
    tokens.set(s, at);
    at += s.length;
    offsets[i + 1] = at;
  });
  return { tokens, offsets };
}

/** Throws unless every field of `batch` is one of `keys`: a misspelt one was ignored ({ label } scored every token). */
export function checkBatchKeys(batch: object, keys: readonly string[]): void {
  const unknown = unknownKey(batch, keys);
  if (unknown !== undefined) throw new DpzoError('ERR_BATCH', `${unknown} is not a field of a batch (${keys.join(', ')}; misspelt?)`);
}

/** Without labels every position from 1 on is a target (labels = input_ids, as transformers does). */
export function packLossBatch(batch: LossBatch): NativeBatch {
  if (typeof batch !== 'object' || batch === null) throw new DpzoError('ERR_BATCH', 'a batch must be an object { inputIds, labels?, candidates? }');
  checkBatchKeys(batch, ['inputIds', 'labels', 'candidates']);
  const packed = packSequences(batch.inputIds);
  if (batch.labels !== undefined) {
    if (!Array.isArray(batch.labels) || batch.labels.length !== batch.inputIds.length) {
      throw new DpzoError('ERR_BATCH', 'labels must be an array with one sequence per sequence of inputIds');
    }
    const labels = new Int32Array(packed.tokens.length);
    batch.labels.forEach((l, i) => {
      const n = packed.offsets[i + 1] - packed.offsets[i];
      if (l?.length !== n) {
        throw new DpzoError('ERR_BATCH', `labels[${i}] and inputIds[${i}] differ in length`);
      }
      labels.set(toInt32(l, `labels[${i}]`), packed.offsets[i]);
    });
    packed.labels = labels;
  } else {
    packed.labels = packed.tokens.slice();
  }
  if (batch.candidates !== undefined) {
    const candidates = toInt32(batch.candidates, 'candidates');
    // a copy, as inputIds and labels are: the call runs later (queued), and an Int32Array the caller changed after the
    // call was read then, giving the loss over other candidates
    packed.candidates = candidates === batch.candidates ? candidates.slice() : candidates;
    // the core reads an empty set as none: the loss over the whole vocabulary
    if (packed.candidates.length === 0) throw new DpzoError('ERR_BATCH', 'candidates must hold at least one token id (leave it out for the whole vocabulary)');
  }
  return packed;
}
