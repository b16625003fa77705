// defines: shapeConfigDir — a config-only model directory for a known shape name (the OPT family of
// opt-family.ts), so that `dpzo bench memory --random-init --model opt-66b` measures a shape that is not on
// disk: the model is then built from this config.json with seeded random weights (LoadOptions.randomInit).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { OPT_FAMILY, type OptShape } from './opt-family.js';

/** config.json of an OPT shape as the Hugging Face facebook/opt-* configs write it (OPT-350M: 512-wide embeddings, post-LN). */
export function optConfigJson(s: OptShape): string {
  const narrow = s.name === 'opt-350m';
  return (
    JSON.stringify({
      model_type: 'opt',
      architectures: ['OPTForCausalLM'],
      activation_function: 'relu',
      vocab_size: s.vocab,
      hidden_size: s.hidden,
      word_embed_proj_dim: narrow ? 512 : s.hidden,
      num_hidden_layers: s.layers,
      num_attention_heads: s.hidden / 64,
      ffn_dim: s.ffn,
      max_position_embeddings: s.maxPositions,
      do_layer_norm_before: !narrow,
      enable_bias: true,
      layer_norm_elementwise_affine: true,
      _remove_final_layer_norm: false,
      bos_token_id: 2,
      eos_token_id: 2,
      pad_token_id: 1,
      torch_dtype: 'float16',
    }) + '\n'
  );
}

/** The known shape names (`opt-125m` … `opt-66b`). */
export const SHAPE_NAMES: readonly string[] = OPT_FAMILY.map((s) => s.name);

/**
 * A fresh temporary directory holding only the config.json of the named shape, or undefined when the name is not a known shape.
 * The caller removes it when done.
 */
export function shapeConfigDir(name: string): string | undefined {
  const s = OPT_FAMILY.find((x) => x.name === name);
  if (!s) return undefined;
  const dir = mkdtempSync(join(tmpdir(), `dpzo-shape-${s.name}-`));
  writeFileSync(join(dir, 'config.json'), optConfigJson(s));
  return dir;
}
