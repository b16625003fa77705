// The CUDA attention kernel's choice (cuda/attention_plan.h) without a GPU, through dpzo_check_emu:
// DPZO_CUDA_ATTENTION parsed (warp by default, tiled on request) and any other value refused in one line
// with ERR_ARGUMENT, as the forward itself refuses it at its first attention.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';

const BIN = join(ROOT, 'build', 'dpzo_check_emu');

function attentionMode(value?: string): { json: Record<string, unknown>; status: number | null } {
  const env = { ...process.env };
  delete env.DPZO_CUDA_ATTENTION;
  if (value !== undefined) env.DPZO_CUDA_ATTENTION = value;
  const r = spawnSync(BIN, ['attention-mode'], { encoding: 'utf8', env, timeout: 60_000 });
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return { json: JSON.parse(lines[0]!) as Record<string, unknown>, status: r.status };
}

describe.skipIf(!existsSync(BIN))('the CUDA attention kernel choice (host side)', () => {
  it('is the warp kernel unless DPZO_CUDA_ATTENTION=tiled', () => {
    expect(attentionMode()).toEqual({ json: { attention: 'warp', maxHeadDim: 128 }, status: 0 });
    expect(attentionMode('').json.attention).toBe('warp');
    expect(attentionMode('warp').json.attention).toBe('warp');
    expect(attentionMode('tiled').json.attention).toBe('tiled');
  });

  it('refuses any other value in one line naming the variable', () => {
    for (const v of ['flash', 'Tiled', 'tiled ']) {
      const r = attentionMode(v);
      expect(r.status).toBe(1);
      expect(r.json).toEqual({ error: 'ERR_ARGUMENT', message: `DPZO_CUDA_ATTENTION: '${v}' is not one of warp, tiled` });
    }
  });
});
