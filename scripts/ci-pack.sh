#!/usr/bin/env bash
# CI: the package as a dependent gets it. `npm pack`, install the tarball into a
# scratch project in a temp dir (dependencies from the npm registry), with the
# addon built by cmake-js resolved from the scratch project's node_modules
# (DPZO_BUILD=cmake: a failure is not hidden by the node-gyp fallback; CUDA off
# to keep it short), then run the installed CLI, an ESM import, a require()
# and a TypeScript type-check against the shipped types. The tarball carries the
# prebuilt CPU addon (npm run build:prebuild, as at publishing): a second
# install with no build asked for must keep it and compile nothing. Any failure
# fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=$(node -p 'require("./package.json").version')
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "== the prebuilt CPU addon (as made when publishing)"
rm -rf prebuilds
npm run --silent build:prebuild
echo "== npm pack"
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -n 1)
tar -tzf "$scratch/$tarball" > "$scratch/contents.txt"
prebuild=$(cd prebuilds && ls -d */dpzo.node)
for f in package/dist/index.js package/dist/index.d.ts package/dist/cli/main.js package/bin/dpzo.js package/scripts/build-native.mjs "package/prebuilds/$prebuild"; do
  grep -qx "$f" "$scratch/contents.txt" || { echo "ci-pack: $f is missing from $tarball"; exit 1; }
done
if grep -q '^package/test/' "$scratch/contents.txt"; then echo "ci-pack: test/ is in $tarball"; exit 1; fi

echo "== install $tarball into a scratch project"
mkdir "$scratch/app"
cd "$scratch/app"
printf '{ "name": "dpzo-ci-consumer", "private": true, "type": "module" }\n' > package.json
DPZO_BUILD=cmake DPZO_CUDA=OFF npm install --no-audit --no-fund --loglevel=error \
  "$scratch/$tarball" typescript@5.9 @types/node@20
test ! -e node_modules/tsx || { echo "ci-pack: tsx was installed with dpzo (it is a dev dependency)"; exit 1; }

echo "== the installed CLI"
got=$(npx --no-install dpzo --version)
[ "$got" = "$version" ] || { echo "ci-pack: dpzo --version printed '$got', expected $version"; exit 1; }
npx --no-install dpzo env
npx --no-install dpzo env --json | node -e '
const env = JSON.parse(require("fs").readFileSync(0, "utf8"));
if (!env.addon.includes("node_modules/dpzo/")) throw new Error("env: addon " + env.addon + " is not the installed one");
if (!env.backends.split(",").includes("cpu")) throw new Error("env: no cpu backend in " + JSON.stringify(env.backends));'

echo "== ESM import, require(), TypeScript"
# the public API reaches the installed addon: the native loader's own coded error for a missing model
cat > esm.mjs <<'JS'
import { loadModel, DpzoError } from 'dpzo';
const code = await loadModel('/nonexistent-dpzo-model').then(() => 'loaded', (e) => e.code);
if (code !== 'ERR_CONFIG_MISSING') throw new Error(`loadModel of a missing directory: ${code}`);
if (new DpzoError('ERR_ARGUMENT', 'm').code !== 'ERR_ARGUMENT') throw new Error('API surface');
JS
node esm.mjs
node -e 'const d = require("dpzo"); if (typeof d.loadModel !== "function") throw new Error("require(dpzo)")'
cat > check.ts <<'TS'
import { loadModel, DpzoError, type ModelConfig } from 'dpzo';
const load: (dir: string) => Promise<unknown> = (dir) => loadModel(dir);
const err: DpzoError = new DpzoError('ERR_ARGUMENT', 'm');
const c: Pick<ModelConfig, 'numLayers'> | undefined = undefined;
export { load, err, c };
TS
npx --no-install tsc --noEmit --strict --module nodenext --moduleResolution nodenext --target es2022 --types node check.ts

echo "== a second dependent: the prebuild is kept, nothing is compiled"
mkdir "$scratch/app2"
cd "$scratch/app2"
printf '{ "name": "dpzo-ci-consumer-2", "private": true, "type": "module" }\n' > package.json
DPZO_CUDA=OFF npm install --no-audit --no-fund --loglevel=error "$scratch/$tarball"
test ! -e node_modules/dpzo/build || { echo "ci-pack: the install compiled the addon although the prebuild loads"; exit 1; }
npx --no-install dpzo env --json | node -e '
const env = JSON.parse(require("fs").readFileSync(0, "utf8"));
if (!env.addon.includes("node_modules/dpzo/prebuilds/")) throw new Error("env: addon " + env.addon + " is not the prebuild");'
cd "$root"
rm -rf prebuilds
echo "ci-pack: ok ($tarball)"
