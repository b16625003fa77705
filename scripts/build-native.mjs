#!/usr/bin/env node
// Builds the native addon at install time: keeps a prebuilt CPU addon that
// loads (prebuilds/, shipped in the tarball) unless nvcc could add CUDA or
// --force (npm run build:native) asks for a source build; otherwise cmake-js
// (CPU backend, CUDA when nvcc is found, BLAS when OpenBLAS is), then node-gyp
// (CPU only). Both tools are resolved as Node resolves modules: npm hoists them
// into the consumer's node_modules. Everything comes from the npm registry; no
// headers are downloaded. Env: DPZO_BUILD=source|cmake|gyp, DPZO_CUDA, DPZO_BLAS
// (AUTO|ON|OFF), DPZO_BUILD_JOBS.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { haveCommand, planBuild, resolvePackageBin } from './native-tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jobs = String(Math.max(1, Math.min(cpus().length, Number(process.env.DPZO_BUILD_JOBS) || cpus().length)));
const force = process.argv.includes('--force');

function fail(message) {
  console.error(`[dpzo] ${message}`);
  process.exit(1);
}

function run(cmd, args, env = {}) {
  console.log(`[dpzo] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) console.error(`[dpzo] could not start ${cmd}: ${r.error.message}`);
  return r.status === 0;
}

// A prebuild counts only if it loads here (right libc, Node-API version).
// The lookup is dist/addon-path.js, present in the tarball; a checkout has no
// dist/ yet at install time, and no prebuilds either.
async function prebuildThatLoads() {
  const lookup = join(root, 'dist', 'addon-path.js');
  if (!existsSync(lookup)) return undefined;
  const { addonCandidates } = await import(pathToFileURL(lookup).href);
  const file = addonCandidates({ root, env: {} }).at(-1); // the prebuild comes last
  if (!existsSync(file)) return undefined;
  try {
    createRequire(import.meta.url)(file);
    return file;
  } catch (e) {
    console.log(`[dpzo] prebuilt addon ${file} does not load here (${String(e.message).split('\n')[0]}); building from source`);
    return undefined;
  }
}

function cmakeBuild() {
  const cmakeJs = resolvePackageBin('cmake-js', 'cmake-js', root);
  if (!cmakeJs) {
    console.error('[dpzo] cmake-js is not installed (it is a dependency of dpzo; was the install pruned?)');
    return false;
  }
  const extra = [];
  if (process.env.DPZO_CUDA) extra.push(`--CDDPZO_CUDA=${process.env.DPZO_CUDA}`);
  if (process.env.DPZO_BLAS) extra.push(`--CDDPZO_BLAS=${process.env.DPZO_BLAS}`);
  return run(process.execPath, [cmakeJs, 'build', '--parallel', jobs, ...extra], { CMAKE_BUILD_PARALLEL_LEVEL: jobs });
}

function gypBuild() {
  // node-gyp would download headers; use the ones installed with Node instead
  const nodedir = process.env.npm_config_nodedir || dirname(dirname(process.execPath));
  const args = ['rebuild', `--jobs=${jobs}`, `--nodedir=${nodedir}`];
  // ours in a checkout (devDependency), else the one npm bundles (npm_config_node_gyp)
  const gyp = resolvePackageBin('node-gyp', 'node-gyp', root) ?? process.env.npm_config_node_gyp;
  if (!gyp) {
    console.error('[dpzo] node-gyp not found (neither installed nor bundled with npm)');
    return false;
  }
  return run(process.execPath, [gyp, ...args]);
}

const prebuilt = process.env.DPZO_BUILD || force ? undefined : await prebuildThatLoads();
const haveCmake = haveCommand('cmake');
const plan = planBuild({ env: process.env, force, prebuildLoads: Boolean(prebuilt), haveCmake, haveNvcc: haveCommand('nvcc') });
if (plan.error) fail(plan.error);
if (plan.keepPrebuild) {
  console.log(`[dpzo] using the prebuilt CPU addon ${prebuilt} (npm run build:native builds from source)`);
  process.exit(0);
}

// a build/ left by node-gyp confuses cmake-js and vice versa
const buildDir = join(root, 'build');
if (existsSync(buildDir) && existsSync(join(buildDir, 'CMakeCache.txt')) !== (plan.steps[0] === 'cmake')) {
  rmSync(buildDir, { recursive: true, force: true });
}

let ok = false;
for (const step of plan.steps) {
  if (step === 'gyp' && plan.steps[0] === 'cmake') console.error('[dpzo] cmake-js build failed; trying node-gyp (CPU only)');
  if (step === 'gyp' && existsSync(join(buildDir, 'CMakeCache.txt'))) rmSync(buildDir, { recursive: true, force: true });
  ok = step === 'cmake' ? cmakeBuild() : gypBuild();
  if (ok) break;
}
if (!ok && plan.fallbackToPrebuild) {
  // the source build was tried only to add CUDA; a broken one must not leave build/Release ahead of the prebuild
  rmSync(buildDir, { recursive: true, force: true });
  console.error(`[dpzo] source build failed; using the prebuilt CPU addon ${prebuilt}`);
  process.exit(0);
}
if (!ok) {
  fail(
    haveCmake
      ? 'could not build the native addon: the build above failed (a C++17 compiler is needed)'
      : 'could not build the native addon: need CMake >= 3.18 (or node-gyp with Python) and a C++17 compiler',
  );
}
