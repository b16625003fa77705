// The install script as a dependent runs it: dpzo in consumer/node_modules/dpzo
// with cmake-js hoisted to consumer/node_modules (issue 16.1: it used to spawn
// dpzo/node_modules/.bin/cmake-js, fail, and fall back to a CPU-only node-gyp
// build). cmake-js, cmake and the addon are stand-ins; the script is the real one.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { addonCandidates } from '../../../lib/addon-path.js';
import { planBuild, resolvePackageBin } from '../../../scripts/native-tools.mjs';
import { ROOT } from '../../helpers/cli.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function write(file: string, text: string, mode?: number): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  if (mode) chmodSync(file, mode);
}

/** consumer/node_modules/{dpzo, cmake-js}: a stand-in cmake-js that records its arguments. */
function hoistedLayout(): { consumer: string; dpzo: string; fakeBin: string; record: string } {
  const consumer = mkdtempSync(join(tmpdir(), 'dpzo-consumer-'));
  dirs.push(consumer);
  write(join(consumer, 'package.json'), '{"name":"consumer","private":true}');
  const dpzo = join(consumer, 'node_modules', 'dpzo');
  cpSync(join(ROOT, 'scripts'), join(dpzo, 'scripts'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(dpzo, 'package.json'));
  const record = join(consumer, 'cmake-js-args.json');
  const cmakeJs = join(consumer, 'node_modules', 'cmake-js');
  write(join(cmakeJs, 'package.json'), '{"name":"cmake-js","version":"0.0.0","bin":{"cmake-js":"./bin/cmake-js"}}');
  write(
    join(cmakeJs, 'bin', 'cmake-js'),
    `const fs = require('node:fs');
fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.argv.slice(2)));
fs.mkdirSync('build/Release', { recursive: true });
fs.writeFileSync('build/Release/dpzo.node', '');\n`,
  );
  // a `cmake` that answers --version; no nvcc on this PATH
  const fakeBin = join(consumer, 'fake-bin');
  write(join(fakeBin, 'cmake'), '#!/bin/sh\necho "cmake version 3.99.0"\n', 0o755);
  return { consumer, dpzo, fakeBin, record };
}

function install(dpzo: string, fakeBin: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(dpzo, 'scripts', 'build-native.mjs')], {
    cwd: dpzo,
    encoding: 'utf8',
    env: { PATH: fakeBin, HOME: process.env.HOME ?? '', ...env },
  });
}

