// Where the addon loader looks: DPZO_ADDON, then a source build, then the
// prebuild for this platform and C library (lib/addon-path.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { addonCandidates, prebuildTag, resolveAddonPath } from '../../../lib/addon-path.js';
import { expectThrow } from '../../helpers/expect-error.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A package root holding the given files (relative paths), each a placeholder. */
function packageWith(...files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'dpzo-addon-'));
  dirs.push(root);
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return root;
}

const linuxGlibc = { env: {}, platform: 'linux', arch: 'x64', libc: () => 'glibc' as const };

describe('prebuildTag', () => {
  it('names the C library on Linux only', () => {
    expect(prebuildTag('linux', 'x64', 'glibc')).toBe('linux-x64-glibc');
    expect(prebuildTag('linux', 'arm64', 'musl')).toBe('linux-arm64-musl');
    expect(prebuildTag('darwin', 'arm64')).toBe('darwin-arm64');
    expect(prebuildTag('win32', 'x64', 'glibc')).toBe('win32-x64');
  });
});

describe('resolveAddonPath', () => {
  it('finds the prebuild when nothing was built from source', () => {
    const root = packageWith('prebuilds/linux-x64-glibc/dpzo.node', 'prebuilds/linux-x64-musl/dpzo.node');
    expect(resolveAddonPath({ ...linuxGlibc, root })).toBe(join(root, 'prebuilds/linux-x64-glibc/dpzo.node'));
    expect(resolveAddonPath({ ...linuxGlibc, root, libc: () => 'musl' })).toBe(join(root, 'prebuilds/linux-x64-musl/dpzo.node'));
  });

  it('prefers a source build (it may have CUDA or BLAS) and then does not ask for the libc', () => {
    const root = packageWith('build/Release/dpzo.node', 'prebuilds/linux-x64-glibc/dpzo.node');
    let asked = 0;
    const libc = () => (asked++, 'glibc' as const);
    expect(resolveAddonPath({ ...linuxGlibc, root, libc })).toBe(join(root, 'build/Release/dpzo.node'));
    expect(asked).toBe(0);
    const debug = packageWith('build/Debug/dpzo.node', 'prebuilds/linux-x64-glibc/dpzo.node');
    expect(resolveAddonPath({ ...linuxGlibc, root: debug })).toBe(join(debug, 'build/Debug/dpzo.node'));
  });

  it('takes DPZO_ADDON as given, without looking further', () => {
    const root = packageWith('build/Release/dpzo.node');
    const env = { DPZO_ADDON: '/elsewhere/custom.node' };
    expect(resolveAddonPath({ ...linuxGlibc, root, env })).toBe('/elsewhere/custom.node');
    expect(addonCandidates({ ...linuxGlibc, root, env })).toEqual(['/elsewhere/custom.node']);
  });

  it('does not take a prebuild for another platform, arch or C library', () => {
    const root = packageWith('prebuilds/linux-x64-glibc/dpzo.node');
    for (const o of [{ libc: () => 'musl' as const }, { arch: 'arm64' }, { platform: 'darwin' }]) {
      expectThrow(() => resolveAddonPath({ ...linuxGlibc, root, ...o }), 'ERR_ADDON', ['prebuilds']);
    }
  });

  it('names every place it looked when there is no addon', () => {
    const root = packageWith();
    let message = '';
    try {
      resolveAddonPath({ ...linuxGlibc, root });
    } catch (e) {
      message = (e as Error).message;
    }
    const places = addonCandidates({ ...linuxGlibc, root });
    expect(places).toHaveLength(3);
    for (const p of places) expect(message).toContain(p);
  });
});
