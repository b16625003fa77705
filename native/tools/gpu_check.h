// defines: the check driver's CUDA modes (native/tools/gpu_check.cpp):
//   gpu-check [--dir D] [--families llama,llama-wide,gpt2,opt] [--dtypes f32,bf16]
//       random checkpoints of each family and dtype (written under D, transformers-compatible), loaded on
//       the CPU and on CUDA: per-example losses at θ, at virtual points, in candidate and all-rows mode,
//       logits, greedy tokens, perturb + update (stochastic rounding, decay) bit for bit by weights hash,
//       directions CUDA vs CPU in ulp. llama-wide: a Llama whose MLP is its largest tensor, so that in
//       BF16 the virtual-point reads of the trunk's weights come in row chunks. One table on stdout; exit 1 when a
//       check fails. Without a CUDA device (or a CUDA build) the CPU is compared with itself, which tests this driver
//       only.
//   gpu-bench [--family llama|opt|gpt2] [--hidden H] [--layers L] [--heads A] [--kv-heads KV] [--inter I] [--vocab V]
//   [--dtype bf16]
//             [--batch B] [--seq S] [--dir D]
//       one random checkpoint of that shape on CUDA: forward and DP-ZO-pair times, TFLOP/s, update GB/s
//       against the device-to-device copy, peak device bytes.
#pragma once
#include <map>
#include <string>

int mode_gpu_check(const std::map<std::string, std::string>& flags);
int mode_gpu_bench(const std::map<std::string, std::string>& flags);
