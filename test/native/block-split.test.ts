// The CUDA update and virtual-point kernels (cuda/philox_perturb.cu, cuda/virtual_point.cu) run whole Philox
// blocks of four on a fast path and the partial blocks at a segment's edges on a slow one; the split is
// dpzo/block_split.h, shared with the host. `dpzo_check block-split` checks it against brute force (every
// element of every segment covered exactly once, in block g/4 at word g mod 4, tiles consecutive and in
// size) over offsets of every residue mod 4, sizes 0 .. 70, several tile sizes and g0 near 2^40 and 2^62,
// since the kernels themselves run only on a GPU.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';

const BIN = ['dpzo_check', 'dpzo_check_emu'].map((b) => join(ROOT, 'build', b)).find((b) => existsSync(b));

describe('the block split of the CUDA kernels', () => {
  it.skipIf(!BIN)('covers every element exactly once, at its block and word', () => {
    const r = spawnSync(BIN!, ['block-split'], { encoding: 'utf8', timeout: 60_000 });
    const out = JSON.parse(r.stdout) as { mode: string; cases: number; errors: number; ok: boolean };
    expect(out.mode).toBe('block-split');
    expect(out.cases).toBe(3 * 12 * 71 * 5);
    expect(out.errors).toBe(0);
    expect(out.ok).toBe(true);
    expect(r.status).toBe(0);
  });
});
