// defines: apply_rope, Llama's rotate-half rotary embedding applied in place.
#pragma once
#include <cstdint>
#include <vector>

#include "dpzo/rope_table.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

using dpzo::RopeTable;  // the table lives in the core (dpzo/rope_table.h), shared with the CUDA backend

// For each token t (row t of `x`, row stride ld) at position pos[t], rotates
// n_heads heads of head_dim starting at column col0: (a, b) halves →
// (a·cos − b·sin, b·cos + a·sin).
void apply_rope(ThreadPool& pool, const RopeTable& table, float* x, int64_t ld, int64_t T, const int32_t* pos,
                int64_t col0, int64_t n_heads, int64_t head_dim);
// The transpose (the rotation by −angle): the backward of apply_rope on the gradient rows, in place.
void apply_rope_transposed(ThreadPool& pool, const RopeTable& table, float* x, int64_t ld, int64_t T,
                           const int32_t* pos, int64_t col0, int64_t n_heads, int64_t head_dim);

}  // namespace cpu
}  // namespace dpzo
