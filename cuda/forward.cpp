// defines: cuda::Forward (cuda/forward.h). Host code: it sequences the kernels of cuda/kernels.h on the
// default stream, family by family, exactly as the CPU graphs do (cpu/forward_llama.cpp, forward_gpt2.cpp,
// forward_opt.cpp, forward.cpp), and reuses the CPU's own RoPE table (dpzo/rope_table.h) so both rotate by the
// same float32 cos/sin.
#include "forward.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cuda_backend.h"
#include "dpzo/errors.h"
#include "dpzo/family.h"
#include "dpzo/rope_table.h"
#include "tensor_kernels.h"

namespace dpzo {
namespace cuda {

namespace {
constexpr int64_t kLogitTile = int64_t{1} << 24;  // floats of one vocabulary tile of logits (64 MiB)

k::Mat offset_mat(k::Mat m, int64_t elems) {
  if (m.data) m.data = static_cast<const char*>(m.data) + elems * dtype_size(m.dtype);
  return m;
}
const char* at_elem(const WeightView& w, int64_t e) {
  return static_cast<const char*>(w.data) + e * dtype_size(w.dtype);
}

// Attention over one fused q|k|v row per token: the query heads, then the key heads, then the value heads
// (GQA when n_kv_heads < n_heads; GPT-2 and OPT are the case n_kv_heads = n_heads), scaled by 1/√head_dim.
k::Attention fused_qkv_attention(int64_t n_heads, int64_t n_kv_heads, int64_t head_dim) {
  const int64_t qd = n_heads * head_dim, kvd = n_kv_heads * head_dim;
  return {n_heads, n_kv_heads, head_dim, qd + 2 * kvd,
          0,       qd,         qd + kvd, static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)))};
}
}  // namespace

Forward::Forward(const Model& m, DeviceWeights& dw, MemoryTracker& mem)
    : m_(m),
      c_(m.config()),
      dw_(dw),
      w_(dw.weights()),
      mem_(mem),
      tokens_(&mem),
      pos_(&mem),
      seq_start_(&mem),
      which_(&mem),
      labels_(&mem),
      point_(&mem),
      x_(&mem),
      h_(&mem),
      qkv_(&mem),
      att_(&mem),
      mlp_(&mem),
      mlp2_(&mem),
      rows_(&mem),
      out_(&mem),
      tmp_(&mem),
      big_(&mem),
      small_(&mem),
      logits_(&mem),
      row_max_(&mem),
      row_sum_(&mem),
      target_(&mem),
      nll_(&mem),
      rope_cos_(&mem),
      rope_sin_(&mem),
      kv_(&mem),
      tg_(m.dtype(), mem) {
  if (c_.head_dim > k::kMaxHeadDim || c_.head_dim % 2 != 0)
    throw Error(err::kDevice, "device 'cuda': head_dim " + std::to_string(c_.head_dim) +
                                  " is not supported by the CUDA attention kernel (even, at most " +
                                  std::to_string(k::kMaxHeadDim) + "); use device 'cpu'");
  // the scratch of a virtual point: a 2-D weight is read in row chunks that fit the largest tensor's byte
  // size, capped at 1/64 of the weights' bytes (so the pair's peak stays near weights + one forward; chunking
  // changes no bit), at least one row; GPT-2's (in, out) weights are read whole; 1-D tensors in two slots
  const int64_t es = dtype_size(m.dtype());
  int64_t weight_bytes = 0;
  for (const TensorInfo& t : m.tensors()) weight_bytes += t.numel * es;
  const int64_t share = std::max<int64_t>(1, weight_bytes / 64 / 4);
  for (const TensorInfo& t : m.tensors()) {
    if (t.shape.size() >= 2) {
      big_cap_ = std::max({big_cap_, std::min(t.numel * es / 4, share), t.shape.back()});
      if (c_.family == Family::GPT2 && t.name != family_spec(c_.family).embedding)
        big_cap_ = std::max(big_cap_, t.numel);
    } else {
      vec_cap_ = std::max(vec_cap_, t.numel);
    }
  }
}

