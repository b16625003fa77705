// defines: the memory `dpzo bench memory` checks before it starts a measuring process — a lower bound of
// each method's host bytes from config.json alone (the weights, and DP-SGD's P-sized float32 buffers), and the
// host memory this process may still use — so that a shape that cannot fit is refused in one line up front
// instead of being killed by the kernel's out-of-memory killer halfway (or killing other work on the host).
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';

import type { MemoryMethod } from './memory-types.js';

/** A non-negative finite number field of a config, or undefined. */
function num(c: Record<string, unknown>, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = c[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  }
  return undefined;
}

/**
 * A lower bound of the parameter count of a GPT-2, OPT or Llama config.json: per layer the query and output
 * projections (2·d²) and two FFN matrices (2·d·f), plus the token embeddings (V·d); keys, values, a third FFN
 * matrix, biases, norms and position embeddings are left out, so the bound holds whatever the family
 * (0 when the config lacks a size: the loader then says what is wrong).
 */
export function paramsLowerBound(config: Record<string, unknown>): number {
  const d = num(config, 'hidden_size', 'n_embd', 'd_model');
  const layers = num(config, 'num_hidden_layers', 'n_layer');
  const vocab = num(config, 'vocab_size') ?? 0;
  if (d === undefined || layers === undefined) return 0;
  const f = num(config, 'intermediate_size', 'ffn_dim', 'n_inner') ?? 4 * d;
  return layers * (2 * d * d + 2 * d * f) + vocab * d;
}

/** Bytes a token of the batch takes in JavaScript at least: the id in a number array (8) and its Int32Array and packed copies (4 + 4). */
export const TOKEN_BYTES = 16;

/**
 * Host bytes each method needs at least: the weights (on the CPU; float32, as every method loads them), the token
 * batch in JavaScript (`tokens` × TOKEN_BYTES), and for DP-SGD its float32 P-sized buffers held in JavaScript (ĝ,
 * Adam's step and two moments, and the `heldAtOnce` per-example gradients or, with ghost clipping, the one
 * gradient) — activations and Node.js itself come on top.
 */
export function methodNeeds(params: number, o: { heldAtOnce: number; tokens: number; onHost: boolean }): Record<MemoryMethod, number> {
  const base = (o.onHost ? params * 4 : 0) + o.tokens * TOKEN_BYTES;
  const p4 = params * 4;
  return {
    inference: base,
    dpzo: base,
    'dpzo-n4': base,
    'dpsgd-per-example': base + (o.heldAtOnce + 4) * p4,
    'dpsgd-ghost': base + 5 * p4,
  };
}

/** The sequence length a model runs at: `seq` capped at the config's context (max_position_embeddings, n_positions). */
export function seqCapped(config: Record<string, unknown>, seq: number): number {
  return Math.min(seq, num(config, 'max_position_embeddings', 'n_positions') ?? seq);
}

function readNumber(path: string): number | undefined {
  try {
    const t = readFileSync(path, 'utf8').trim();
    return /^\d+$/.test(t) ? Number(t) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Bytes of host memory a new process may still use: the kernel's MemAvailable, less if this process's memory
 * cgroup (v2 memory.max, or v1 memory.limit_in_bytes) leaves less; os.freemem() where /proc is not there.
 */
export function availableHostBytes(): number {
  let avail: number | undefined;
  try {
    const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) avail = Number(m[1]) * 1024;
  } catch {
    avail = undefined;
  }
  avail ??= freemem();
  for (const [limit, usage] of [
    ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes'],
  ] as const) {
    const l = readNumber(limit);
    const u = readNumber(usage);
    // v1 writes "no limit" as a number near 2^63
    if (l !== undefined && u !== undefined && l < 2 ** 60) avail = Math.min(avail, Math.max(0, l - u));
  }
  return avail;
}
