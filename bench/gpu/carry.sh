#!/usr/bin/env bash
# Prepares what bench/gpu/run.sh needs on a GPU machine that has no Node.js and cannot reach npm, in the
# ignored folder .gpu/ (add `/.gpu/` to .git/info/exclude once):
#   .gpu/dpzo_check   built here for sm_90 (run.sh uses it when it runs there, else builds its own)
#   .gpu/node.xz      this machine's node binary, xz-compressed (about 24 MB)
# and builds dist/ and build/Release/dpzo.node (with CUDA when nvcc is here). Then, on the GPU machine:
#   DPZO_GPU_PREBUILT=.gpu/dpzo_check DPZO_GPU_NODE_XZ=.gpu/node.xz bash bench/gpu/run.sh
# carrying .gpu dist build/Release node_modules/{zod,commander,fft.js,@huggingface/tokenizers}.
#   bench/gpu/carry.sh [ARCH]      (ARCH default 90)
set -euo pipefail
arch=${1:-90}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p .gpu
cmake -S . -B build/gpu-pre -G Ninja -DCMAKE_BUILD_TYPE=Release -DDPZO_CUDA=ON -DDPZO_BLAS=OFF \
  -DCMAKE_CUDA_ARCHITECTURES="${arch}-real" >/dev/null
cmake --build build/gpu-pre -j"$(nproc)" --target dpzo_check >/dev/null
cp build/gpu-pre/dpzo_check .gpu/
npm run -s build:native >/dev/null
npm run -s build:ts
[ -f .gpu/node.xz ] && [ .gpu/node.xz -nt "$(command -v node)" ] || xz -T0 -6 -c "$(readlink -f "$(command -v node)")" >.gpu/node.xz
du -shc .gpu dist build/Release node_modules/zod node_modules/commander node_modules/fft.js node_modules/@huggingface/tokenizers | tail -1