void Forward::set_point(const std::vector<uint64_t>* seeds, const std::vector<float>* coeffs) {
  at_ = Point{};
  if (!seeds || seeds->empty()) return;
  const int n = static_cast<int>(seeds->size());
  char* d = static_cast<char*>(point_.ensure(static_cast<size_t>(n) * 12));
  copy_to_device(d, seeds->data(), static_cast<size_t>(n) * 8);
  copy_to_device(d + n * 8, coeffs->data(), static_cast<size_t>(n) * 4);
  at_ = Point{reinterpret_cast<const uint64_t*>(d), reinterpret_cast<const float*>(d + n * 8), n};
  // on the tensor path the scratch holds hi | lo (2 + 2 bytes an element), lo from a 256-byte boundary
  big_.ensure(static_cast<size_t>(big_cap_) * 4 + (tg_.on() ? 256 : 0));
  small_.ensure_n<float>(2 * vec_cap_);
}

k::Mat Forward::split_into_scratch(const void* src, DType dt, uint64_t g0, int64_t n, int64_t ld, const void** lo) {
  char* hi = static_cast<char*>(big_.data());
  char* lo_at = hi + (static_cast<size_t>(big_cap_) * 2 + 255) / 256 * 256;
  const bool split = tg_.point() == PointGemm::Split;
  k::split_at(src, dt, g0, n, at_.seeds, at_.coeffs, at_.n, dt, tg_.lo_scale(), hi, split ? lo_at : nullptr);
  *lo = split ? lo_at : nullptr;
  return {hi, dt, ld};
}

void Forward::linear_tensor_point(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const WeightView& w,
                                  k::Layout layout, k::Mat bias, float* out, int64_t ldo, bool accumulate) {
  const uint64_t g0 = static_cast<uint64_t>(w.global_offset);
  const void* lo = nullptr;
  if (layout == k::Layout::InOut) {  // (K, N): whole, as on the SIMT path
    const k::Mat hi = split_into_scratch(w.data, w.dtype, g0, w.numel, N, &lo);
    return tg_.gemm_split(M, N, K, a, lda, hi, lo, layout, bias, out, ldo, accumulate);
  }
  // (N, K) in row chunks; chunks of 64 rows where they fit keep the weight and output blocks 256-byte aligned
  int64_t step = std::max<int64_t>(1, big_cap_ / K);
  if (step >= 64) step -= step % 64;
  const void* a16 = K > 0 ? tg_.convert(a, M, K, lda) : nullptr;  // once for every chunk
  for (int64_t n0 = 0; n0 < N; n0 += step) {
    const int64_t n1 = std::min(N, n0 + step);
    const k::Mat hi =
        split_into_scratch(at_elem(w, n0 * K), w.dtype, g0 + static_cast<uint64_t>(n0 * K), (n1 - n0) * K, K, &lo);
    tg_.gemm_split(M, n1 - n0, K, a, lda, hi, lo, layout, offset_mat(bias, n0), out + n0, ldo, accumulate, a16);
  }
}

void Forward::gemm_at_theta(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, k::Mat w, float* out,
                            int64_t ldo) {
  if (tg_.serves(w.dtype)) return tg_.gemm(M, N, K, a, lda, w, k::Layout::OutIn, {}, out, ldo, false);
  k::gemm(M, N, K, a, lda, w, k::Layout::OutIn, {}, out, ldo, false);
}

k::Mat Forward::vec(const WeightView& w, int slot) {
  if (!w.present()) return {};
  if (!virt(w)) return {w.data, w.dtype, w.numel};
  float* dst = static_cast<float*>(small_.data()) + slot * vec_cap_;
  k::values_at(w.data, w.dtype, static_cast<uint64_t>(w.global_offset), w.numel, at_.seeds, at_.coeffs, at_.n, dst);
  return {dst, DType::F32, w.numel};
}

