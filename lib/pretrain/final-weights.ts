// defines: loadFinalWeights — `pretrain({ resume })` of a finished run leaves the model holding the run's final weights,
// as `train({ resume })` of a finished DP-ZO / DP-SGD run does (and Hugging Face's Trainer): the model kept its starting
// weights, and a user who saved or evaluated it after the call got the base model while the report said it was trained.
// The source is the final model.safetensors in the run's --out: `dpzo pretrain` trains and saves in float32, so its
// weights are θ exactly (a checkpoint.bin holds the final step only when the final evaluation was cancelled), and
// checked whole against the weightsHash the run recorded.
import { join } from 'node:path';

import { DpzoError, isCoded } from '../errors.js';
import { loadModel } from '../model/model.js';
import type { Model } from '../model/types.js';
import { PRETRAIN_RESULT_FILE } from './result.js';

/**
 * Sets `model`'s trainable weights (the run's starting model, checked by the caller) to those of the final model saved
 * in `out`, once that model's weights hash to `weightsHash` (the completion record's); after the copy the model's own
 * hash must be that one too. A refusal leaves `model`'s weights as they were.
 * @throws {@link DpzoError} `ERR_RUN_CORRUPT` naming the file when the final model does not load, is not float32, or
 * does not give the recorded hash.
 */
export async function loadFinalWeights(model: Model, out: string, weightsHash: unknown): Promise<void> {
  const record = join(out, PRETRAIN_RESULT_FILE);
  if (typeof weightsHash !== 'string' || !/^[0-9a-f]{64}$/.test(weightsHash))
    throw new DpzoError('ERR_RUN_CORRUPT', `${record}: result.weightsHash is not a SHA-256 (64 hex digits)`);
  if (!model.getTrainable || !model.setTrainable)
    throw new DpzoError('ERR_ARGUMENT', 'resuming pretrain needs a model with getTrainable and setTrainable (a native CPU model)');
  const file = join(out, 'model.safetensors');
  const corrupt = (why: string) => new DpzoError('ERR_RUN_CORRUPT', `${file}: ${why}: not the final model the run recorded in ${PRETRAIN_RESULT_FILE}`);
  let final: Model;
  try {
    // no compute: one thread; the dtype as stored (a float16/bfloat16 file is refused below, not widened)
    final = await loadModel(out, { threads: 1 });
  } catch (e) {
    if (!isCoded(e)) throw e;
    throw corrupt(`does not load (${e.code}: ${e.message})`);
  }
  let theta: Float32Array;
  try {
    // rounded to 16 bits, the weights are not the run's θ (pretrain trains and saves in float32)
    if (final.dtype !== 'float32') throw corrupt(`holds ${final.dtype} weights, not the float32 the run trained`);
    const hash = await final.weightsHash();
    if (hash !== weightsHash) throw corrupt(`its weights hash ${hash.slice(0, 12)}…, not ${weightsHash.slice(0, 12)}…`);
    // θ is the trainable tensors in canonical order, one after another (trainableNames' order)
    theta = new Float32Array(model.numTrainable);
    let at = 0;
    for (const name of model.trainableNames()) {
      let t: Float32Array;
      try {
        t = final.getParameter(name);
      } catch (e) {
        if (isCoded(e) && e.code === 'ERR_TENSOR_UNKNOWN') throw corrupt(`has no tensor '${name}'`);
        throw e;
      }
      if (at + t.length > theta.length || t.length !== model.parameterShape(name).reduce((a, b) => a * b, 1))
        throw corrupt(`its tensor '${name}' has another shape than the model's`);
      theta.set(t, at);
      at += t.length;
    }
    if (at !== theta.length) throw corrupt(`its trainable tensors hold ${at} values, the model ${theta.length}`);
  } finally {
    final.dispose();
  }
  const before = await model.getTrainable();
  await model.setTrainable(theta);
  const hash = await model.weightsHash();
  if (hash !== weightsHash) {
    // the tensors the model does not train differ from the final model's (not the run's starting model after all)
    await model.setTrainable(before);
    throw corrupt(`copied onto the model, its trainable weights give hash ${hash.slice(0, 12)}…, not ${weightsHash.slice(0, 12)}…`);
  }
}
