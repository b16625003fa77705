// defines: causal_attention_backward (see backward_attention.h). For query i
// with probabilities p_j = softmax_j(scale·q_i·k_j), j ≤ i, and output
// o_i = Σ_j p_j v_j: dv_j += p_j·do_i; dp_j = do_i·v_j; ds_j = p_j(dp_j − Σ_k p_k dp_k);
// dq_i = scale·Σ_j ds_j k_j; dk_j += scale·ds_j q_i.
#include "cpu/backward_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace dpzo {
namespace cpu {

void causal_attention_backward(ThreadPool& pool, const float* qkv, const AttentionShape& s, const int64_t* offsets,
                               int64_t n_seq, const float* dout, int64_t ldd, float* dqkv, const CancelToken* cancel) {
  const int64_t group = s.n_heads / s.n_kv_heads, d = s.head_dim;
  pool.run(n_seq * s.n_kv_heads, [&](int64_t task, int) {
    const int64_t seq = task / s.n_kv_heads, kvh = task % s.n_kv_heads;
    const int64_t start = offsets[seq], L = offsets[seq + 1] - start;
    const float* base = qkv + start * s.ld;
    float* dbase = dqkv + start * s.ld;
    const int64_t kc = s.k_col + kvh * d, vc = s.v_col + kvh * d;
    for (int64_t t = 0; t < L; ++t) {
      std::fill_n(dbase + t * s.ld + kc, d, 0.f);
      std::fill_n(dbase + t * s.ld + vc, d, 0.f);
    }
    std::vector<float> p(L), dp(L);
    for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
      const int64_t qc = s.q_col + h * d;
      for (int64_t i = 0; i < L; ++i) {
        if (i % 64 == 0) check_cancel(cancel);
        const float* q = base + i * s.ld + qc;
        const float* go = dout + (start + i) * ldd + h * d;
        float mx = -INFINITY;
        for (int64_t j = 0; j <= i; ++j) {
          const float* k = base + j * s.ld + kc;
          float dot = 0.f;
          for (int64_t c = 0; c < d; ++c) dot += q[c] * k[c];
          p[j] = dot * s.scale;
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j <= i; ++j) {
          p[j] = std::exp(p[j] - mx);
          sum += p[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        double pdp = 0;
        for (int64_t j = 0; j <= i; ++j) {
          p[j] *= inv;
          const float* v = base + j * s.ld + vc;
          float dot = 0.f;
          for (int64_t c = 0; c < d; ++c) dot += go[c] * v[c];
          dp[j] = dot;
          pdp += static_cast<double>(p[j]) * dot;
          float* dv = dbase + j * s.ld + vc;
          for (int64_t c = 0; c < d; ++c) dv[c] += p[j] * go[c];
        }
        float* dq = dbase + i * s.ld + qc;
        std::fill_n(dq, d, 0.f);
        for (int64_t j = 0; j <= i; ++j) {
          const float ds = p[j] * (dp[j] - static_cast<float>(pdp)) * s.scale;
          const float* k = base + j * s.ld + kc;
          float* dk = dbase + j * s.ld + kc;
          for (int64_t c = 0; c < d; ++c) {
            dq[c] += ds * k[c];
            dk[c] += ds * q[c];
          }
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace dpzo