void Forward::linear(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const WeightView& w,
                     k::Layout layout, const WeightView& b, float* out, int64_t ldo, bool accumulate) {
  const k::Mat bias = vec(b, 0);
  if (tg_.serves(w.dtype)) {  // F16/BF16 weights on the tensor cores: in place at θ, split at a point
    if (!virt(w)) return tg_.gemm(M, N, K, a, lda, {w.data, w.dtype, w.cols}, layout, bias, out, ldo, accumulate);
    return linear_tensor_point(M, N, K, a, lda, w, layout, bias, out, ldo, accumulate);
  }
  if (!virt(w)) return k::gemm(M, N, K, a, lda, {w.data, w.dtype, w.cols}, layout, bias, out, ldo, accumulate);
  float* scratch = static_cast<float*>(big_.data());
  const uint64_t g0 = static_cast<uint64_t>(w.global_offset);
  if (layout == k::Layout::InOut) {  // (K, N): read whole (the scratch was sized for it)
    k::values_at(w.data, w.dtype, g0, w.numel, at_.seeds, at_.coeffs, at_.n, scratch);
    return k::gemm(M, N, K, a, lda, {scratch, DType::F32, N}, layout, bias, out, ldo, accumulate);
  }
  // (N, K): output columns [n0, n1) need weight rows [n0, n1), one contiguous run of global indices; every
  // output element sums over k in the same order as unchunked, so chunking changes no bit
  const int64_t step = std::max<int64_t>(1, big_cap_ / K);
  for (int64_t n0 = 0; n0 < N; n0 += step) {
    const int64_t n1 = std::min(N, n0 + step);
    k::values_at(at_elem(w, n0 * K), w.dtype, g0 + static_cast<uint64_t>(n0 * K), (n1 - n0) * K, at_.seeds, at_.coeffs,
                 at_.n, scratch);
    k::gemm(M, n1 - n0, K, a, lda, {scratch, DType::F32, K}, layout, offset_mat(bias, n0), out + n0, ldo, accumulate);
  }
}

void Forward::embed(const WeightView& table, const int32_t* ids, int64_t add_offset, int64_t dim, float* out,
                    bool acc) {
  const bool v = virt(table);
  k::embed(ids, T_, add_offset, {table.data, table.dtype, dim}, dim, out, acc,
           v ? static_cast<uint64_t>(table.global_offset) : 0, at_.seeds, at_.coeffs, v ? at_.n : 0);
}

void Forward::norm(bool rms, int64_t rows, int64_t n, const float* x, int64_t ldx, const WeightView& w,
                   const WeightView& b, float* out, int64_t ldo, int64_t heads) {
  const k::Mat wm = vec(w, 0);
  if (rms) return k::rms_norm(rows, n, x, ldx, wm, c_.norm_eps, out, ldo, heads);
  k::layer_norm(rows, n, x, ldx, wm, vec(b, 1), c_.norm_eps, out, ldo);
}

void Forward::upload_batch(const PackedBatch& b) {
  T_ = static_cast<int64_t>(b.tokens.size());
  const int64_t n_seq = static_cast<int64_t>(b.offsets.size()) - 1;
  // with the KV cache on: one sequence continuing at position kv_len_, attention rows indexed from 0
  const int64_t past = kv_on_ ? kv_len_ : 0;
  std::vector<int32_t> pos(T_), start(past + T_, 0);
  for (int64_t s = 0; s < n_seq; ++s)
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      pos[t] = static_cast<int32_t>(past + t - b.offsets[s]);
      start[past + t] = static_cast<int32_t>(b.offsets[s]);
    }
  copy_to_device(tokens_.ensure_n<int32_t>(T_), b.tokens.data(), static_cast<size_t>(T_) * 4);
  copy_to_device(pos_.ensure_n<int32_t>(T_), pos.data(), static_cast<size_t>(T_) * 4);
  copy_to_device(seq_start_.ensure_n<int32_t>(past + T_), start.data(), start.size() * 4);
  if (c_.family == Family::LLAMA) {
    int64_t longest = 0;
    for (int64_t s = 0; s < n_seq; ++s) longest = std::max(longest, past + b.offsets[s + 1] - b.offsets[s]);
    if (longest > rope_positions_) {  // the CPU's own table, copied
      RopeTable table;
      table.ensure(longest, c_.head_dim, c_.rope_theta, c_.rope_scaling);
      const size_t bytes = table.cos.size() * 4;
      copy_to_device(rope_cos_.ensure(bytes), table.cos.data(), bytes);
      copy_to_device(rope_sin_.ensure(bytes), table.sin.data(), bytes);
      rope_positions_ = longest;
    }
  }
  const int64_t H = c_.hidden_size, I = c_.intermediate_size;
  const int64_t qkv_cols = c_.num_heads * c_.head_dim + 2 * c_.num_kv_heads * c_.head_dim;
  x_.ensure_n<float>(T_ * H);
  h_.ensure_n<float>(T_ * std::max(H, c_.word_embed_proj_dim));
  qkv_.ensure_n<float>(T_ * std::max(qkv_cols, 3 * H));
  att_.ensure_n<float>(T_ * std::max(H, c_.num_heads * c_.head_dim));
  mlp_.ensure_n<float>(T_ * I);
  if (c_.family == Family::LLAMA) mlp2_.ensure_n<float>(T_ * I);
}

