// What the install script decides, kept apart from running it so that tests can
// check it: where cmake-js and node-gyp are (resolved as Node resolves modules,
// because npm hoists them to the consumer's node_modules when dpzo is a
// dependency), and whether to build from source or keep a prebuilt addon.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The file of `binName` from package `name`, resolved from `fromDir` the way
 * `require` would (its node_modules, then every parent's); undefined when the
 * package is not installed anywhere on that path.
 */
export function resolvePackageBin(name, binName, fromDir) {
  let manifest;
  try {
    manifest = createRequire(join(fromDir, 'package.json')).resolve(`${name}/package.json`);
  } catch {
    return undefined;
  }
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  const rel = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.[binName];
  return rel ? join(dirname(manifest), rel) : undefined;
}

/** True when `cmd --version` runs (CMake, nvcc). */
export function haveCommand(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The build plan. `env.DPZO_BUILD` picks the builder: unset = automatic
 * (a working prebuild is kept unless nvcc could add CUDA; else cmake-js, then
 * node-gyp), `source` = never the prebuild, `cmake` = cmake-js only (no
 * fallback, for CI), `gyp` = node-gyp only (CPU). `force` (build:native)
 * means source.
 *
 * Returns { steps: ('cmake'|'gyp')[], keepPrebuild, fallbackToPrebuild, error? }:
 * `fallbackToPrebuild` keeps a working prebuild when an automatic source
 * build (tried for CUDA) fails.
 */
export function planBuild({ env, force, prebuildLoads, haveCmake, haveNvcc }) {
  const mode = env.DPZO_BUILD || 'auto';
  if (!['auto', 'source', 'cmake', 'gyp'].includes(mode)) {
    return { steps: [], keepPrebuild: false, fallbackToPrebuild: false, error: `DPZO_BUILD=${mode} is not one of source, cmake, gyp` };
  }
  const wantsCuda = haveNvcc && env.DPZO_CUDA !== 'OFF';
  const auto = mode === 'auto' && !force;
  if (auto && prebuildLoads && !wantsCuda) return { steps: [], keepPrebuild: true, fallbackToPrebuild: false };
  const fallbackToPrebuild = auto && Boolean(prebuildLoads);
  if (mode === 'gyp') return { steps: ['gyp'], keepPrebuild: false, fallbackToPrebuild };
  if (mode === 'cmake') {
    return haveCmake
      ? { steps: ['cmake'], keepPrebuild: false, fallbackToPrebuild }
      : { steps: [], keepPrebuild: false, fallbackToPrebuild, error: 'DPZO_BUILD=cmake but cmake was not found on the PATH' };
  }
  return { steps: haveCmake ? ['cmake', 'gyp'] : ['gyp'], keepPrebuild: false, fallbackToPrebuild };
}
