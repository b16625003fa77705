#!/usr/bin/env node
// Builds the native addon: cmake-js when CMake is available (CPU backend, and
// CUDA when nvcc is found), otherwise node-gyp (CPU only). Everything needed
// comes from the npm registry; no headers are downloaded (Node-API headers
// ship in the node-api-headers package).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jobs = String(Math.max(1, Math.min(cpus().length, Number(process.env.DPZO_BUILD_JOBS) || cpus().length)));

function run(cmd, args, env = {}) {
  console.log(`[dpzo] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}
function have(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

const bin = (name) => join(root, 'node_modules', '.bin', name);
const extra = [];
if (process.env.DPZO_CUDA) extra.push(`--CDDPZO_CUDA=${process.env.DPZO_CUDA}`);
if (process.env.DPZO_BLAS) extra.push(`--CDDPZO_BLAS=${process.env.DPZO_BLAS}`);

// a build/ left by node-gyp confuses cmake-js and vice versa
const buildDir = join(root, 'build');
const cmakeBuild = process.env.DPZO_BUILD !== 'gyp' && have('cmake');
if (existsSync(buildDir) && existsSync(join(buildDir, 'CMakeCache.txt')) !== cmakeBuild) rmSync(buildDir, { recursive: true, force: true });

let ok = false;
if (cmakeBuild) {
  ok = run(bin('cmake-js'), ['build', '--parallel', jobs, ...extra], { CMAKE_BUILD_PARALLEL_LEVEL: jobs });
  if (!ok) console.error('[dpzo] cmake-js build failed; trying node-gyp (CPU only)');
}
// node-gyp would download headers; use the ones installed with Node instead
const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
// node-gyp: ours in a checkout (devDependency), else the one npm bundles (npm_config_node_gyp)
const gypArgs = ['rebuild', `--jobs=${jobs}`, `--nodedir=${nodedir}`];
if (!ok) {
  if (existsSync(bin('node-gyp'))) ok = run(bin('node-gyp'), gypArgs);
  else if (process.env.npm_config_node_gyp) ok = run(process.execPath, [process.env.npm_config_node_gyp, ...gypArgs]);
  else console.error('[dpzo] node-gyp not found (neither in node_modules nor bundled with npm)');
}
if (!ok) {
  console.error('[dpzo] could not build the native addon: need CMake >= 3.18 or node-gyp, and a C++17 compiler');
  process.exit(1);
}