float* Forward::qkv_rows(int64_t l, int64_t ld) {
  if (!kv_on_) return qkv_.ensure_n<float>(0);
  return kv_.ensure_n<float>(0) + (l * kv_cap_ + kv_len_) * ld;
}

void Forward::kv_ensure(int64_t positions, int64_t ld) {
  if (positions <= kv_cap_) return;
  if (positions > kv_limit_) throw Error(err::kSequenceLength, "KV cache: more positions than the context");
  const int64_t cap = std::min(kv_limit_, std::max(positions, 2 * kv_cap_));
  // the new buffer counts in the tracker while the old one still does: the device peak sees both, as the
  // device holds both until the old one is freed
  DeviceBuffer grown(&mem_);
  float* dst = grown.ensure_n<float>(c_.num_layers * cap * ld);
  const float* src = static_cast<const float*>(kv_.data());
  if (kv_len_ > 0)
    for (int64_t l = 0; l < c_.num_layers; ++l)
      copy_device_to_device(dst + l * cap * ld, src + l * kv_cap_ * ld, static_cast<size_t>(kv_len_ * ld) * 4);
  kv_.swap(grown);  // the old cache is freed with `grown`
  kv_cap_ = cap;
}

void Forward::attend(int64_t l, const k::Attention& a, float* out, int64_t ldo) {
  const int32_t* start = seq_start_.ensure_n<int32_t>(0);
  if (!kv_on_) return k::attention(qkv_.ensure_n<float>(0), a, 0, T_, start, out, ldo);
  k::attention(kv_.ensure_n<float>(0) + l * kv_cap_ * a.ld, a, kv_len_, kv_len_ + T_, start, out, ldo);
}

void Forward::trunk(const CancelToken* cancel) {
  switch (c_.family) {
    case Family::GPT2:
      return trunk_gpt2(cancel);
    case Family::OPT:
      return trunk_opt(cancel);
    case Family::LLAMA:
      return trunk_llama(cancel);
  }
}

void Forward::trunk_llama(const CancelToken* cancel) {
  const int64_t H = c_.hidden_size, I = c_.intermediate_size, dh = c_.head_dim;
  const int64_t QD = c_.num_heads * dh, KVD = c_.num_kv_heads * dh, ld = QD + 2 * KVD;
  float *x = x_.ensure_n<float>(0), *h = h_.ensure_n<float>(0);
  float *att = att_.ensure_n<float>(0), *gate = mlp_.ensure_n<float>(0), *up = mlp2_.ensure_n<float>(0);
  const int32_t* pos = pos_.ensure_n<int32_t>(0);
  const float *cs = rope_cos_.ensure_n<float>(0), *sn = rope_sin_.ensure_n<float>(0);
  embed(w_.tok_emb, tokens_.ensure_n<int32_t>(0), 0, H, x, false);
  const k::Attention as = fused_qkv_attention(c_.num_heads, c_.num_kv_heads, dh);
  const WeightView none;
  for (int64_t l = 0; l < c_.num_layers; ++l) {
    const LayerWeights& L = w_.layers[l];
    float* qkv = qkv_rows(l, ld);
    norm(true, T_, H, x, H, L.norm1_w, none, h, H);
    linear(T_, QD, H, h, H, L.q_w, k::Layout::OutIn, L.q_b, qkv, ld, false);
    linear(T_, KVD, H, h, H, L.k_w, k::Layout::OutIn, L.k_b, qkv + QD, ld, false);
    linear(T_, KVD, H, h, H, L.v_w, k::Layout::OutIn, L.v_b, qkv + QD + KVD, ld, false);
    if (c_.qk_norm) {  // Qwen3: q_norm / k_norm over each head's head_dim, after the projection, before RoPE
      norm(true, T_, dh, qkv, ld, L.q_norm_w, none, qkv, ld, c_.num_heads);
      norm(true, T_, dh, qkv + QD, ld, L.k_norm_w, none, qkv + QD, ld, c_.num_kv_heads);
    }
    k::rope(qkv, ld, T_, pos, 0, c_.num_heads, dh, cs, sn);
    k::rope(qkv, ld, T_, pos, QD, c_.num_kv_heads, dh, cs, sn);
    attend(l, as, att, QD);
    linear(T_, H, QD, att, QD, L.o_w, k::Layout::OutIn, L.o_b, x, H, true);
    norm(true, T_, H, x, H, L.norm2_w, none, h, H);
    linear(T_, I, H, h, H, L.gate_w, k::Layout::OutIn, L.gate_b, gate, I, false);
    linear(T_, I, H, h, H, L.up_w, k::Layout::OutIn, L.up_b, up, I, false);
    k::silu_mul(gate, up, T_ * I);
    linear(T_, H, I, gate, I, L.down_w, k::Layout::OutIn, L.down_b, x, H, true);
    if (cancel) cancel->check();
  }
}

