// What `npm pack` puts in the tarball (package.json "files"): what a dependent runs and builds from, nothing that only the
// repository's own checks use. native/tools and cuda/emu (the dpzo_check drivers and the host emulation of the CUDA backend)
// were shipped, and CMakeLists.txt builds dpzo_check, dpzo_cuda_emu and dpzo_check_emu whenever native/tools has sources:
// every dependent's source build (nvcc present, or DPZO_BUILD set) compiled 20 translation units it never runs.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { ROOT } from '../../helpers/cli.js';

/** The tarball's file list, as `npm pack --dry-run` computes it (no build: --ignore-scripts skips `prepare`). */
function packedFiles(): string[] {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const [pack] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
  return pack!.files.map((f) => f.path);
}

describe('the npm tarball', () => {
  it('ships the runtime, the addon sources, the demo data, and no test tools, tests or build output', { timeout: 60_000 }, () => {
    const files = packedFiles();
    // what a dependent runs: the compiled API and CLI with their types, the install script, the build description
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/dpzo.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'scripts/build-native.mjs',
      'scripts/native-tools.mjs',
      'scripts/prebuild.mjs',
      'CMakeLists.txt',
      'binding.gyp',
      'native/napi/addon.cpp',
      'native/include/dpzo/backend.h',
      'cuda/backend.cpp',
      'data/models/word-llama/model.safetensors',
      'data/models/word-llama/tokenizer.json',
      'data/sst2/train.tsv',
      'data/sst2/test.tsv',
    ]) {
      expect(files, f).toContain(f);
    }
    // every C++ source of the addon's build (binding.gyp reads native/core, native/cpu and native/napi whole)
    expect(files.filter((f) => /^native\/(core|cpu|napi)\/.*\.cpp$/.test(f)).length).toBeGreaterThan(40);
    const unwanted = files.filter(
      (f) =>
        /^(test|bench|docs|build[^/]*|node_modules|\.ci)\//.test(f) ||
        /^(native\/tools|cuda\/emu)\//.test(f) ||
        /^scripts\/(ci-pack\.sh|gpu-check\.sh|typedoc-inline-members\.mjs)$/.test(f) ||
        /\.(o|obj|a|tsbuildinfo|log|gpu)$/.test(f) ||
        /(^|\/)\.[^/]+$/.test(f),
    );
    expect(unwanted).toEqual([]);
  });
});
