#!/usr/bin/env bash
# The GPU check of issue 12 in one call (meant to finish in under 8 minutes on an H200): builds dpzo_check
# with CMake + nvcc for the card it finds (no Node.js needed), then prints, section by section:
#   1. Philox known answers; directions and the update CUDA vs CPU (perturb-bench); CUDA vs CPU losses,
#      virtual points, candidates, logits, perturb/update/decay bit for bit on random checkpoints of each
#      family and dtype (gpu-check, one table, exit status = its failures); again with the opt-in tiled
#      attention kernel (DPZO_CUDA_ATTENTION=tiled)
#   1d. the public API (N-API, the trainer, exportRun) on CUDA vs the CPU, through Node (node-check.mjs)
#   2. transformers vs dpzo on the same checkpoints (hf_compare.py; skipped when torch is absent)
#   3-4. perturb/update GB/s against the device-to-device copy, forward TFLOP/s, DP-ZO pair time and peak
#      device bytes, OPT-1.3B shape, BF16, batch 16 x 128 (gpu-bench): the SIMT GEMM, then the tensor cores
#      (cuBLASLt at $DPZO_CUBLASLT) with virtual points split hi + lo, then rounded (docs/cuda.md), then split
#      with the tiled attention kernel
#   5. the PyTorch + transformers MeZO-style DP-ZO step on the same shape (peer_step.py)
#   6. the largest OPT shape whose BF16 DP-ZO step fits on the card (66B, else 30B, else 13B; one timed rep)
# Tables go to stdout and to $OUT (or .tmp/gpu) as text; checkpoints go to $DPZO_GPU_TMP (default /tmp).
# Env: DPZO_GPU_ARCH (e.g. 90; default: the card's compute capability), DPZO_GPU_SKIP_PEER=1,
# DPZO_GPU_BENCH_SHAPE (gpu-bench's shape flags), DPZO_GPU_PREBUILT (a dpzo_check built elsewhere for this
# card, used when it runs here; else the build below), DPZO_GPU_SKIP_HF=1, DPZO_GPU_SKIP_LARGEST=1.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-$root/.tmp/gpu}
tmp=${DPZO_GPU_TMP:-/tmp}/dpzo-gpu
mkdir -p "$out" "$tmp"
start=$(date +%s)
export PATH="$PATH:/usr/local/cuda/bin"
section() { echo; echo "== $* ($(($(date +%s) - start)) s)"; }
status=0

section "device"
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader || echo "nvidia-smi failed"
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
arch=${DPZO_GPU_ARCH:-${cap:-90}}
nvcc --version | tail -1
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' 2>&1 | tail -1
# where a cuBLASLt is (the wheel's, for a build that loads it at run time)
find / -name 'libcublasLt.so*' -not -path '/proc/*' 2>/dev/null | head -5
# the cuBLASLt the tensor-core GEMM loads at run time (cuda/cublaslt_loader.h): the toolkit's, else the wheel's
if [ -z "${DPZO_CUBLASLT:-}" ]; then
  for lib in /usr/local/cuda/targets/x86_64-linux/lib/libcublasLt.so.13 \
    /usr/local/cuda-13.0/targets/x86_64-linux/lib/libcublasLt.so.13 \
    /opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublasLt.so.13; do
    [ -f "$lib" ] && { export DPZO_CUBLASLT=$lib; break; }
  done
fi
echo "DPZO_CUBLASLT=${DPZO_CUBLASLT:-(none found: the tensor rows and runs below say so)}"

section "build dpzo_check (sm_$arch)"
build=$root/build/gpu  # build/ is ignored by git
built=0
pre=${DPZO_GPU_PREBUILT:-}
if [ -n "$pre" ] && [ -x "$pre" ] && "$pre" philox >/dev/null 2>&1; then
  mkdir -p "$build" && cp "$pre" "$build/dpzo_check" && built=1
  echo "using the prebuilt $pre"
fi
if [ "$built" = 0 ] && command -v cmake >/dev/null 2>&1; then
  if { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDPZO_CUDA=ON -DDPZO_BLAS=OFF \
    -DCMAKE_CUDA_ARCHITECTURES="${arch}-real" && cmake --build "$build" -j"$(nproc)" --target dpzo_check; } \
    >"$out/build.log" 2>&1; then
    built=1
  else
    echo "CMake build failed (tail of $out/build.log below); trying nvcc alone"
    tail -20 "$out/build.log"
  fi
fi
if [ "$built" = 0 ]; then
  echo "building with nvcc alone (bench/gpu/build-nvcc.sh)"
  bench/gpu/build-nvcc.sh "$build" "$arch" >"$out/build-nvcc.log" 2>&1 || { tail -40 "$out/build-nvcc.log"; exit 1; }
fi
check=$build/dpzo_check

section "1a. Philox known answers"
$check philox | tee "$out/philox.json"

section "1b. directions and the update, CUDA vs CPU bit for bit; axpy speed (perturb-bench)"
timeout 120 $check perturb-bench --n 50000000 --reps 5 --dtype all | tee "$out/perturb-bench.json"

section "1c. CUDA vs CPU on random checkpoints (gpu-check)"
timeout 120 $check gpu-check --dir "$tmp/check" | tee "$out/gpu-check.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# the opt-in tiled attention kernel (cuda/attention_plan.h) through the same comparisons, plus 128-wide heads
# (its second tile size); not yet run on a GPU
echo "-- DPZO_CUDA_ATTENTION=tiled"
DPZO_CUDA_ATTENTION=tiled timeout 120 $check gpu-check --dir "$tmp/check-tiled" --families llama,llama-wide,qwen3,gpt2,opt,llama-h128 \
  | tee "$out/gpu-check-tiled.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