void Forward::trunk_gpt2(const CancelToken* cancel) {
  const int64_t H = c_.hidden_size, I = c_.intermediate_size;
  float *x = x_.ensure_n<float>(0), *h = h_.ensure_n<float>(0);
  float *att = att_.ensure_n<float>(0), *mlp = mlp_.ensure_n<float>(0);
  embed(w_.tok_emb, tokens_.ensure_n<int32_t>(0), 0, H, x, false);
  embed(w_.pos_emb, pos_.ensure_n<int32_t>(0), 0, H, x, true);
  const k::Attention as = fused_qkv_attention(c_.num_heads, c_.num_heads, c_.head_dim);
  for (int64_t l = 0; l < c_.num_layers; ++l) {
    const LayerWeights& L = w_.layers[l];
    norm(false, T_, H, x, H, L.norm1_w, L.norm1_b, h, H);
    linear(T_, 3 * H, H, h, H, L.qkv_w, k::Layout::InOut, L.qkv_b, qkv_rows(l, 3 * H), 3 * H, false);
    attend(l, as, att, H);
    linear(T_, H, H, att, H, L.o_w, k::Layout::InOut, L.o_b, x, H, true);
    norm(false, T_, H, x, H, L.norm2_w, L.norm2_b, h, H);
    linear(T_, I, H, h, H, L.fc1_w, k::Layout::InOut, L.fc1_b, mlp, I, false);
    k::activate(static_cast<int>(c_.activation), mlp, T_ * I);
    linear(T_, H, I, mlp, I, L.fc2_w, k::Layout::InOut, L.fc2_b, x, H, true);
    if (cancel) cancel->check();
  }
}

void Forward::trunk_opt(const CancelToken* cancel) {
  const int64_t H = c_.hidden_size, E = c_.word_embed_proj_dim, I = c_.intermediate_size;
  const bool pre = c_.do_layer_norm_before;
  float *x = x_.ensure_n<float>(0), *h = h_.ensure_n<float>(0);
  float *att = att_.ensure_n<float>(0), *mlp = mlp_.ensure_n<float>(0);
  const WeightView none;
  if (E != H) {
    embed(w_.tok_emb, tokens_.ensure_n<int32_t>(0), 0, E, h, false);
    linear(T_, H, E, h, E, w_.project_in, k::Layout::OutIn, none, x, H, false);
  } else {
    embed(w_.tok_emb, tokens_.ensure_n<int32_t>(0), 0, H, x, false);
  }
  embed(w_.pos_emb, pos_.ensure_n<int32_t>(0), c_.position_offset, H, x, true);
  const k::Attention as = fused_qkv_attention(c_.num_heads, c_.num_heads, c_.head_dim);
  for (int64_t l = 0; l < c_.num_layers; ++l) {
    const LayerWeights& L = w_.layers[l];
    const float* in = x;
    float* qkv = qkv_rows(l, 3 * H);
    if (pre) {
      norm(false, T_, H, x, H, L.norm1_w, L.norm1_b, h, H);
      in = h;
    }
    linear(T_, H, H, in, H, L.q_w, k::Layout::OutIn, L.q_b, qkv, 3 * H, false);
    linear(T_, H, H, in, H, L.k_w, k::Layout::OutIn, L.k_b, qkv + H, 3 * H, false);
    linear(T_, H, H, in, H, L.v_w, k::Layout::OutIn, L.v_b, qkv + 2 * H, 3 * H, false);
    attend(l, as, att, H);
    linear(T_, H, H, att, H, L.o_w, k::Layout::OutIn, L.o_b, x, H, true);
    if (!pre) norm(false, T_, H, x, H, L.norm1_w, L.norm1_b, x, H);  // row-wise: in place is safe
    in = x;
    if (pre) {
      norm(false, T_, H, x, H, L.norm2_w, L.norm2_b, h, H);
      in = h;
    }
    linear(T_, I, H, in, H, L.fc1_w, k::Layout::OutIn, L.fc1_b, mlp, I, false);
    k::activate(static_cast<int>(c_.activation), mlp, T_ * I);
    linear(T_, H, I, mlp, I, L.fc2_w, k::Layout::OutIn, L.fc2_b, x, H, true);
    if (!pre) norm(false, T_, H, x, H, L.norm2_w, L.norm2_b, x, H);
    if (cancel) cancel->check();
  }
}

