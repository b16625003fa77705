// defines: cuda::Forward — the CUDA backend's fused forward + per-example loss, logits and greedy decoding
// over a model's device weights, for GPT-2, OPT and Llama over packed varlen batches (dpzo/forward.h),
// mirroring the CPU graphs (cpu/forward_*.cpp). A virtual point θ + Σ c_k z(s_k) is evaluated without
// writing θ: each trainable weight a kernel needs is first read at the point into a float32 scratch
// (k::values_at), the 2-D ones in row chunks, so the scratch is at most the largest tensor's byte size. On the
// tensor path (F16/BF16 models, cuda/tensor_gemm.h) the same scratch holds the point's weights as hi/lo halves.
#pragma once
#include <cstdint>
#include <vector>

#include "device_weights.h"
#include "dpzo/forward.h"
#include "dpzo/model.h"
#include "kernels.h"
#include "tensor_gemm.h"

namespace dpzo {
namespace cuda {

class Forward {
 public:
  Forward(const Model& m, DeviceWeights& dw, MemoryTracker& mem);

  // One LossOutput per point (already validated, zero coefficients dropped), or one at θ when `seeds` is
  // empty. The batch must have passed validate_loss_batch (dpzo/batch_check.h).
  std::vector<LossOutput> loss(const PackedBatch& b, const std::vector<std::vector<uint64_t>>& seeds,
                               const std::vector<std::vector<float>>& coeffs, bool all_rows, const CancelToken* cancel);
  // Full-vocabulary logits (R × V) at packed positions, at θ.
  std::vector<float> logits(const PackedBatch& b, const std::vector<int64_t>& positions, const CancelToken* cancel);
  // Greedy decoding at θ with a KV cache (the prompt once, then one token per step); the prompt must have
  // passed validate_tokens. Each step's rows are those a full recomputation gives (same kernels, same
  // per-row arithmetic), so the tokens equal the uncached decoding's.
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int n, int32_t eos_id, const CancelToken* cancel);

 private:
  struct Point {  // device copies of one point's pairs (n = 0: θ as stored)
    const uint64_t* seeds = nullptr;
    const float* coeffs = nullptr;
    int n = 0;
  };
  struct Rows {  // the rows that reach the head, host side
    std::vector<int64_t> which;
    std::vector<int32_t> labels, seq_of;
  };

  void upload_batch(const PackedBatch& b);
  // The q/k/v rows of layer l this forward writes (width ld): the scratch, or with the KV cache on, the
  // cache's rows [kv_len_, kv_len_ + T_); and attention over them.
  float* qkv_rows(int64_t l, int64_t ld);
  // Room in the KV cache for `positions` (≤ kv_limit_) positions of row width ld, grown by doubling up to
  // kv_limit_: a new buffer, each layer's kv_len_ rows copied to the new stride (device to device), the old
  // one freed. Sized for the whole context up front, an eos after one token of a long-context model held
  // num_layers × max positions rows (gigabytes).
  void kv_ensure(int64_t positions, int64_t ld);
  void attend(int64_t l, const k::Attention& a, float* out, int64_t ldo);
  void set_point(const std::vector<uint64_t>* seeds, const std::vector<float>* coeffs);
  bool virt(const WeightView& w) const { return at_.n > 0 && w.trainable(); }
  k::Mat vec(const WeightView& w, int slot);
  void linear(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const WeightView& w, k::Layout layout,
              const WeightView& b, float* out, int64_t ldo, bool accumulate);
  // linear at a virtual point on the tensor path: the point's weights split into hi/lo 16-bit halves in the
  // scratch (or rounded, DPZO_CUDA_POINT_GEMM=round), row chunks as in linear
  void linear_tensor_point(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const WeightView& w,
                           k::Layout layout, k::Mat bias, float* out, int64_t ldo, bool accumulate);
  // hi and lo of n ≤ big_cap_ elements of `src` (global index g0) at the point, in the scratch
  k::Mat split_into_scratch(const void* src, DType dt, uint64_t g0, int64_t n, int64_t ld, const void** lo);
  // out = a·Wᵀ for a weight at θ (the LM head): the tensor path when it serves the weight, else k::gemm
  void gemm_at_theta(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, k::Mat w, float* out, int64_t ldo);
  void embed(const WeightView& table, const int32_t* ids, int64_t add_offset, int64_t dim, float* out, bool acc);
  // heads > 1 (RMSNorm only): `heads` sub-rows of n per row, Qwen3's q_norm / k_norm (k::rms_norm)
  void norm(bool rms, int64_t rows, int64_t n, const float* x, int64_t ldx, const WeightView& w, const WeightView& b,
            float* out, int64_t ldo, int64_t heads = 1);
  void trunk(const CancelToken* cancel);
  void trunk_llama(const CancelToken* cancel);
  void trunk_gpt2(const CancelToken* cancel);
  void trunk_opt(const CancelToken* cancel);
  // gathers st rows `which` of x and applies the family's final norm (+ OPT project_out) into out_ (R, E)
  void final_rows(const std::vector<int64_t>& which);
  LossOutput loss_at_point(const PackedBatch& b, const Rows& rows, const CancelToken* cancel);

  const Model& m_;
  const ModelConfig& c_;
  DeviceWeights& dw_;
  const ModelWeights& w_;  // dw_.weights(), refreshed at the start of each forward
  MemoryTracker& mem_;
  int64_t big_cap_ = 0, vec_cap_ = 0;  // float32 scratch: 2-D weight chunks; 1-D tensors (two slots)
  Point at_;
  int64_t T_ = 0;
  // device buffers, grow-only
  DeviceBuffer tokens_, pos_, seq_start_, which_, labels_, point_;
  DeviceBuffer x_, h_, qkv_, att_, mlp_, mlp2_, rows_, out_, tmp_;
  DeviceBuffer big_, small_, logits_, row_max_, row_sum_, target_, nll_;
  DeviceBuffer rope_cos_, rope_sin_;
  // KV cache of greedy decoding: per layer (kv_cap_, ld) rows of q|k|v as the trunk writes them (the q
  // columns are unused once written; one layout for every family keeps the trunk unchanged). kv_len_ cached
  // positions, kv_cap_ allocated (the layer stride), kv_limit_ the most the call may reach (its context).
  DeviceBuffer kv_;
  bool kv_on_ = false;
  int64_t kv_len_ = 0, kv_cap_ = 0, kv_limit_ = 0;
  int64_t rope_positions_ = 0;
  TensorGemm tg_;  // the tensor-core path of F16/BF16 models (or off: the SIMT k::gemm), tensor_gemm.h
};

}  // namespace cuda
}  // namespace dpzo
