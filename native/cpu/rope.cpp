// defines: apply_rope, apply_rope_transposed (see rope.h).
#include "cpu/rope.h"

#include <cmath>

namespace dpzo {
namespace cpu {

namespace {
// One kernel for the rotation and its transpose (the backward): (a, b) → (a·c ∓ b·s, b·c ± a·s).
template <bool kTranspose>
void rotate(ThreadPool& pool, const RopeTable& table, float* x, int64_t ld, int64_t T, const int32_t* pos, int64_t col0,
            int64_t n_heads, int64_t head_dim) {
  const int64_t half = head_dim / 2;
  pool.parallel_for(T, 32, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* c = table.cos.data() + pos[t] * half;
      const float* s = table.sin.data() + pos[t] * half;
      for (int64_t h = 0; h < n_heads; ++h) {
        float* a = x + t * ld + col0 + h * head_dim;
        float* b = a + half;
        for (int64_t i = 0; i < half; ++i) {
          const float ai = a[i], bi = b[i];
          if (kTranspose) {
            a[i] = ai * c[i] + bi * s[i];
            b[i] = bi * c[i] - ai * s[i];
          } else {
            a[i] = ai * c[i] - bi * s[i];
            b[i] = bi * c[i] + ai * s[i];
          }
        }
      }
    }
  });
}
}  // namespace

void apply_rope(ThreadPool& pool, const RopeTable& table, float* x, int64_t ld, int64_t T, const int32_t* pos,
                int64_t col0, int64_t n_heads, int64_t head_dim) {
  rotate<false>(pool, table, x, ld, T, pos, col0, n_heads, head_dim);
}

void apply_rope_transposed(ThreadPool& pool, const RopeTable& table, float* x, int64_t ld, int64_t T,
                           const int32_t* pos, int64_t col0, int64_t n_heads, int64_t head_dim) {
  rotate<true>(pool, table, x, ld, T, pos, col0, n_heads, head_dim);
}

}  // namespace cpu
}  // namespace dpzo