void Forward::final_rows(const std::vector<int64_t>& which) {
  const int64_t H = c_.hidden_size, E = c_.word_embed_proj_dim, R = static_cast<int64_t>(which.size());
  int64_t* wd = which_.ensure_n<int64_t>(R);
  copy_to_device(wd, which.data(), static_cast<size_t>(R) * 8);
  float* rows = rows_.ensure_n<float>(R * H);
  float* out = out_.ensure_n<float>(R * std::max(H, E));
  k::gather_rows(x_.ensure_n<float>(0), H, wd, R, H, rows);
  const WeightView none;
  switch (c_.family) {
    case Family::GPT2:
      return norm(false, R, H, rows, H, w_.final_norm_w, w_.final_norm_b, out, H);
    case Family::LLAMA:
      return norm(true, R, H, rows, H, w_.final_norm_w, none, out, H);
    case Family::OPT: {
      const float* src = rows;
      if (c_.opt_final_layer_norm) {
        float* dst = E != H ? tmp_.ensure_n<float>(R * H) : out;
        norm(false, R, H, rows, H, w_.final_norm_w, w_.final_norm_b, dst, H);
        src = dst;
      }
      if (E != H)
        linear(R, E, H, src, H, w_.project_out, k::Layout::OutIn, none, out, E, false);
      else if (src != out)
        copy_device_to_device(out, src, static_cast<size_t>(R * H) * 4);
      return;
    }
  }
}

