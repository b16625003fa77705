#!/usr/bin/env bash
# The device check for a machine with a GPU, nvcc and CMake but no Node.js:
# builds the core and the check driver with CUDA, then runs the direction
# checks and the CUDA-vs-CPU perturbation comparison/bench. Writes every
# result as JSON to ${OUT:-.}/gpu-check-*.json and a log. One short run:
#   bash scripts/gpu-check.sh            (about 2-4 minutes, most of it nvcc)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.}
log="$out/gpu-check.log"
: > "$log"
step() { echo "== $*" | tee -a "$log"; }

step "nvidia-smi"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >> "$log" 2>&1
step "configure + build (CUDA on, no Node addon)"
cmake -S . -B build-gpu -DDPZO_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >> "$log" 2>&1 || { echo "configure failed"; tail -40 "$log"; exit 1; }
cmake --build build-gpu -j"$(nproc)" --target dpzo_check >> "$log" 2>&1 || { echo "build failed"; tail -40 "$log"; exit 1; }
bin=build-gpu/dpzo_check
status=0
for mode in philox isa; do
  step "dpzo_check $mode"
  "$bin" "$mode" > "$out/gpu-check-$mode.json" 2>> "$log" || status=1
done
step "dpzo_check perturb-bench (CPU, and CUDA vs CPU bit for bit when a GPU is present)"
"$bin" perturb-bench --n 124000000 --threads "$(nproc)" --reps 5 --dtype f32 > "$out/gpu-check-bench-f32.json" 2>> "$log" || status=1
"$bin" perturb-bench --n 124000000 --threads "$(nproc)" --reps 5 --dtype bf16 > "$out/gpu-check-bench-bf16.json" 2>> "$log" || status=1
cat "$out"/gpu-check-*.json
exit $status
