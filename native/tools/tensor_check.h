// defines: the check driver's modes for the host-side choices of the CUDA backend — the tensor-core GEMM
// (cuda/gemm_plan.h, cuda/cublaslt_loader.h) and the attention kernel (cuda/attention_plan.h) — testable
// without a GPU (test/native/tensor-gemm.test.ts, test/native/attention-mode.test.ts):
//   gemm-plan --m M --n N --k K --lda A --ldw W --ldo O --layout outin|inout --dtype bf16|f16
//       the cuBLASLt operands of out (M × N, ldo) = a (M × K, lda) · Wᵀ as JSON
//   gemm-mode       DPZO_CUDA_GEMM and DPZO_CUDA_POINT_GEMM as parsed (or the one-line error)
//   attention-mode  DPZO_CUDA_ATTENTION as parsed (cuda/attention_plan.h), or the one-line error
//   cublaslt-load   the library search (DPZO_CUBLASLT first): candidates, the one loaded or why none
//   tensor-cache [--dtypes bf16,f16] [--heights H]
//       a TensorGemm per dtype in that order (the path each got: the self-test is per dtype), and on the first
//       one on, H GEMMs of heights 1 … H against k::gemm: mismatches and the most shapes it held prepared
//   split-at --dtype f16|bf16 --w W --coeff C [--seed S] [--n N] [--g0 G] [--point split|round]
//       k::split_at of N weights rn16(W) at the point θ + C·z(S) from global index G, beside the CPU's float32
//       value there (cpu::values_at): {"loScale", "v", "hi", "lo"} (non-finite numbers as strings)
#pragma once
#include <map>
#include <string>

int mode_gemm_plan(const std::map<std::string, std::string>& flags);
int mode_gemm_mode();
int mode_attention_mode();
int mode_cublaslt_load();
int mode_tensor_cache(const std::map<std::string, std::string>& flags);
int mode_split_at(const std::map<std::string, std::string>& flags);