LossOutput Forward::loss_at_point(const PackedBatch& b, const Rows& rows, const CancelToken* cancel) {
  const int64_t n_seq = static_cast<int64_t>(b.offsets.size()) - 1, K = static_cast<int64_t>(b.candidates.size());
  const int64_t R = static_cast<int64_t>(rows.which.size()), E = c_.word_embed_proj_dim, V = c_.vocab_size;
  trunk(cancel);
  final_rows(rows.which);
  const float* hrows = out_.ensure_n<float>(0);
  const WeightView& head = w_.lm_head;
  const bool hv = virt(head);
  const uint64_t hg0 = hv ? static_cast<uint64_t>(head.global_offset) : 0;
  std::vector<double> nll(R);
  std::vector<float> cand_logits;
  if (R > 0 && K == 0) {
    // the head one vocabulary tile at a time: logits (R, cols), merged into a running log-sum-exp per row
    int64_t vt = std::min(V, std::max<int64_t>(1, kLogitTile / R));
    vt = std::min(vt, std::max<int64_t>(1, big_cap_ / E));  // the same tiles at θ and at a point
    // a multiple of 64 columns: the tile's logits rows (ld = vt floats) and head rows stay 256-byte aligned;
    // an odd width (5029 at OPT-1.3B) made cuBLASLt fall back to an align-1 kernel at 86 TFLOP/s (H200 profile)
    if (vt < V && vt >= 64) vt -= vt % 64;
    float* logits = logits_.ensure_n<float>(R * vt);
    float *rmax = row_max_.ensure_n<float>(R), *target = target_.ensure_n<float>(R);
    double *rsum = row_sum_.ensure_n<double>(R), *nll_d = nll_.ensure_n<double>(R);
    int32_t* lab = labels_.ensure_n<int32_t>(R);
    copy_to_device(lab, rows.labels.data(), static_cast<size_t>(R) * 4);
    for (int64_t v0 = 0; v0 < V; v0 += vt) {
      const int64_t cols = std::min(vt, V - v0);
      k::Mat hm{at_elem(head, v0 * E), head.dtype, E};
      if (tg_.serves(head.dtype)) {  // the tile at θ in place, at a point split (rows·E ≤ big_cap_)
        if (!hv) {
          tg_.gemm(R, cols, E, hrows, E, hm, k::Layout::OutIn, {}, logits, cols, false);
        } else {
          const void* lo = nullptr;
          const k::Mat hi =
              split_into_scratch(hm.data, head.dtype, hg0 + static_cast<uint64_t>(v0 * E), cols * E, E, &lo);
          tg_.gemm_split(R, cols, E, hrows, E, hi, lo, k::Layout::OutIn, {}, logits, cols, false);
        }
        k::lse_tile(logits, R, cols, v0, lab, rmax, rsum, target, v0 == 0);
        continue;
      }
      if (hv) {
        float* scratch = static_cast<float*>(big_.data());
        k::values_at(hm.data, head.dtype, hg0 + static_cast<uint64_t>(v0 * E), cols * E, at_.seeds, at_.coeffs, at_.n,
                     scratch);
        hm = {scratch, DType::F32, E};
      }
      k::gemm(R, cols, E, hrows, E, hm, k::Layout::OutIn, {}, logits, cols, false);
      k::lse_tile(logits, R, cols, v0, lab, rmax, rsum, target, v0 == 0);
    }
    k::lse_finish(rmax, rsum, target, R, nll_d);
    copy_to_host(nll.data(), nll_d, static_cast<size_t>(R) * 8);
  } else if (R > 0) {
    // candidate mode: the K head rows (at the point) as an F32 (K, E) operand, then (R, K) logits
    float* cand = tmp_.ensure_n<float>(K * E);
    for (int64_t k = 0; k < K; ++k) {
      const int64_t row = b.candidates[k];
      k::values_at(at_elem(head, row * E), head.dtype, hg0 + static_cast<uint64_t>(row * E), E, at_.seeds, at_.coeffs,
                   hv ? at_.n : 0, cand + k * E);
    }
    float* logits = logits_.ensure_n<float>(R * K);
    k::gemm(R, K, E, hrows, E, {cand, DType::F32, E}, k::Layout::OutIn, {}, logits, K, false);
    cand_logits.resize(R * K);
    copy_to_host(cand_logits.data(), logits, cand_logits.size() * 4);
    for (int64_t r = 0; r < R; ++r) {
      const float* z = cand_logits.data() + r * K;
      const int64_t idx = std::find(b.candidates.begin(), b.candidates.end(), rows.labels[r]) - b.candidates.begin();
      double mx = z[0];
      for (int64_t j = 1; j < K; ++j) mx = std::max(mx, static_cast<double>(z[j]));
      double s = 0;
      for (int64_t j = 0; j < K; ++j) s += std::exp(static_cast<double>(z[j]) - mx);
      nll[r] = mx + std::log(s) - z[idx];
    }
  }
  synchronize();  // any asynchronous kernel fault surfaces here as ERR_DEVICE

  LossOutput out;
  out.loss.assign(n_seq, 0.0);
  out.targets.assign(n_seq, 0);
  for (int64_t r = 0; r < R; ++r) {  // row order = position order, as on the CPU
    if (rows.seq_of[r] < 0) continue;
    out.loss[rows.seq_of[r]] += nll[r];
    out.targets[rows.seq_of[r]] += 1;
  }
  for (int64_t s = 0; s < n_seq; ++s)
    out.loss[s] = out.targets[s] > 0 ? out.loss[s] / out.targets[s] : std::numeric_limits<double>::quiet_NaN();
  if (K > 0) {
    out.candidate_logits.assign(n_seq * K, std::numeric_limits<float>::quiet_NaN());
    for (int64_t r = 0; r < R; ++r)  // the last target row of each sequence wins
      if (rows.seq_of[r] >= 0)
        std::copy_n(cand_logits.data() + r * K, K, out.candidate_logits.data() + rows.seq_of[r] * K);
  }
  return out;
}