describe('resolvePackageBin', () => {
  it("finds a package hoisted into the dependent's node_modules", () => {
    const { consumer, dpzo } = hoistedLayout();
    const hoisted = join(consumer, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
    expect(resolvePackageBin('cmake-js', 'cmake-js', dpzo)).toBe(hoisted);
  });

  it('takes a copy nested under dpzo over the hoisted one', () => {
    const { dpzo } = hoistedLayout(); // a fresh layout: Node caches resolutions per path
    write(join(dpzo, 'node_modules', 'cmake-js', 'package.json'), '{"name":"cmake-js","bin":{"cmake-js":"./cli.js"}}');
    expect(resolvePackageBin('cmake-js', 'cmake-js', dpzo)).toBe(join(dpzo, 'node_modules', 'cmake-js', 'cli.js'));
  });

  it('reads a string `bin` (node-gyp) and says undefined when nothing is installed', () => {
    const { consumer, dpzo } = hoistedLayout();
    write(join(consumer, 'node_modules', 'node-gyp', 'package.json'), '{"name":"node-gyp","bin":"./bin/node-gyp.js"}');
    expect(resolvePackageBin('node-gyp', 'node-gyp', dpzo)).toBe(join(consumer, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    expect(resolvePackageBin('no-such-package-here', 'x', dpzo)).toBeUndefined();
  });
});

describe('build-native.mjs in a dependent', () => {
  it('runs the hoisted cmake-js (DPZO_BUILD=cmake: no silent node-gyp fallback)', () => {
    const { dpzo, fakeBin, record } = hoistedLayout();
    const r = install(dpzo, fakeBin, { DPZO_BUILD: 'cmake', DPZO_CUDA: 'OFF' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual(expect.arrayContaining(['build', '--CDDPZO_CUDA=OFF']));
  });

  it('fails with one line when cmake-js is missing and DPZO_BUILD=cmake', () => {
    const { consumer, dpzo, fakeBin } = hoistedLayout();
    rmSync(join(consumer, 'node_modules', 'cmake-js'), { recursive: true });
    const r = install(dpzo, fakeBin, { DPZO_BUILD: 'cmake' });
    expect(r.status).toBe(1);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('[dpzo]')),
    ).toHaveLength(2);
    expect(r.stderr).toMatch(/cmake-js is not installed/);
  });

  it('keeps a prebuild that loads when nvcc is absent, and builds from source with --force', () => {
    const { dpzo, fakeBin, record } = hoistedLayout();
    // the lookup the script uses is the compiled one shipped in dist/
    mkdirSync(join(dpzo, 'dist'));
    for (const f of ['addon-path.js', 'errors.js', 'package-info.js']) copyFileSync(join(ROOT, 'dist', f), join(dpzo, 'dist', f));
    const prebuild = addonCandidates({ root: dpzo, env: {} }).at(-1)!;
    mkdirSync(join(prebuild, '..'), { recursive: true });
    // a real addon, so that "it loads here" holds
    const built = addonCandidates({ root: ROOT, env: process.env }).find((p) => existsSync(p))!;
    copyFileSync(built, prebuild);

    const kept = install(dpzo, fakeBin);
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stdout).toContain(`using the prebuilt CPU addon ${prebuild}`);
    expect(existsSync(record)).toBe(false);

    const forced = spawnSync(process.execPath, [join(dpzo, 'scripts', 'build-native.mjs'), '--force'], {
      cwd: dpzo,
      encoding: 'utf8',
      env: { PATH: fakeBin },
    });
    expect(forced.status, forced.stderr).toBe(0);
    expect(existsSync(record)).toBe(true);
  });
});

describe('planBuild', () => {
  const base = { env: {}, force: false, prebuildLoads: true, haveCmake: true, haveNvcc: false };
  it('keeps a working prebuild unless CUDA could be built, a source build is forced, or a builder is named', () => {
    expect(planBuild(base)).toMatchObject({ keepPrebuild: true, steps: [] });
    expect(planBuild({ ...base, haveNvcc: true })).toMatchObject({ keepPrebuild: false, steps: ['cmake', 'gyp'], fallbackToPrebuild: true });
    expect(planBuild({ ...base, haveNvcc: true, env: { DPZO_CUDA: 'OFF' } })).toMatchObject({ keepPrebuild: true });
    expect(planBuild({ ...base, force: true })).toMatchObject({ keepPrebuild: false, fallbackToPrebuild: false });
    expect(planBuild({ ...base, env: { DPZO_BUILD: 'source' } })).toMatchObject({ keepPrebuild: false, steps: ['cmake', 'gyp'] });
  });
  it('without a prebuild: cmake-js then node-gyp, node-gyp alone without CMake', () => {
    const none = { ...base, prebuildLoads: false };
    expect(planBuild(none)).toMatchObject({ steps: ['cmake', 'gyp'], fallbackToPrebuild: false });
    expect(planBuild({ ...none, haveCmake: false })).toMatchObject({ steps: ['gyp'] });
    expect(planBuild({ ...none, env: { DPZO_BUILD: 'gyp' } })).toMatchObject({ steps: ['gyp'] });
    expect(planBuild({ ...none, env: { DPZO_BUILD: 'cmake' } })).toMatchObject({ steps: ['cmake'] });
  });
  it('refuses an unknown DPZO_BUILD and DPZO_BUILD=cmake without cmake, in one line', () => {
    expect(planBuild({ ...base, env: { DPZO_BUILD: 'ninja' } }).error).toMatch(/^DPZO_BUILD=ninja is not one of/);
    expect(planBuild({ ...base, haveCmake: false, env: { DPZO_BUILD: 'cmake' } }).error).toMatch(/cmake was not found/);
  });
});
