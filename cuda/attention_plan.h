// defines: AttentionKernel, parse_attention_kernel and use_tiled_attention — which CUDA attention kernel a
// forward runs (host logic only, so dpzo_check_emu tests it without a GPU: test/native/attention-mode.test.ts).
// DPZO_CUDA_ATTENTION: warp (default: one warp per query row and head, cuda/attention.cu) or tiled (a block per
// 32 query rows and head sharing key/value tiles in shared memory). The tiled kernel is opt-in until the GPU
// check has measured it against the warp kernel (bench/README.md, "CUDA on an H200").
#pragma once
#include <cstdint>

namespace dpzo {
namespace cuda {

enum class AttentionKernel { Warp, Tiled };

// Throws Error(ERR_ARGUMENT) naming the variable for a value other than warp or tiled (empty or unset: warp).
AttentionKernel parse_attention_kernel(const char* v);
const char* attention_kernel_name(AttentionKernel k);

// The largest head the tiled kernel takes (its shared-memory tiles are sized for it); larger heads, and a
// single query row (a KV-cached decoding step), run the warp kernel.
constexpr int64_t kTiledMaxHeadDim = 128;
inline bool use_tiled_attention(AttentionKernel k, int64_t head_dim, int64_t query_rows) {
  return k == AttentionKernel::Tiled && head_dim <= kTiledMaxHeadDim && query_rows > 1;
}

}  // namespace cuda
}  // namespace dpzo