std::vector<LossOutput> Forward::loss(const PackedBatch& b, const std::vector<std::vector<uint64_t>>& seeds,
                                      const std::vector<std::vector<float>>& coeffs, bool all_rows,
                                      const CancelToken* cancel) {
  dw_.refresh(m_);
  // rows that predict a target (hidden row t−1 predicts label t), as cpu/forward.cpp chooses them
  Rows rows;
  const int64_t n_seq = static_cast<int64_t>(b.offsets.size()) - 1, K = static_cast<int64_t>(b.candidates.size());
  for (int64_t s = 0; s < n_seq; ++s)
    for (int64_t t = b.offsets[s] + 1; t < b.offsets[s + 1]; ++t) {
      const int32_t l = b.labels.empty() ? b.tokens[t] : b.labels[t];
      if (l == -100 && !all_rows) continue;
      rows.which.push_back(t - 1);
      rows.labels.push_back(l != -100 ? l : (K > 0 ? b.candidates[0] : 0));
      rows.seq_of.push_back(l != -100 ? static_cast<int32_t>(s) : -1);
    }
  upload_batch(b);
  std::vector<LossOutput> out;
  if (seeds.empty()) {
    set_point(nullptr, nullptr);
    out.push_back(loss_at_point(b, rows, cancel));
  }
  for (size_t p = 0; p < seeds.size(); ++p) {
    set_point(&seeds[p], &coeffs[p]);
    out.push_back(loss_at_point(b, rows, cancel));
    if (cancel) cancel->check();
  }
  set_point(nullptr, nullptr);
  return out;
}

std::vector<float> Forward::logits(const PackedBatch& b, const std::vector<int64_t>& positions,
                                   const CancelToken* cancel) {
  dw_.refresh(m_);
  set_point(nullptr, nullptr);
  upload_batch(b);
  trunk(cancel);
  final_rows(positions);
  const int64_t R = static_cast<int64_t>(positions.size()), V = c_.vocab_size, E = c_.word_embed_proj_dim;
  std::vector<float> out(R * V);
  if (R == 0) return out;
  float* logits = logits_.ensure_n<float>(R * V);
  const WeightView& head = w_.lm_head;
  gemm_at_theta(R, V, E, out_.ensure_n<float>(0), E, {head.data, head.dtype, E}, logits, V);
  copy_to_host(out.data(), logits, out.size() * 4);
  synchronize();
  return out;
}

std::vector<int32_t> Forward::generate(const std::vector<int32_t>& prompt, int n, int32_t eos_id,
                                       const CancelToken* cancel) {
  std::vector<int32_t> out;
  if (n <= 0) return out;
  dw_.refresh(m_);
  set_point(nullptr, nullptr);
  const int64_t P = static_cast<int64_t>(prompt.size()), V = c_.vocab_size, E = c_.word_embed_proj_dim;
  const int64_t ld =
      c_.family == Family::LLAMA ? (c_.num_heads + 2 * c_.num_kv_heads) * c_.head_dim : 3 * c_.hidden_size;
  // the cache starts empty and grows with the tokens (kv_ensure); the context never exceeds max positions
  kv_.release();
  kv_limit_ = std::min<int64_t>(c_.max_positions, P + n);
  kv_cap_ = 0;
  kv_on_ = true;
  kv_len_ = 0;
  try {
    std::vector<int32_t> next(prompt);
    std::vector<float> z(static_cast<size_t>(V));
    const WeightView& head = w_.lm_head;
    float* logits = logits_.ensure_n<float>(V);
    for (int i = 0; i < n; ++i) {
      if (i > 0 && kv_len_ >= kv_limit_) break;  // context full
      const int64_t T = static_cast<int64_t>(next.size());
      kv_ensure(kv_len_ + T, ld);
      upload_batch(PackedBatch{next, {0, T}, {}, {}});
      trunk(cancel);
      final_rows({T - 1});
      logits = logits_.ensure_n<float>(V);
      gemm_at_theta(1, V, E, out_.ensure_n<float>(0), E, {head.data, head.dtype, E}, logits, V);
      copy_to_host(z.data(), logits, z.size() * 4);
      kv_len_ += T;
      int32_t best = 0;  // the first maximum, as the CPU's greedy decoding
      for (int64_t v = 1; v < V; ++v)
        if (z[v] > z[best]) best = static_cast<int32_t>(v);
      out.push_back(best);
      if (best == eos_id) break;
      next.assign(1, best);
    }
    synchronize();
  } catch (...) {
    kv_on_ = false;
    kv_.release();
    kv_cap_ = 0;
    throw;
  }
  kv_on_ = false;
  kv_cap_ = 0;
  kv_.release();  // the cache lives for this call only (training never pays for it), as on the CPU
  return out;
}

}  // namespace cuda
}  // namespace dpzo
