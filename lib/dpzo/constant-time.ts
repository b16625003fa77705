// defines: cutBatch and padSlots — the shape of a constant-time step (docs/privacy.md, "Constant-time
// steps"): the sampled batch is cut to a public number of slots (uniformly, from the CSPRNG) and padded
// with dummy slots, every slot padded to a public length, so the forwards of a step do the same work
// whatever the private batch holds.
import { randomInt } from 'node:crypto';

import type { Example } from '../data/tasks.js';

/** `batch` itself when it fits in `slots`, else a uniformly random subset of `slots` of its indices, in order. */
export function cutBatch(batch: number[], slots: number): number[] {
  if (batch.length <= slots) return batch;
  const a = batch.slice();
  // partial Fisher–Yates: the first `slots` entries become a uniform sample without replacement
  for (let i = 0; i < slots; i++) {
    const j = i + randomInt(a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, slots).sort((x, y) => x - y);
}

/** Token id of the padding: any id in the vocabulary does, it is never a target. */
const PAD = 0;

/**
 * `examples` (at most `slots`, none longer than `length`) padded to `length` tokens each, then dummy slots
 * up to `slots`. Padding positions and dummies carry no target (label −100); a slot's loss is its example's.
 */
export function padSlots(examples: Example[], slots: number, length: number): Example[] {
  if (examples.length > slots) throw new RangeError(`padSlots: more examples than the ${slots} slots`); // the batch size is private
  const out: Example[] = examples.map((e) => {
    if (e.inputIds.length > length) throw new RangeError(`padSlots: an example exceeds the slot length ${length}`); // its length is private
    const ids = new Int32Array(length).fill(PAD);
    ids.set(e.inputIds);
    const labels = new Int32Array(length).fill(-100);
    if (e.labels) labels.set(e.labels);
    else {
      labels.set(e.inputIds);
      labels[0] = -100;
    }
    return { ...e, inputIds: ids, labels };
  });
  while (out.length < slots) out.push({ inputIds: new Int32Array(length).fill(PAD), labels: new Int32Array(length).fill(-100) });
  return out;
}
