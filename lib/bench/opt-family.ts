// defines: OPT_FAMILY — the shapes of the OPT models (Zhang et al. 2022, Table 1; the Hugging Face
// facebook/opt-* configs) that `dpzo bench memory` extrapolates to, and their parameter counts.

/** One OPT model's shape. */
export interface OptShape {
  name: string;
  layers: number;
  hidden: number;
  /** FFN width (4·hidden for every OPT model). */
  ffn: number;
  vocab: number;
  maxPositions: number;
}

const shape = (name: string, layers: number, hidden: number): OptShape => ({ name, layers, hidden, ffn: 4 * hidden, vocab: 50272, maxPositions: 2048 });

/** OPT-125M … OPT-66B (OPT-350M's 512-wide embeddings with project_in/out counted at the full width: +7 % for that one). */
export const OPT_FAMILY: readonly OptShape[] = [
  shape('opt-125m', 12, 768),
  shape('opt-350m', 24, 1024),
  shape('opt-1.3b', 24, 2048),
  shape('opt-2.7b', 32, 2560),
  shape('opt-6.7b', 32, 4096),
  shape('opt-13b', 40, 5120),
  shape('opt-30b', 48, 7168),
  shape('opt-66b', 64, 9216),
];

/**
 * Parameters of an OPT model: per layer q, k, v, o (4·d² + 4·d) and the FFN (2·d·f + f + d), two
 * LayerNorms (4·d); token and learned position embeddings ((V + P + 2)·d, the +2 is OPT's position
 * offset), the final LayerNorm (2·d); the head is tied to the token embeddings.
 */
export function optParams(s: OptShape): number {
  const d = s.hidden;
  const layer = 4 * d * d + 4 * d + 2 * d * s.ffn + s.ffn + d + 4 * d;
  return s.layers * layer + (s.vocab + s.maxPositions + 2) * d + 2 * d;
}
