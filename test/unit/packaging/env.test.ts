// `dpzo env`: every row from the running system, checked against values this
// test finds on its own (no machine values written down here).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { resolveAddonPath } from '../../../lib/addon-path.js';
import { nativeAddon } from '../../../lib/native.js';
import { dpzo, ROOT } from '../../helpers/cli.js';

const saved = process.env.DPZO_ADDON;
afterEach(() => {
  if (saved === undefined) delete process.env.DPZO_ADDON;
  else process.env.DPZO_ADDON = saved;
});

function onPath(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('dpzo env', () => {
  it('--json: versions, the addon this process loads, its backends and SIMD path', async () => {
    const r = await dpzo('env', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const env = JSON.parse(r.stdout);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const addon = nativeAddon();
    expect(env).toMatchObject({
      dpzo: pkg.version,
      node: process.version,
      napi: process.versions.napi,
      platform: `${process.platform}-${process.arch}`,
      cores: cpus().length,
      addon: resolveAddonPath(),
      backends: addon.backends,
      isa: addon.directionIsa(),
    });
    expect(env.backends.split(',')).toContain('cpu');
    expect(Array.isArray(env.gpus)).toBe(true);
    expect(env.nvcc === 'not found').toBe(!onPath('nvcc'));
    expect(env.cmake === 'not found').toBe(!onPath('cmake'));
  });

  it('still reports everything else, exit 0, when the addon does not load', async () => {
    process.env.DPZO_ADDON = join(ROOT, 'no-such-dir', 'dpzo.node');
    const r = await dpzo('env', '--json');
    expect(r.status, r.stderr).toBe(0);
    const env = JSON.parse(r.stdout);
    expect(env.addon).toMatch(/^not loaded: /);
    expect(env.addon).not.toContain('\n');
    expect(env.backends).toBe('');
    expect(env.node).toBe(process.version);
  });

  it('prints a table with one row per probe', async () => {
    const r = await dpzo('env');
    expect(r.status, r.stderr).toBe(0);
    const labels = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/)[0]);
    expect(labels).toEqual(['dpzo', 'node', 'os', 'cpu', 'addon', 'backends', 'SIMD path', 'BLAS', 'GPUs seen', 'nvidia-smi', 'nvcc', 'cmake']);
    expect(r.stdout).toContain(process.version);
  });
});