rm -rf "$tmp/check-tiled"

section "1d. the public API on CUDA through Node: losses, a DP-ZO run, its CPU replay (node-check.mjs)"
# The GPU machine has no Node.js: DPZO_GPU_NODE_XZ names an xz-compressed node binary carried along (the
# same version as the build's), with dist/, build/Release/dpzo.node and the runtime node_modules
node=${DPZO_GPU_NODE:-$(command -v node || true)}
if [ -z "$node" ] && [ -n "${DPZO_GPU_NODE_XZ:-}" ] && [ -f "$DPZO_GPU_NODE_XZ" ]; then
  node=$tmp/node
  { xz -dc "$DPZO_GPU_NODE_XZ" 2>/dev/null || python3 -c 'import lzma,sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())' "$DPZO_GPU_NODE_XZ"; } >"$node" && chmod +x "$node"
fi
if [ -n "$node" ] && [ -f dist/index.js ] && [ -f build/Release/dpzo.node ]; then
  # the default GEMM path (auto: tensor cores for BF16, where node-check allows 2e-2 for the losses)
  timeout 150 "$node" bench/gpu/node-check.mjs data/models/word-llama "$tmp/node-check" | tee "$out/node-check.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
else
  echo "skipped: no node binary, dist/ or build/Release/dpzo.node"
fi

section "2. transformers vs dpzo on the same checkpoints"
if [ "${DPZO_GPU_SKIP_HF:-0}" != 1 ] && python3 -c 'import torch, transformers' 2>/dev/null; then
  timeout 120 python3 bench/gpu/hf_compare.py "$tmp/check" | tee "$out/hf-compare.txt"
else
  echo "skipped: python3 cannot import torch and transformers"
fi

section "3-4. OPT-1.3B shape, BF16, batch 16 x 128 (gpu-bench)"
# DPZO_GPU_BENCH_SHAPE replaces the shape flags (a dry run on a machine without a GPU uses a tiny one)
shape=${DPZO_GPU_BENCH_SHAPE:---family opt --hidden 2048 --layers 24 --heads 32 --inter 8192 --vocab 50272 --batch 16 --seq 128}
# shellcheck disable=SC2086
# --init random: the weights are built on the device from config.json (no 2.6 GB checkpoint written)
# DPZO_CUDA_GEMM=simt: the SIMT baseline (auto would take the tensor path, measured just below)
DPZO_CUDA_GEMM=simt timeout 180 $check gpu-bench $shape --dtype bf16 --init random --dir "$tmp/bench" | tee "$out/gpu-bench.txt"
# the tensor-core GEMM (cuBLASLt, BF16 inputs, F32 accumulation): virtual points split hi + lo, then rounded
for pg in split round; do
  echo "-- DPZO_CUDA_GEMM=tensor DPZO_CUDA_POINT_GEMM=$pg"
  # shellcheck disable=SC2086
  DPZO_CUDA_GEMM=tensor DPZO_CUDA_POINT_GEMM=$pg timeout 180 $check gpu-bench $shape --dtype bf16 --init random \
    --dir "$tmp/bench" | tee "$out/gpu-bench-tensor-$pg.txt"
  rm -rf "$tmp/bench"
done
# the same split-point step with the tiled attention kernel: the attention was a quarter of the forward (run 4)
echo "-- DPZO_CUDA_GEMM=tensor DPZO_CUDA_POINT_GEMM=split DPZO_CUDA_ATTENTION=tiled"
# shellcheck disable=SC2086
DPZO_CUDA_GEMM=tensor DPZO_CUDA_POINT_GEMM=split DPZO_CUDA_ATTENTION=tiled timeout 180 $check gpu-bench $shape --dtype bf16 \
  --init random --dir "$tmp/bench" | tee "$out/gpu-bench-tensor-split-tiled.txt"
rm -rf "$tmp/bench"

section "5. PyTorch + transformers MeZO-style DP-ZO step, same shape"
if [ "${DPZO_GPU_SKIP_PEER:-0}" != 1 ] && python3 -c 'import torch, transformers' 2>/dev/null; then
  timeout 90 python3 bench/gpu/peer_step.py --batch 16 --seq 128 | tee "$out/peer-step.txt"
else
  echo "skipped"
fi

section "6. the largest OPT shape whose BF16 DP-ZO step fits (one timed rep, no warm-up)"
if [ "${DPZO_GPU_SKIP_LARGEST:-0}" != 1 ]; then
  # OPT-66B, -30B, -13B (Zhang et al. 2022, table 1): hidden, layers, heads, ffn; vocab 50272
  for s in "66b 9216 64 72 36864" "30b 7168 48 56 28672" "13b 5120 40 40 20480"; do
    set -- $s
    echo "-- OPT-$1 shape"
    if timeout 240 $check gpu-bench --family opt --hidden "$2" --layers "$3" --heads "$4" --inter "$5" --vocab 50272 \
      --batch 16 --seq 128 --dtype bf16 --init random --reps 1 --warmup 0 --dir "$tmp/largest" | tee "$out/largest-$1.txt"; then
      break
    fi
  done
  rm -rf "$tmp/largest"
fi

section "done, exit $status"
exit $status
