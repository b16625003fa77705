#!/usr/bin/env bash
# The GPU check of issue 12 in one call (meant to finish in under 8 minutes on an H200): builds dpzo_check
# with CMake + nvcc for the card it finds (no Node.js needed), then prints, section by section:
#   1. Philox known answers; directions and the update CUDA vs CPU (perturb-bench); CUDA vs CPU losses,
#      virtual points, candidates, logits, perturb/update/decay bit for bit on random checkpoints of each
#      family and dtype (gpu-check, one table, exit status = its failures)
#   2. transformers vs dpzo on the same checkpoints (hf_compare.py; skipped when torch is absent)
#   3-4. perturb/update GB/s against the device-to-device copy, forward TFLOP/s, DP-ZO pair time and peak
#      device bytes, OPT-1.3B shape, BF16, batch 16 x 128 (gpu-bench)
#   5. the PyTorch + transformers MeZO-style DP-ZO step on the same shape (peer_step.py)
# Tables go to stdout and to $OUT (or .tmp/gpu) as text; checkpoints go to $DPZO_GPU_TMP (default /tmp).
# Env: DPZO_GPU_ARCH (e.g. 90; default: the card's compute capability), DPZO_GPU_SKIP_PEER=1,
# DPZO_GPU_BENCH_SHAPE (gpu-bench's shape flags).
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

section "build dpzo_check (sm_$arch)"
build=$root/build/gpu  # build/ is ignored by git
built=0
if command -v cmake >/dev/null 2>&1; then
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
timeout 120 $check perturb-bench --n 50000000 --reps 5 --dtype f32 | tee "$out/perturb-bench.json"

section "1c. CUDA vs CPU on random checkpoints (gpu-check)"
timeout 120 $check gpu-check --dir "$tmp/check" | tee "$out/gpu-check.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

section "2. transformers vs dpzo on the same checkpoints"
if python3 -c 'import torch, transformers' 2>/dev/null; then
  timeout 120 python3 bench/gpu/hf_compare.py "$tmp/check" | tee "$out/hf-compare.txt"
else
  echo "skipped: python3 cannot import torch and transformers"
fi

section "3-4. OPT-1.3B shape, BF16, batch 16 x 128 (gpu-bench)"
# DPZO_GPU_BENCH_SHAPE replaces the shape flags (a dry run on a machine without a GPU uses a tiny one)
shape=${DPZO_GPU_BENCH_SHAPE:---family opt --hidden 2048 --layers 24 --heads 32 --inter 8192 --vocab 50272 --batch 16 --seq 128}
# shellcheck disable=SC2086
# --init random: the weights are built on the device from config.json (no 2.6 GB checkpoint written)
timeout 180 $check gpu-bench $shape --dtype bf16 --init random --dir "$tmp/bench" | tee "$out/gpu-bench.txt"
rm -rf "$tmp/bench"

section "5. PyTorch + transformers MeZO-style DP-ZO step, same shape"
if [ "${DPZO_GPU_SKIP_PEER:-0}" != 1 ] && python3 -c 'import torch, transformers' 2>/dev/null; then
  timeout 90 python3 bench/gpu/peer_step.py --batch 16 --seq 128 | tee "$out/peer-step.txt"
else
  echo "skipped"
fi

section "done, exit $status"
exit $status
