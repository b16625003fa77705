#!/usr/bin/env node
// Makes the prebuilt CPU addon shipped in the tarball: a cmake-js build with
// CUDA and BLAS off (so it needs no CUDA runtime or OpenBLAS where it is
// installed), in its own build directory, copied to
// prebuilds/<platform>-<arch>[-<libc>]/dpzo.node where lib/addon-path.ts looks.
// Run after `npm ci` (it uses dist/addon-path.js for the directory name).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolvePackageBin } from './native-tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lookup = join(root, 'dist', 'addon-path.js');
if (!existsSync(lookup)) {
  console.error('[dpzo] dist/ is missing: run `npm run build:ts` first');
  process.exit(1);
}
const cmakeJs = resolvePackageBin('cmake-js', 'cmake-js', root);
if (!cmakeJs) {
  console.error('[dpzo] cmake-js is not installed: run `npm ci` first');
  process.exit(1);
}
const out = join(root, 'build-prebuild');
const jobs = String(cpus().length);
const args = [cmakeJs, 'build', '--out', out, '--parallel', jobs, '--CDDPZO_CUDA=OFF', '--CDDPZO_BLAS=OFF'];
console.log(`[dpzo] ${process.execPath} ${args.join(' ')}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs } });
if (r.status !== 0) {
  console.error('[dpzo] the CPU-only build for the prebuild failed (see above)');
  process.exit(1);
}
const { addonCandidates } = await import(pathToFileURL(lookup).href);
const target = addonCandidates({ root, env: {} }).at(-1);
mkdirSync(dirname(target), { recursive: true });
copyFileSync(join(out, 'Release', 'dpzo.node'), target);
console.log(`[dpzo] wrote ${target}`);
